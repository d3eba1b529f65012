"""A cap on requests per second to one receiver, shared by every process that sends to it.

A request goes in two steps against its receiver's :class:`Schedule`, each read and moved
atomically in a store every sender shares:

1. **reserve** the next free slot (GCRA, the "virtual scheduling" form of a token bucket with a burst
   of one): a slot is ``1 / per_second`` seconds after the one before, so the senders are paced
   evenly and one that is behind never bursts to catch up; then sleep until it (:meth:`RateCap.pace`).
2. **confirm** at the last moment, which records when the request really starts
   (:meth:`RateCap.start`). A slot is only a plan: on a loaded machine a sender wakes late, and a late
   request followed by punctual ones used to put 22 requests into one second of a 20/s cap. The
   schedule keeps the start times of the last ``count`` requests (``count`` = the rate rounded up) and
   lets a request start only when the oldest of them is a full window (``count / per_second`` seconds,
   one second for a whole rate) ago; until then the sender waits. So no window of one second ever
   holds more than the rate, however late anyone woke, and a late sender costs no slot (none is thrown
   away). The sender confirms inside the HTTP connection (a sending gate, see
   :mod:`~auth0_log_webhooks.http.attempt_deadlines`): after the attempt is built and signed, its OAuth2 token fetched
   and its socket connected, just before the first byte goes out, so that what the receiver sees
   differs from the recorded starts only by the request's trip, not by the sender's own work (or a
   loaded machine taking the CPU from it in the middle of that work).

A receiver's 429 (:meth:`RateCap.hold_off`) sets a pause: no slot is reserved before it ends, and a
sender that wakes inside it reserves again after it, so every sender to that receiver slows down,
not only the one that was told, and the pause is not followed by a burst.

The stores:

* :class:`FileRateCap` (the default): a small file under an exclusive ``flock``; every process on one
  machine shares it, so it holds for the LocalExecutor, ``airflow standalone`` and a Celery worker's
  processes, with no server. Times are this machine's clock, the same for all of them.
* :class:`RedisRateCap` (``redis://`` store): a Lua script on the Redis the Celery executor already has,
  timed by Redis's clock, so it holds across workers on several machines whose clocks differ.
"""

from __future__ import annotations

import fcntl
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MAX_WINDOW_COUNT = 1000
"""The most request start times a schedule keeps: above 1,000 requests a second the window shrinks
below one second (the pacing still holds the rate)."""


def window_for(per_second: float) -> tuple[int, float]:
    """Return ``(count, seconds)``: at most ``count`` requests start in any window of ``seconds``.

    ``count`` is the rate rounded up (at least 1), and the window is as long as the rate needs for
    that many: 20/s gives 20 in 1 s, 2.5/s gives 3 in 1.2 s, 0.5/s gives 1 in 2 s.
    """
    count = min(MAX_WINDOW_COUNT, max(1, math.ceil(per_second - 1e-9)))
    return count, count / per_second


