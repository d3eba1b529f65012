"""The retry toolkit both HTTP clients share: jittered backoff, server-given waits, our User-Agent.

The Auth0 hook and the webhook sender both retry with tenacity; what they wait between attempts
is computed here, once, so the two cannot drift apart.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

USER_AGENT = "auth0-log-webhooks/0.1 (Apache Airflow)"


def backoff_seconds(attempt: int, initial: float, maximum: float, *, rng: random.Random | None = None) -> float:
    """Return the wait after failed attempt number ``attempt`` (1-based): exponential with jitter.

    The ceiling doubles from ``initial`` up to ``maximum``; the wait is drawn uniformly from the
    upper half of it ("equal jitter"), so retries of many clients spread out but never collapse to 0.
    """
    ceiling = min(maximum, initial * 2 ** min(attempt - 1, 30))
    return (rng or random).uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
