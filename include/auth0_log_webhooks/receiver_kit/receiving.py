"""Receive messages: verify their Standard Webhooks signatures and store each once, by its ``webhook-id``.

A :class:`MessageStore` is a folder with one JSON file per message, named after its ``webhook-id``
and written atomically (a temporary file, then a hard link that fails if the name exists), so a
message delivered twice, even by two requests at once, is stored once. :class:`Receiver` is what a
webhook endpoint calls: verify (with the library's five-minute timestamp tolerance), then store.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from auth0_log_webhooks.receiver_kit.manifest import KIND_HEADER, MANIFEST_KIND

KEPT_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", KIND_HEADER, "content-type")
"""The headers a stored message keeps: enough to verify its signature again and to tell a manifest."""
WEBHOOK_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}", re.ASCII)
"""A ``webhook-id`` the store accepts: it names a file, so nothing that could leave the folder."""


class SignatureChecker:
    """Verify Standard Webhooks signatures against any of several secrets (rotation)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        """:raises ValueError: naming which secret (by position, never its value) is not a ``whsec_`` secret."""
        self._hooks = []
        for index, secret in enumerate(secrets):
            try:
                self._hooks.append(Webhook(secret))
            except Exception:
                raise ValueError(f"secret #{index + 1} is not a valid whsec_ secret (base64 after whsec_)") from None

    @property
    def enabled(self) -> bool:
        """Return True when at least one secret is configured."""
        return bool(self._hooks)

    def problem(self, body: bytes, headers: Mapping[str, str], *, fresh: bool = True) -> str | None:
        """Return None if a secret verifies ``body``, else why not.

        :param fresh: check the timestamp is within five minutes of now (on receipt); False when checking a
            stored message again later, when only the signature can still be checked.
        """
        wanted = {name.lower(): value for name, value in headers.items()}
        complaint = "no secret configured"
        for hook in self._hooks:
            try:
                if fresh:
                    hook.verify(body, wanted, json_parse=False)
                elif not _signed_by(hook, body, wanted):
                    raise WebhookVerificationError("No matching signature found")
            except (WebhookVerificationError, ValueError, UnicodeDecodeError, binascii.Error) as exc:
                complaint = str(exc) or type(exc).__name__
            else:
                return None
        return complaint


def _signed_by(hook: Webhook, body: bytes, headers: Mapping[str, str]) -> bool:
    """Return True if one ``v1`` signature in the headers is ``hook``'s over id, timestamp and body."""
    msg_id, stamp, signatures = (headers.get(name, "") for name in KEPT_HEADERS[:3])
    if not (msg_id and stamp and signatures):
        raise WebhookVerificationError("Missing required headers")
    moment = datetime.fromtimestamp(int(stamp), tz=UTC)
    expected = base64.b64decode(hook.sign(msg_id, moment, body.decode()).split(",", 1)[1])
    for versioned in signatures.split(" "):
        version, _, signature = versioned.partition(",")
        if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
            return True
    return False


@dataclass(frozen=True)
class StoredMessage:
    """A message as the store keeps it: its headers (see ``KEPT_HEADERS``), its body and when it arrived."""

    webhook_id: str
    headers: dict[str, str]
    body: str
    received_at: float

    @property
    def is_manifest(self) -> bool:
        """Return True if the message says it is a manifest (its body then says so too, signed)."""
        return self.headers.get(KIND_HEADER, "").strip().lower() == MANIFEST_KIND


class MessageStore:
    """A folder of received messages, one file per ``webhook-id``."""

    def __init__(self, folder: Path | str) -> None:
        self.folder = Path(folder)

    def put(self, headers: Mapping[str, str], body: bytes, *, received_at: float | None = None) -> bool:
        """Store a message unless one with its ``webhook-id`` is stored; return True if it was new.

        :raises ValueError: if the ``webhook-id`` is missing or not ``[A-Za-z0-9_.-]{1,200}``.
        """
        lowered = {name.lower(): value for name, value in headers.items()}
        webhook_id = lowered.get("webhook-id", "")
        if not WEBHOOK_ID.fullmatch(webhook_id):
            raise ValueError("the message has no webhook-id, or one that is not [A-Za-z0-9_.-]{1,200}")
        target = self.folder / f"{webhook_id}.json"
        if target.exists():
            return False
        record = {
            "webhook_id": webhook_id,
            "headers": {name: lowered[name] for name in KEPT_HEADERS if name in lowered},
            "body": body.decode("utf-8"),
            "received_at": time.time() if received_at is None else received_at,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(record, file, ensure_ascii=False)
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, target)  # atomic, and refused when another copy got there first
        except FileExistsError:
            return False
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return True

    def messages(self) -> Iterator[StoredMessage]:
        """Yield every stored message, in file-name order (files that are not messages are skipped)."""
        if not self.folder.exists():
            return
        for path in sorted(self.folder.glob("*.json")):
            record = _read(path)
            if record is not None:
                yield record

    def __contains__(self, webhook_id: object) -> bool:
        return (
            isinstance(webhook_id, str)
            and bool(WEBHOOK_ID.fullmatch(webhook_id))
            and (self.folder / f"{webhook_id}.json").exists()
        )


def _read(path: Path) -> StoredMessage | None:
    try:
        record: Any = json.loads(path.read_text(encoding="utf-8"))
        return StoredMessage(
            webhook_id=str(record["webhook_id"]),
            headers={str(k): str(v) for k, v in dict(record["headers"]).items()},
            body=str(record["body"]),
            received_at=float(record["received_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


Verdict = Literal["stored", "duplicate", "refused"]


@dataclass(frozen=True)
class Receipt:
    """What became of one delivery: ``stored`` (new), ``duplicate`` (already held) or ``refused`` (and why)."""

    verdict: Verdict
    webhook_id: str
    problem: str | None = None


class Receiver:
    """Verify each delivery's signature (when secrets are given), then store it once."""

    def __init__(self, store: MessageStore, secrets: Sequence[str] = ()) -> None:
        self.store = store
        self.signatures = SignatureChecker(secrets)

    def receive(self, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Take one delivery: a refused one should be answered 4xx, the others 2xx."""
        lowered = {name.lower(): value for name, value in headers.items()}
        webhook_id = lowered.get("webhook-id", "")
        if self.signatures.enabled:
            problem = self.signatures.problem(body, lowered)
            if problem is not None:
                return Receipt("refused", webhook_id, f"bad signature: {problem}")
        try:
            new = self.store.put(lowered, body)
        except (ValueError, UnicodeDecodeError) as exc:
            return Receipt("refused", webhook_id, str(exc))
        return Receipt("stored" if new else "duplicate", webhook_id)
