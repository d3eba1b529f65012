"""Turn a batch of Auth0 logs into webhook messages: the exact bytes sent, and their stable id.

Formats (the Log Streams custom webhook offers the same three):

* ``json_array`` (default): one POST per batch, ``application/json``, ``[log, ...]`` — the original
  extension's SEND_AS_BATCH payload;
* ``json_lines``: one POST per batch, ``application/x-ndjson``, one log per line;
* ``send_as_batch=False``: one POST per log, ``application/json``, the log object itself.

``log_streams_envelope`` wraps every log as ``{"log_id": ..., "data": log}``, as Auth0 Log Streams
do. ``omit_log_id`` sends each log without its ``log_id`` key (a management pipeline's payload is the
original's ``{date, request, response}`` unless ``add_log_id`` is set); the message still knows its
log ids. The body is serialised once; retries resend the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from auth0_log_webhooks.log_ids import log_id_of

JSON = "application/json"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Message:
    """One webhook request's content: its id, the log ids it carries and its body."""

    webhook_id: str
    log_ids: tuple[str, ...]
    body: str
    content_type: str
    logs: tuple[Mapping[str, Any], ...]
    """The logs as staged, each with its ``log_id`` (dead letters keep these)."""


def webhook_id_for(log_ids: Sequence[str]) -> str:
    """Return the Standard Webhooks id of a message: a digest of its log ids, stable across retries.

    A re-fetch of the same logs after a crash yields the same id, so receivers can dedupe on it.
    """
    digest = hashlib.sha256("\n".join(log_ids).encode()).hexdigest()
    return f"msg_{digest[:40]}"


def _dumps(value: Any) -> str:
    # Compact UTF-8 JSON, the same bytes for the same logs; orjson is several times faster than json.
    return orjson.dumps(value).decode()


def encode(
    logs: Sequence[Mapping[str, Any]], fmt: str = "json_array", envelope: bool = False, omit_log_id: bool = False
) -> Message:
    """Encode logs as one message in ``fmt`` (``json_array``, ``json_lines`` or ``json_object``).

    :raises ValueError: for an unknown format, or ``json_object`` with other than one log.
    """
    log_ids = tuple(log_id_of(log) for log in logs)
    sent = [{k: v for k, v in log.items() if k != "log_id"} for log in logs] if omit_log_id else list(logs)
    items: list[Any] = [{"log_id": i, "data": log} for i, log in zip(log_ids, sent, strict=True)] if envelope else sent
    if fmt == "json_array":
        body, content_type = _dumps(items), JSON
    elif fmt == "json_lines":
        body, content_type = "\n".join(_dumps(item) for item in items), NDJSON
    elif fmt == "json_object":
        if len(items) != 1:
            raise ValueError(f"json_object carries exactly one log, not {len(items)}")
        body, content_type = _dumps(items[0]), JSON
    else:
        raise ValueError(f"unknown payload format {fmt!r}")
    return Message(webhook_id_for(log_ids), log_ids, body, content_type, tuple(logs))


def messages_for(
    logs: Sequence[Mapping[str, Any]], *, send_as_batch: bool, fmt: str, envelope: bool, omit_log_id: bool = False
) -> list[Message]:
    """Return the messages that deliver a batch: one for the batch, or one per log."""
    if not logs:
        return []
    if send_as_batch:
        return [encode(logs, fmt, envelope, omit_log_id)]
    return [encode([log], "json_object", envelope, omit_log_id) for log in logs]


def split(message: Message, fmt: str, envelope: bool, omit_log_id: bool = False) -> tuple[Message, Message]:
    """Split a message into two halves (after a 413); each half gets its own stable id."""
    half = len(message.logs) // 2
    first, second = message.logs[:half], message.logs[half:]
    return encode(first, fmt, envelope, omit_log_id), encode(second, fmt, envelope, omit_log_id)
