"""The emulator's log stream: a list of segments, each log computed on demand.

A segment is ``count`` consecutive logs spaced ``spacing_ms`` apart from ``start_ms`` (or a list of
raw log objects posted through the control API). Log ``i``'s id is a pure function of ``i`` and its
id-time, so a million logs cost a few segments of memory, and a ``from`` cursor maps to an index by
binary search over the (strictly increasing) id function.

log_id format (Auth0's observed 56-digit form)::

    "900" + UTC yyyyMMddHHmmss (14) + millisecond (3) + index (20) + scrambled digits (16)
"""

from __future__ import annotations

import bisect
import copy
import re
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dev.auth0_tenant.generator import LogFactory, format_date

LOG_ID_PATTERN = re.compile(r"^900\d{53}$")
CACHE_SIZE = 4096  # deep search pages re-scan the newest logs; keep them built


@dataclass(frozen=True)
class Segment:
    """``count`` logs starting at global ``start_index``; raw segments carry their objects."""

    start_index: int
    count: int
    start_ms: float
    spacing_ms: float
    raw: tuple[dict[str, Any], ...] | None = None

    @property
    def end_index(self) -> int:
        """One past the last index in this segment."""
        return self.start_index + self.count

    def time_ms(self, index: int) -> float:
        """Id-time (epoch milliseconds) of global ``index``."""
        return self.start_ms + (index - self.start_index) * self.spacing_ms


def make_log_id(index: int, time_ms: float, seed: int) -> str:
    """Return the 56-digit log_id of ``index`` at id-time ``time_ms``."""
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(int(time_ms) // 1000))
    scrambled = (index * 6364136223846793005 + seed * 1442695040888963407) % 10**16
    return f"900{stamp}{int(time_ms) % 1000:03d}{index:020d}{scrambled:016d}"


class _Lazy:
    """A read-only sequence view ``[lo, hi)`` for :mod:`bisect` whose items are computed."""

    def __init__(self, size: int, item: Any) -> None:
        self._size = size
        self._item = item

    def __len__(self) -> int:
        return self._size

    def __getitem__(self, index: int) -> Any:
        return self._item(index)


class LogStore:
    """Segments of lazily generated logs; not thread-safe (the tenant state holds the lock)."""

    def __init__(self, factory: LogFactory) -> None:
        self.factory = factory
        self.segments: list[Segment] = []
        self._starts: list[int] = []
        self.raw_dates = False
        """True once a raw log brought its own date (date pruning must then scan everything)."""
        self._cache: OrderedDict[int, dict[str, Any]] = OrderedDict()

    @property
    def total(self) -> int:
        """Number of logs ever appended (including ones retention now hides)."""
        return self.segments[-1].end_index if self.segments else 0

    @property
    def last_ms(self) -> float:
        """Id-time of the newest log, or 0 when empty."""
        if not self.segments:
            return 0.0
        last = self.segments[-1]
        return last.time_ms(last.end_index - 1)

    def append(self, count: int, start_ms: float, spacing_ms: float) -> range:
        """Append ``count`` generated logs; times never go backwards. Return their indexes."""
        start_ms = max(start_ms, self.last_ms)
        first = self.total
        if count <= 0:
            return range(first, first)
        last = self.segments[-1] if self.segments else None
        if last and last.raw is None and last.spacing_ms == spacing_ms and last.time_ms(first) == start_ms:
            self.segments[-1] = Segment(last.start_index, last.count + count, last.start_ms, spacing_ms)
        else:
            self._add(Segment(first, count, start_ms, spacing_ms))
        return range(first, first + count)

    def append_raw(self, logs: list[dict[str, Any]], at_ms: float) -> range:
        """Append raw log objects (ids assigned here) dated ``at_ms`` unless they carry a date."""
        first = self.total
        if logs:
            self.raw_dates = self.raw_dates or any("date" in log for log in logs)
            self._add(Segment(first, len(logs), max(at_ms, self.last_ms), 0.0, tuple(copy.deepcopy(logs))))
        return range(first, first + len(logs))

    def _add(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._starts.append(segment.start_index)

    def _segment(self, index: int) -> Segment:
        return self.segments[bisect.bisect_right(self._starts, index) - 1]

    def time_ms(self, index: int) -> float:
        """Id-time of ``index`` in epoch milliseconds."""
        return self._segment(index).time_ms(index)

    def log_id(self, index: int) -> str:
        """The log_id of ``index``."""
        return make_log_id(index, self.time_ms(index), self.factory.seed)

    def get(self, index: int) -> dict[str, Any]:
        """The full log object at ``index`` (recently built ones are cached: treat as read-only)."""
        log = self._cache.get(index)
        if log is None:
            log = self._build(index)
            self._cache[index] = log
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return log

    def _build(self, index: int) -> dict[str, Any]:
        segment = self._segment(index)
        time_ms = segment.time_ms(index)
        log_id = make_log_id(index, time_ms, self.factory.seed)
        if segment.raw is None:
            return self.factory.make(index, log_id, time_ms)
        log = copy.deepcopy(segment.raw[index - segment.start_index])
        log.setdefault("date", format_date(time_ms))
        log["log_id"] = log_id
        log["_id"] = log_id
        return log

    def first_at_or_after(self, time_ms: float) -> int:
        """Smallest index whose id-time is >= ``time_ms`` (``total`` if none)."""
        return bisect.bisect_left(_Lazy(self.total, self.time_ms), time_ms)

    def first_after_id(self, log_id: str) -> int:
        """Smallest index whose log_id is > ``log_id`` (ids compare as fixed-width strings)."""
        return bisect.bisect_right(_Lazy(self.total, self.log_id), log_id)

    def index_of(self, log_id: str) -> int | None:
        """The index holding ``log_id``, or None."""
        index = bisect.bisect_left(_Lazy(self.total, self.log_id), log_id)
        if index < self.total and self.log_id(index) == log_id:
            return index
        return None

    def iter_ids(self, start: int, stop: int) -> Iterator[str]:
        """Yield log_ids for ``[start, stop)`` without building the logs."""
        for index in range(start, stop):
            yield self.log_id(index)
