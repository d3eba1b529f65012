"""Helpers shared by the webhook sink tests: test secrets and a Standard Webhooks signer."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"sink-test-secret-0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-secret-0123456789abcdefgh").decode()


def sign(body: bytes, secret: str = SECRET, msg_id: str = "msg_1", at: datetime | None = None) -> dict[str, str]:
    """Return the headers a Standard Webhooks sender puts on ``body`` (signed with the reference library)."""
    timestamp = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, body.decode()),
        "content-type": "application/json",
    }
