"""A cap on requests per second to one receiver, shared by every process that sends to it.

Each request first takes the next free slot of its receiver's schedule (GCRA, the "virtual
scheduling" form of a token bucket with a burst of one): a slot is ``1 / per_second`` seconds after
the one before, so no second holds more than ``per_second`` requests (plus the one at its edge), and a
sender that is behind never bursts to catch up. The schedule's one number, the time of the next free
slot, lives in a shared store, read and moved forward atomically:

* :class:`FileRateCap` (the default): a small file under an exclusive ``flock``; every process on one
  machine shares it, so it holds for the LocalExecutor, ``airflow standalone`` and a Celery worker's
  processes, with no server.
* :class:`RedisRateCap` (``redis://`` store): a Lua script on the Redis the Celery executor already has,
  timed by Redis's clock, so it holds across workers on several machines whose clocks differ.

A sender that wakes most of an interval after its slot (a loaded machine) gives the slot up
and takes the next free one, so late wakers cannot crowd into the next second. A receiver's 429 with
``Retry-After`` moves the shared slot past the wait (:meth:`hold_off`), so every sender to that
receiver slows down, not only the one that was told.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

RETAKES = 5
"""A sender late for its slot takes a new one at most this many times, then goes."""


def wait_for_slot(
    take: Callable[[], float],
    sleep: Callable[[float], None],
    late: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> float:
    """Take a slot and sleep until it, taking a new one when the sleep overran by more than ``late``
    seconds; return the seconds waited."""
    started = monotonic()
    for _ in range(RETAKES):
        asked = monotonic()  # before the call: a slot computed then may already be behind when it returns
        wait = take()
        if wait <= 0:
            break
        sleep(wait)
        if monotonic() - (asked + wait) <= late:
            break
    return monotonic() - started


class RateCap(Protocol):
    """Where the next request to a receiver may go."""

    per_second: float

    def acquire(self) -> float:
        """Wait for this request's slot; return the seconds waited."""
        ...

    def hold_off(self, seconds: float) -> None:
        """Give no slot before ``seconds`` from now (the receiver asked for a pause)."""
        ...


class FileRateCap:
    """The schedule in a file under ``flock``: shared by every process of one machine (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        per_second: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"a rate cap must be more than 0 requests a second, not {per_second}")
        self.path = path
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        path.parent.mkdir(parents=True, exist_ok=True)

    def _move(self, update: Callable[[float, float], tuple[float, float]]) -> float:
        """Under the lock, turn (next free slot, now) into (new next free slot, result); return the result."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            try:
                free_at = float(raw) if raw else 0.0
            except ValueError:  # a torn or foreign file: start afresh rather than stop sending
                free_at = 0.0
            new_free_at, result = update(free_at, self._clock())
            text = repr(new_free_at).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, text, 0)
            return result
        finally:
            os.close(fd)  # closing releases the lock

    def take(self) -> float:
        """Take the next free slot; return the seconds until it."""
        interval = 1.0 / self.per_second

        def advance(free_at: float, now: float) -> tuple[float, float]:
            slot = max(free_at, now)
            return slot + interval, slot - now

        return self._move(advance)

    def acquire(self) -> float:
        """Take the next free slot and wait for it, taking a new one when the sleep overran; return the seconds waited.

        The slot is a time on this machine's clock, so lateness is measured against it exactly, however
        long the lock took.
        """
        interval = 1.0 / self.per_second
        started = self._clock()
        for _ in range(RETAKES):
            slot = self._move(lambda free_at, now: (max(free_at, now) + interval, max(free_at, now)))
            ahead = slot - self._clock()
            if ahead > 0:
                self._sleep(ahead)
            if self._clock() - slot <= 0.9 * interval:
                break
        return self._clock() - started

    def hold_off(self, seconds: float) -> None:
        """Give no slot before ``seconds`` from now."""
        self._move(lambda free_at, now: (max(free_at, now + seconds), 0.0))


_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local free_at = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local interval = tonumber(ARGV[1])
local hold = tonumber(ARGV[2])
local slot
if hold > 0 then
  slot = math.max(free_at, now + hold)
  redis.call('SET', KEYS[1], string.format('%.6f', slot), 'EX', 86400)
  return '0'
end
slot = math.max(free_at, now)
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'EX', 86400)
return string.format('%.6f', slot - now)
"""


class RedisRateCap:
    """The schedule in Redis, moved by one Lua script on Redis's clock: shared across machines."""

    def __init__(
        self,
        client: Any,
        key: str,
        per_second: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError(f"a rate cap must be more than 0 requests a second, not {per_second}")
        self.client = client
        self.key = key
        self.per_second = per_second
        self._sleep = sleep
        self._script = client.register_script(_TAKE)

    def take(self) -> float:
        """Take the next free slot; return the seconds until it."""
        return float(self._script(keys=[self.key], args=[1.0 / self.per_second, 0]))

    def acquire(self) -> float:
        """Take the next free slot and wait for it; return the seconds waited."""
        return wait_for_slot(self.take, self._sleep, 0.9 / self.per_second)

    def hold_off(self, seconds: float) -> None:
        """Give no slot before ``seconds`` from now."""
        if seconds > 0:
            self._script(keys=[self.key], args=[1.0 / self.per_second, seconds])


def open_rate_cap(store: str, name: str, per_second: float, *, default_folder: Path) -> RateCap:
    """Return the rate cap of receiver ``name``: in ``store`` (a folder path, ``file://...`` or
    ``redis://...``), or in ``default_folder`` when ``store`` is empty.

    :raises ValueError: naming the store if it is neither a folder nor a Redis URL.
    """
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"
    store = store.strip()
    if store.startswith(("redis://", "rediss://", "unix://")):
        import redis

        return RedisRateCap(redis.Redis.from_url(store), f"auth0_log_webhooks:rate_cap:{safe}", per_second)
    if store.startswith("file://"):
        store = store.removeprefix("file://")
    if store and not store.startswith("/"):
        raise ValueError(f"rate cap store {store!r} is neither an absolute folder, file://..., nor redis://...")
    folder = Path(store) if store else default_folder
    return FileRateCap(folder / f"{safe}.next", per_second)