@dataclass(frozen=True)
class Schedule:
    """The shared state of one receiver's cap (times in seconds on the store's clock)."""

    free_at: float = 0.0
    """The next free slot."""
    held_until: float = 0.0
    """No request starts before this (the receiver answered 429)."""
    started: tuple[float, ...] = ()
    """When the latest requests started, oldest first (at most the window's count)."""

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Return the schedule a store holds as text; a torn or foreign text starts afresh rather than stop sending."""
        try:
            numbers = [float(word) for word in text.split()]
        except ValueError:
            return cls()
        if len(numbers) < 2 or not all(math.isfinite(number) for number in numbers):
            return cls()
        return cls(numbers[0], numbers[1], tuple(numbers[2:]))

    def text(self) -> str:
        """Return the schedule as the text :meth:`parse` reads."""
        return " ".join(repr(number) for number in (self.free_at, self.held_until, *self.started))

    def reserve(self, now: float, interval: float) -> tuple[Schedule, float]:
        """Take the next free slot (after any pause); return the new schedule and the seconds until the slot."""
        slot = max(self.free_at, self.held_until, now)
        return replace(self, free_at=slot + interval), slot - now

    def confirm(self, now: float, count: int, window: float) -> tuple[Schedule, float | None]:
        """Start a request now if the cap allows it.

        :returns: the new schedule and ``0.0`` (start now: recorded), the seconds to wait before
            confirming again (the window already holds ``count`` requests), or None (a pause began
            after the slot was reserved: reserve again).
        """
        if now < self.held_until:
            return self, None
        started = self.started[-count:]
        if len(started) == count and now < started[0] + window:
            return self, started[0] + window - now
        return replace(self, started=(*started, now)[-count:]), 0.0

    def hold(self, now: float, seconds: float) -> Schedule:
        """Start no request before ``seconds`` from now."""
        return replace(self, held_until=max(self.held_until, now + seconds))


class PauseBeganError(Exception):
    """A pause (a 429 to any sender) began after this request's slot was reserved: nothing was sent; reserve a
    slot again (:meth:`RateCap.pace`), which comes after the pause."""


def start_when_allowed(
    confirm: Callable[[], float | None],
    sleep: Callable[[float], None],
    monotonic: Callable[[], float] = time.monotonic,
) -> float:
    """Confirm, waiting as long as the window is full; return the seconds waited.

    :raises PauseBeganError: if a pause began after the slot was reserved.
    """
    started = monotonic()
    while True:
        verdict = confirm()
        if verdict is None:
            raise PauseBeganError("the receiver's rate cap was paused after this request's slot was reserved")
        if verdict <= 0:
            return monotonic() - started
        sleep(verdict)  # the window is full: wait until its oldest request leaves it


class RateCap(Protocol):
    """Where the next request to a receiver may go."""

    per_second: float

    def pace(self) -> float:
        """Reserve the next free slot and sleep until it; return the seconds slept."""
        ...

    def start(self) -> float:
        """Record that a request starts now, after waiting while the window is full; return the seconds waited.

        :raises PauseBeganError: a pause began after the slot was reserved; nothing was recorded: pace again.
        """
        ...

    def hold_off(self, seconds: float) -> None:
        """Start no request before ``seconds`` from now (the receiver asked for a pause)."""
        ...


def _checked(per_second: float) -> float:
    if not per_second > 0:
        raise ValueError(f"a rate cap must be more than 0 requests a second, not {per_second}")
    return per_second


class _PacedCap(ABC):
    """What both stores do with their two moves, ``take`` (reserve a slot) and ``confirm`` (start now or wait):
    sleep until the slot (:meth:`pace`), and wait while the window is full (:meth:`start`)."""

    _sleep: Callable[[float], None]
    _elapsed: Callable[[], float]
    """The clock that measures the seconds a caller waited (not the schedule's clock)."""

    @abstractmethod
    def take(self) -> float:
        """Reserve the next free slot; return the seconds until it."""

    @abstractmethod
    def confirm(self) -> float | None:
        """Start a request now if the cap allows it (see :meth:`Schedule.confirm`)."""

    def pace(self) -> float:
        """Reserve the next free slot and sleep until it; return the seconds slept."""
        ahead = self.take()
        if ahead > 0:
            self._sleep(ahead)
        return max(ahead, 0.0)

    def start(self) -> float:
        """Record that a request starts now, after waiting while the window is full (see :class:`RateCap`)."""
        return start_when_allowed(self.confirm, self._sleep, self._elapsed)


class FileRateCap(_PacedCap):
    """The schedule in a file under ``flock``: shared by every process of one machine (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        per_second: float,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = path
        self.per_second = _checked(per_second)
        self.count, self.window = window_for(per_second)
        self._clock = clock
        self._elapsed = clock
        self._sleep = sleep
        path.parent.mkdir(parents=True, exist_ok=True)

    def _move(self, update: Callable[[Schedule, float], tuple[Schedule, T]]) -> T:
        """Under the lock, turn (schedule, now) into (new schedule, result); return the result."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            schedule = Schedule.parse(os.pread(fd, 65536, 0).decode("ascii", "replace"))
            moved, result = update(schedule, self._clock())
            if moved != schedule:
                text = moved.text().encode()
                os.ftruncate(fd, 0)
                os.pwrite(fd, text, 0)
            return result
        finally:
            os.close(fd)  # closing releases the lock

    def take(self) -> float:
        """Reserve the next free slot; return the seconds until it."""
        return self._move(lambda schedule, now: schedule.reserve(now, 1.0 / self.per_second))

    def confirm(self) -> float | None:
        """Start a request now if the cap allows it (see :meth:`Schedule.confirm`)."""
        return self._move(lambda schedule, now: schedule.confirm(now, self.count, self.window))

    def hold_off(self, seconds: float) -> None:
        """Start no request before ``seconds`` from now."""
        self._move(lambda schedule, now: (schedule.hold(now, seconds), None))


_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local op, interval, count, window, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5])
local numbers = {}
for word in string.gmatch(redis.call('GET', KEYS[1]) or '', '%S+') do
  local number = tonumber(word)
  if number == nil then numbers = {} break end
  table.insert(numbers, number)
end
if #numbers < 2 then numbers = {0, 0} end
local free_at, held_until, started = numbers[1], numbers[2], {}
for i = 3, #numbers do table.insert(started, numbers[i]) end
while #started > count do table.remove(started, 1) end
local function save()
  local words = {string.format('%.6f', free_at), string.format('%.6f', held_until)}
  for _, moment in ipairs(started) do table.insert(words, string.format('%.6f', moment)) end
  redis.call('SET', KEYS[1], table.concat(words, ' '), 'EX', 86400)
end
if op == 'hold' then
  held_until = math.max(held_until, now + hold)
  save()
  return 'held'
end
if op == 'reserve' then
  local slot = math.max(free_at, held_until, now)
  free_at = slot + interval
  save()
  return string.format('%.6f', slot - now)
end
if now < held_until then return 'reserve' end
if #started == count and now < started[1] + window then return string.format('%.6f', started[1] + window - now) end
table.insert(started, now)
while #started > count do table.remove(started, 1) end
save()
return 'go'
"""


class RedisRateCap(_PacedCap):
    """The schedule in Redis, moved by one Lua script on Redis's clock (the same steps as :class:`Schedule`):
    shared across machines."""

    def __init__(
        self,
        client: Any,
        key: str,
        per_second: float,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.key = key
        self.per_second = _checked(per_second)
        self.count, self.window = window_for(per_second)
        self._sleep = sleep
        self._elapsed = time.monotonic
        self._script = client.register_script(_SCRIPT)

    def _run(self, op: str, hold: float = 0.0) -> str:
        answer = self._script(keys=[self.key], args=[op, 1.0 / self.per_second, self.count, self.window, hold])
        return answer.decode() if isinstance(answer, bytes) else str(answer)

    def take(self) -> float:
        """Reserve the next free slot; return the seconds until it."""
        return float(self._run("reserve"))

    def confirm(self) -> float | None:
        """Start a request now if the cap allows it (see :meth:`Schedule.confirm`)."""
        answer = self._run("confirm")
        if answer == "go":
            return 0.0
        if answer == "reserve":
            return None
        return max(float(answer), 1e-6)  # a wait, however small, is not a go

    def hold_off(self, seconds: float) -> None:
        """Start no request before ``seconds`` from now."""
        if seconds > 0:
            self._run("hold", seconds)


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
