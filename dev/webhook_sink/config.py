"""Configuration of one webhook sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SinkConfig:
    """How a sink records and checks deliveries.

    :param record_path: JSON-lines file every delivery is appended to (created if absent).
    :param secrets: ``whsec_...`` Standard Webhooks secrets; a request passes if any verifies
        (rotation). Empty: signatures are not checked.
    :param authorization: expected ``Authorization`` header value; None: not checked.
    :param fsync: fsync the record file after every request (crash-safe; off for benchmarks).
    :param oauth2_client: ``(client id, client secret)`` the token endpoint ``POST /__sink/oauth/token``
        accepts (OAuth2 client credentials); deliveries then need ``Authorization: Bearer <a token it
        issued, not expired, not revoked>``. None: no token endpoint.
    :param oauth2_token_seconds: the lifetime of the tokens it issues (``expires_in``).
    :param store_dir: where the sink stores each delivery it accepts, once per ``webhook-id``, with the
        receiver kit (``python -m auth0_log_webhooks.receiver_kit check DIR`` checks it against the
        manifests); a ``drop`` fault answers 2xx without storing. None: nothing is stored.
    """

    record_path: Path
    secrets: tuple[str, ...] = field(default_factory=tuple)
    authorization: str | None = None
    fsync: bool = True
    oauth2_client: tuple[str, str] | None = None
    oauth2_token_seconds: float = 3600.0
    store_dir: Path | None = None
