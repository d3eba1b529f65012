"""Where a log's freshness goes in event mode: its date, a read showing it, the asset event, the run, the sink.

Benchmark 12 measures tenant 0's log date to arrival; this module splits each log's span into stages from data
the benchmark can read: every read of the tenant's logs (:class:`ReadRecorder`, wrapped around the emulator's
checkpoint read: the watcher's polls and the runs' fetches alike), the asset events of the tenant's asset and
the pipeline's runs (the REST API), and the sink's arrival times. A log's milestones, each at least the one
before (a log the run's own fetch read first spends nothing in the stages between):

1. its date;
2. the first read of the tenant that returned it (a watcher's poll, or a run's fetch);
3. the last asset event before the run that delivered it was created (the watcher asking for that run; none
   for a run another run asked for, a follow-up);
4. that run created (``queued_at``);
5. that run started;
6. its arrival at the sink.

So "read to asset event" is the watcher holding back (a run in flight at the checkpoint it asked for, a poll
that read a stale page), "asset event to run created" the triggerer and the scheduler.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from bench.freshness import percentile

STAGES = (
    "log date to a read showing it",
    "read to the watcher's asset event",
    "asset event (for a follow-up, the read) to run created",
    "run created to started",
    "run started to delivered",
)


@dataclass(frozen=True)
class Read:
    """One read of the tenant's logs: when, the checkpoint it read after, and the last log id it returned."""

    at: float
    after: str
    last: str | None

    def shows(self, log_id: str) -> bool:
        """Whether the read returned ``log_id`` (a checkpoint read returns consecutive ids after ``after``)."""
        return self.last is not None and self.after < log_id <= self.last


class ReadRecorder:
    """Records every checkpoint read of an emulated tenant (its ``state.checkpoint``) while installed."""

    def __init__(self, state: Any) -> None:
        self.state = state
        self.reads: list[Read] = []
        self._lock = threading.Lock()
        self._original: Callable[[str, int], list[dict[str, Any]]] | None = None

    def install(self) -> None:
        """Wrap the tenant's checkpoint read so that each call is recorded."""
        original = self.state.checkpoint
        self._original = original

        def recorded(from_id: str, take: int) -> list[dict[str, Any]]:
            logs: list[dict[str, Any]] = original(from_id, take)
            with self._lock:
                self.reads.append(Read(time.time(), from_id, str(logs[-1]["log_id"]) if logs else None))
            return logs

        self.state.checkpoint = recorded

    def remove(self) -> None:
        """Put the tenant's own checkpoint read back."""
        if self._original is not None:
            del self.state.checkpoint
            self._original = None


@dataclass(frozen=True)
class RunTimes:
    """A pipeline run's moments (epoch seconds; ``started`` None while it has not)."""

    run_id: str
    kind: str
    created: float
    started: float | None
    ended: float | None


def _epoch(value: str | None) -> float | None:
    return None if not value else datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def runs_from_api(found: Iterable[dict[str, Any]]) -> list[RunTimes]:
    """The REST API's dag runs as :class:`RunTimes`, those without a ``queued_at`` left out."""
    runs = []
    for run in found:
        created = _epoch(run.get("queued_at"))
        if created is not None:
            runs.append(
                RunTimes(
                    str(run["dag_run_id"]),
                    str(run.get("run_type")),
                    created,
                    _epoch(run.get("start_date")),
                    _epoch(run.get("end_date")),
                )
            )
    return sorted(runs, key=lambda r: r.created)


def events_from_api(found: Iterable[dict[str, Any]]) -> list[float]:
    """The REST API's asset events' timestamps, in order."""
    return sorted(t for t in (_epoch(e.get("timestamp")) for e in found) if t is not None)


def stages(
    log_id: str, date: float, arrival: float, reads: Sequence[Read], events: Sequence[float], runs: Sequence[RunTimes]
) -> list[float]:
    """The seconds of each of :data:`STAGES` for one log; they add up to ``arrival - date``."""
    first_read = min((r.at for r in reads if r.at >= date - 1.0 and r.shows(log_id)), default=arrival)
    delivering = [r for r in runs if r.started is not None and r.started <= arrival]
    run = max(delivering, key=lambda r: r.started or 0.0, default=None)
    event = None
    if run is not None and run.kind == "asset_triggered":  # another run (a follow-up) was asked for by a run
        event = max((t for t in events if t <= run.created), default=None)
    moments = [
        date,
        first_read,
        event,
        None if run is None else run.created,
        None if run is None else run.started,
        arrival,
    ]
    chain = [date]
    for moment in moments[1:]:
        chain.append(min(max(chain[-1] if moment is None else moment, chain[-1]), arrival))
    return [later - earlier for earlier, later in pairwise(chain)]


def describe_stages(per_log: Sequence[Sequence[float]], totals: Sequence[float]) -> list[str]:
    """Lines: p50 / p95 of each stage over every log, and the stages' mean over the slowest 5% of the logs."""
    if not per_log:
        return ["no log to split into stages"]
    lines = []
    ranked = sorted(zip(totals, range(len(per_log)), strict=True), reverse=True)
    tail = [per_log[index] for _, index in ranked[: max(1, len(per_log) // 20)]]
    for index, name in enumerate(STAGES):
        values = [s[index] for s in per_log]
        tail_mean = sum(s[index] for s in tail) / len(tail)
        lines.append(
            f"{name}: p50 {percentile(values, 0.5):.1f}s, p95 {percentile(values, 0.95):.1f}s, "
            f"max {max(values):.1f}s; {tail_mean:.1f}s on average in the slowest {len(tail)} logs (5%)"
        )
    return lines


def timeline(
    log_id: str, date: float, arrival: float, reads: Sequence[Read], events: Sequence[float], runs: Sequence[RunTimes]
) -> str:
    """One log's moments relative to its date: the reads, asset events and runs between its date and arrival."""

    def rel(t: float) -> str:
        return f"{t - date:+.1f}"

    window = [r for r in reads if date - 1 <= r.at <= arrival]
    seen = ", ".join(f"{rel(r.at)}{'*' if r.shows(log_id) else ''}" for r in window) or "none"
    evs = ", ".join(rel(t) for t in events if date - 10 <= t <= arrival) or "none"
    near = [r for r in runs if r.created <= arrival and (r.ended is None or r.ended >= date - 10)]
    run_text = "; ".join(
        f"{r.kind} created {rel(r.created)} started {rel(r.started) if r.started else '-'} "
        f"ended {rel(r.ended) if r.ended else '-'}"
        for r in near
    )
    return (
        f"log {log_id[-12:]} arrived {arrival - date:.1f}s after its date: reads at {seen} (* showed it); "
        f"asset events at {evs}; runs: {run_text or 'none'}"
    )
