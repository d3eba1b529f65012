"""The retry toolkit both HTTP clients share: jittered backoff, server-given waits, our User-Agent.

The Auth0 hook and the webhook sender both retry with tenacity; what they wait between attempts
is computed here, once, so the two cannot drift apart.
"""

from __future__ import annotations

import random

from auth0_log_webhooks.http.headers import parse_retry_after

__all__ = ["USER_AGENT", "backoff_seconds", "parse_retry_after"]

USER_AGENT = "auth0-log-webhooks/0.1 (Apache Airflow)"


def backoff_seconds(attempt: int, initial: float, maximum: float, *, rng: random.Random | None = None) -> float:
    """Return the wait after failed attempt number ``attempt`` (1-based): exponential with jitter.

    The ceiling doubles from ``initial`` up to ``maximum``; the wait is drawn uniformly from the
    upper half of it ("equal jitter"), so retries of many clients spread out but never collapse to 0.
    """
    ceiling = min(maximum, initial * 2 ** min(attempt - 1, 30))
    return (rng or random).uniform(ceiling / 2, ceiling)
