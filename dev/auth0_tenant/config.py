"""The emulated tenant's settings (the CLI's options)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"
DEFAULT_SCOPE = "read:logs read:logs_users"


@dataclass(frozen=True)
class TenantConfig:
    """Everything that shapes one emulated tenant.

    :param logs: logs present at start-up, spread over ``min(retention_days, history_days)`` before it.
    :param history_days: how far back the start-up logs go (at most the retention).
    :param rate_limit_per_minute: the bucket's refill rate; 0 disables rate limiting.
    :param events_per_second: live traffic: new logs appear at this rate while the server runs.
    :param scope: space-separated scopes granted to tokens of ``client_id``.
    :param token_logs: write a ``seccft`` log for each client-credentials exchange (``feccft`` when
        refused), as Auth0 does; off for tests that need a fixed set of logs.
    :param api_limit_logs: write an ``api_limit`` log for each request the rate limit refuses.
    :param rate_limit_headers: send ``X-RateLimit-*`` on every ``/api/v2`` response even when
        limiting is off (Auth0 always does; the numbers then show a full bucket).
    """

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    logs: int = 1000
    seed: int = 1
    token_ttl: int = 86400
    rate_limit_burst: int = 10
    rate_limit_per_minute: float = 100
    retention_days: float = 30
    history_days: float = 1
    events_per_second: float = 0
    scope: str = DEFAULT_SCOPE
    tenant_name: str = "emulator-tenant"
    token_logs: bool = True
    api_limit_logs: bool = True
    rate_limit_headers: bool = True
