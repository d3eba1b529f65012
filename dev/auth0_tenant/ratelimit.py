"""Auth0's rate limit: a token bucket (burst = size, sustained rate = refill per minute).

Header semantics used by the emulator (Auth0 documents the names, not the exact arithmetic):

- ``X-RateLimit-Limit``: the burst (bucket size).
- ``X-RateLimit-Remaining``: whole tokens left after this request.
- ``X-RateLimit-Reset``: UTC epoch seconds, rounded up, when the bucket next holds a whole token,
  i.e. when the next request will be let through (the current second while tokens remain). So a
  client that waits until Reset whenever Remaining is 0 never receives a 429.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """The outcome of one :meth:`TokenBucket.acquire`."""

    allowed: bool
    limit: int
    remaining: int
    reset_in: float
    """Seconds until the bucket holds a whole token (0 when one is available now)."""

    def headers(self, wall_now: float) -> dict[str, str]:
        """The X-RateLimit-* headers for a response sent at wall-clock ``wall_now``."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(wall_now + self.reset_in)),
        }


class TokenBucket:
    """A thread-safe token bucket; ``per_minute <= 0`` disables limiting.

    :param clock: a monotonic clock in seconds (injectable for tests).
    """

    def __init__(self, burst: int, per_minute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.configure(burst, per_minute)

    @property
    def enabled(self) -> bool:
        """Whether requests are limited at all."""
        return self.per_minute > 0 and self.burst > 0

    def configure(self, burst: int, per_minute: float) -> None:
        """Set the size and refill rate; the bucket starts full."""
        with self._lock:
            self.burst = int(burst)
            self.per_minute = float(per_minute)
            self._tokens = float(self.burst)
            self._updated = self._clock()

    def _refill(self) -> None:
        now = self._clock()
        rate = self.per_minute / 60.0
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * rate)
        self._updated = now

    def _reset_in(self) -> float:
        missing = 1.0 - self._tokens
        return 0.0 if missing <= 0 else missing / (self.per_minute / 60.0)

    def acquire(self) -> Decision:
        """Take one token if there is one; report the headers' numbers either way."""
        with self._lock:
            if not self.enabled:
                return Decision(True, 0, 0, 0.0)
            self._refill()
            allowed = self._tokens >= 1.0
            if allowed:
                self._tokens -= 1.0
            return Decision(allowed, self.burst, int(self._tokens), self._reset_in())
