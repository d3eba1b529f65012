"""Messages shown and not sent: the request line, the headers the sender would send and the body, for a preview.

The headers are the sender's own (:meth:`~auth0_log_webhooks.delivery.sender.WebhookSender.headers_for`,
merged over the connection's session headers as ``requests`` merges them), so a preview cannot show
other headers than a delivery sends. What could be a secret is shown as present, never by value: the
``webhook-signature`` (how many signatures it carries), the ``Authorization`` header, Basic auth, an
OAuth2 token, and every header a connection's extras add. The body is the exact text sent (before
gzip, when the pipeline compresses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from requests.structures import CaseInsensitiveDict

from auth0_log_webhooks.delivery.payloads import Message
from auth0_log_webhooks.delivery.sender import WebhookSender, safe_url
from auth0_log_webhooks.wording import plural, time_range, when

SHOWN = frozenset(
    {"accept", "accept-encoding", "connection", "content-encoding", "content-type", "user-agent", "webhook-id"}
)
"""Headers whose values a preview shows: none of them can hold a credential."""


@dataclass(frozen=True)
class Preview:
    """What a preview read and the messages it would send, in order, each with the headers it would carry."""

    dag_id: str
    conn_id: str
    url: str
    start: str
    reason: str
    checkpoint: str | None
    fetched: int
    selected: int
    messages: tuple[Message, ...]
    headers: tuple[tuple[tuple[str, str], ...], ...]
    more: bool
    """Reading stopped once the messages asked for were cut: the next run sends more after them."""
    asked: int
    settings: str
    """The settings that shape the messages, as a clause (format, batching, filters, personal data)."""
    gzip: bool = False


def shown_headers(sender: WebhookSender, message: Message, conn_id: str) -> tuple[tuple[str, str], ...]:
    """Return the headers an attempt to send ``message`` would carry, secrets shown as present only."""
    merged: CaseInsensitiveDict[str | bytes | None] = CaseInsensitiveDict(sender.session.headers)
    merged.update(sender.headers_for(message))  # as requests merges them: the request's headers win
    shown: list[tuple[str, str]] = []
    for name, raw in merged.items():
        lower = name.lower()
        if raw is None:
            continue
        value = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
        if lower in SHOWN:
            shown.append((name, value))
        elif lower == "webhook-timestamp":
            shown.append((name, f"{value} (the time of each attempt, signed with it)"))
        elif lower == "webhook-signature":
            count = len(value.split())
            shown.append((name, f"present: {plural(count, 'v1 signature')}, one per signing secret (not shown)"))
        elif lower == "authorization":
            shown.append((name, f"present: the Authorization of connection {conn_id} (not shown)"))
        else:
            shown.append((name, f"present: set by an extra of connection {conn_id} (not shown)"))
    if not any(name.lower() == "webhook-signature" for name, _ in shown):
        shown.append(("webhook-signature", f"absent: connection {conn_id} has no signing secret, so it is unsigned"))
    auth = sender.session.auth
    if auth is not None and not any(name.lower() == "authorization" for name, _ in shown):
        if callable(getattr(auth, "secrets", None)):
            what = "present: a Bearer token from the connection's OAuth2 token URL, fetched when sending (not shown)"
        else:
            what = f"present: Basic auth with the login and password of connection {conn_id} (not shown)"
        shown.append(("Authorization", what))
    return tuple(shown)


def render(preview: Preview) -> str:
    """Return the preview as text a person reads: what was read and from where, then each message."""
    lines = [headline(preview), ""]
    total = len(preview.messages)
    for number, (message, headers) in enumerate(zip(preview.messages, preview.headers, strict=True), start=1):
        lines += render_message(number, total, message, headers, preview.url, gzip=preview.gzip)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def headline(preview: Preview) -> str:
    """Return the preview's opening sentences: nothing moved, what was read, what the messages are."""
    opening = (
        f"Preview of {preview.dag_id}: nothing was sent, nothing was staged, and the checkpoint stays at "
        f"{when(preview.checkpoint)}."
    )
    read = (
        f"Read {plural(preview.fetched, 'log')} after {when(preview.start)} ({preview.reason}); "
        f"{preview.selected:,} selected"
    )
    if not preview.messages:
        return f"{opening} {read}: the next run would send nothing now. It sends logs as they come, {preview.settings}."
    total = len(preview.messages)
    if preview.more:
        shape = f"the next run sends these {plural(total, 'message')} first, then more"
    elif total < preview.asked:
        shape = f"the next run would send {'only this message' if total == 1 else f'only these {total} messages'}"
    else:
        shape = f"the next run would send {'this message' if total == 1 else f'these {total} messages'}"
    return f"{opening} {read}; {shape}, {preview.settings}."


def render_message(
    number: int, total: int, message: Message, headers: Sequence[tuple[str, str]], url: str, *, gzip: bool = False
) -> list[str]:
    """Return one message's lines: a sentence, the request line, its headers, a blank line and its body."""
    size = len(message.body.encode())
    compressed = "; sent gzip-compressed, shown uncompressed" if gzip else ""
    span = time_range(message.log_ids[0], message.log_ids[-1]) if message.log_ids else "no logs"
    lines = [
        f"Message {number} of {total}: {plural(len(message.log_ids), 'log')} ({span}), {plural(size, 'byte')} of "
        f"{message.content_type}{compressed}.",
        f"POST {safe_url(url)}",
    ]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["", message.body]
    return lines
