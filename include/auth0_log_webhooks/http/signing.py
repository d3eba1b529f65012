"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with the reference library.

Every request carries ``webhook-id`` (stable across retries), ``webhook-timestamp`` (this attempt's
time) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per
secret, space separated, so a receiver can rotate secrets. With gzip, the signature covers the
uncompressed body.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook


def signature_headers(secrets: Sequence[str], webhook_id: str, timestamp: datetime, body: str) -> dict[str, str]:
    """Return the Standard Webhooks headers for one attempt; no signature header without secrets.

    The header and the signature carry the same instant: ``timestamp`` is normalised to UTC first
    (a naive one is taken as UTC), because the reference library signs the wall-clock fields as if
    they were UTC.
    """
    moment = timestamp.astimezone(UTC) if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    headers = {"webhook-id": webhook_id, "webhook-timestamp": str(int(moment.timestamp()))}
    if secrets:
        headers["webhook-signature"] = " ".join(Webhook(s).sign(webhook_id, moment, body) for s in secrets)
    return headers
