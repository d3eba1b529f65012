"""Run history: what a pipeline's runs and replays did over a window, failed runs included.

Each run's counts for the reconciliation (:mod:`~auth0_log_webhooks.monitoring.reconciliation`) go
the same two ways: the asset event's extra, or the failed-run record.

A committed run's asset event carries its counts, but Airflow emits an asset event only when the
task succeeds: a run whose commit failed (dead letters kept, batches left undelivered, a fetch that
did not finish) leaves none, so a report built on asset events alone counts only successful runs.
The commit step therefore records each failed run, and the replay DAG each replay, in a JSON
Variable of the pipeline (``<dag_id>_failed_runs`` and ``<dag_id>_replays``; each has one writer,
as each DAG runs one run at a time), pruned to the last :data:`KEEP` and :data:`MOST` records.
:func:`window` merges them with the asset events; a run that failed and then succeeded (its commit
cleared after a replay) counts once, as its last outcome.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from auth0_log_webhooks.contracts import ReplayReport, RunSummary
from auth0_log_webhooks.monitoring.metrics import reconciliation_counts
from auth0_log_webhooks.monitoring.reconciliation import Reconciliation, RunCounts, counts_of, reconcile
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.wording import plural

log = logging.getLogger(__name__)

KEEP = timedelta(days=7)
"""Records older than this are dropped at the next write."""

MOST = 500
"""At most this many records are kept per Variable (the newest)."""

RUN_ID_CHARS = 250
"""Airflow's longest run id: an event's ``run_id`` beyond it is cut (the extra may hold anything)."""

ERROR_CHARS = 300
"""A failure's error is kept as its first line, cut to this many characters."""


def failed_runs_variable(dag_id: str) -> str:
    """Return the Variable holding a pipeline's failed runs."""
    return f"{dag_id}_failed_runs"


def replays_variable(dag_id: str) -> str:
    """Return the Variable holding a pipeline's replays."""
    return f"{dag_id}_replays"


@dataclass(frozen=True)
class RunPoint:
    """One run: when it ended, what it delivered and kept, its 429s; failed runs name their error."""

    at: datetime
    logs: int
    dead_letters: int
    auth0_429: int = 0
    webhook_429: int = 0
    run_id: str | None = None
    error: str | None = None
    counts: RunCounts | None = None
    """What the run read, left out, delivered, kept and left (None: a run of an older version)."""

    @property
    def failed(self) -> bool:
        """Return whether the run failed."""
        return self.error is not None


@dataclass(frozen=True)
class ReplayPoint:
    """One replay: when it ended, the dead letters delivered (and removed) and those still failing."""

    at: datetime
    delivered: int
    logs: int
    still_failing: int


def first_line(error: BaseException | str) -> str:
    """Return an error's first line, cut to :data:`ERROR_CHARS` (its type when it has no message)."""
    text = str(error).strip()
    line = text.splitlines()[0].strip() if text else ""
    if not line:
        line = type(error).__name__ if isinstance(error, BaseException) else "no error message"
    return line if len(line) <= ERROR_CHARS else line[: ERROR_CHARS - 1] + "…"


def _append(variables: Variables, key: str, record: dict[str, Any], now: datetime) -> None:
    """Add ``record`` to the JSON list in ``key``, dropping records older than :data:`KEEP`; never raises."""
    try:
        kept = [r for r in _load(variables, key) if (at := _at(r)) is not None and at >= now - KEEP]
        variables.set(key, json.dumps([*kept, record][-MOST:], sort_keys=True))
    except Exception as exc:  # the history serves reports: it never changes a run's outcome
        log.warning("Could not record the run in Variable %s (%s: %s)", key, type(exc).__name__, exc)


def _load(variables: Variables, key: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(variables.get(key) or "[]")
    except ValueError:
        log.warning("Variable %s is not JSON; its records are ignored and replaced at the next write", key)
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def _at(record: Mapping[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(record.get("at")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count(record: Mapping[str, Any], key: str) -> int:
    """Return a count from a record or an asset event's extra: a non-negative int, else 0 (anything may be there)."""
    value = record.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**15 else 0


def record_failed_run(
    variables: Variables,
    dag_id: str,
    run_id: str,
    error: BaseException | str,
    summary: RunSummary | None = None,
    *,
    now: datetime | None = None,
) -> None:
    """Record a run whose commit failed: what it delivered and kept (when it got that far) and why it failed."""
    moment = now or datetime.now(UTC)
    record = {
        "at": moment.isoformat(),
        "run_id": run_id,
        "dead_letters": summary["dead_letters"] if summary else 0,
        "error": first_line(error),
        **reconciliation_counts(summary),
    }
    _append(variables, failed_runs_variable(dag_id), record, moment)


def record_replay(
    variables: Variables, dag_id: str, run_id: str, report: ReplayReport, *, now: datetime | None = None
) -> None:
    """Record what a replay of a pipeline's dead letters did."""
    moment = now or datetime.now(UTC)
    record = {"at": moment.isoformat(), "run_id": run_id, **report}
    _append(variables, replays_variable(dag_id), record, moment)


def failed_runs(variables: Variables, dag_id: str, since: datetime) -> list[RunPoint]:
    """Return the pipeline's failed runs since ``since``."""
    return [
        RunPoint(
            at,
            _count(r, "logs_delivered"),
            _count(r, "dead_letters"),
            run_id=str(r.get("run_id") or "") or None,
            error=str(r.get("error") or "no error message"),
            counts=counts_of(r),
        )
        for r in _load(variables, failed_runs_variable(dag_id))
        if (at := _at(r)) is not None and at >= since
    ]


def replays(variables: Variables, dag_id: str, since: datetime) -> list[ReplayPoint]:
    """Return the pipeline's replays since ``since``."""
    return [
        ReplayPoint(at, _count(r, "delivered"), _count(r, "logs_delivered"), _count(r, "still_failing"))
        for r in _load(variables, replays_variable(dag_id))
        if (at := _at(r)) is not None and at >= since
    ]


def committed_runs(events: Iterable[tuple[datetime, Mapping[str, Any]]]) -> list[RunPoint]:
    """Turn the delivered asset's events (timestamp, extra) into the points of committed runs."""
    return [
        RunPoint(
            at,
            _count(extra, "logs_delivered"),
            _count(extra, "dead_letters"),
            _count(extra, "auth0_429"),
            _count(extra, "webhook_429"),
            run_id=str(extra.get("run_id") or "")[:RUN_ID_CHARS] or None,
            counts=counts_of(extra),
        )
        for at, extra in events
    ]


def merge(committed: Iterable[RunPoint], failed: Iterable[RunPoint]) -> list[RunPoint]:
    """Return every run once, oldest first: a run id seen twice keeps its latest outcome."""
    latest: dict[object, RunPoint] = {}
    for n, point in enumerate(sorted([*committed, *failed], key=lambda p: p.at)):
        latest[point.run_id or n] = point  # events written before they named their run: each its own run
    return sorted(latest.values(), key=lambda p: p.at)


@dataclass(frozen=True)
class Window:
    """A pipeline's runs and replays over a window, and the sums a report and the health page show."""

    runs: list[RunPoint]
    replays: list[ReplayPoint]

    @property
    def failed(self) -> list[RunPoint]:
        """Return the failed runs, oldest first."""
        return [r for r in self.runs if r.failed]

    @property
    def delivered(self) -> int:
        """Return the logs delivered by every run, failed ones included (a failed run may deliver most)."""
        return sum(r.logs for r in self.runs)

    @property
    def dead_letters_kept(self) -> int:
        """Return the dead letters the runs kept."""
        return sum(r.dead_letters for r in self.runs)

    @property
    def replayed(self) -> int:
        """Return the dead letters replays delivered."""
        return sum(r.delivered for r in self.replays)

    @property
    def still_failing(self) -> int:
        """Return the dead letters the last replay could not deliver (0 without a replay)."""
        return self.replays[-1].still_failing if self.replays else 0

    @property
    def replayed_logs(self) -> int:
        """Return the logs replays delivered from dead letters."""
        return sum(r.logs for r in self.replays)

    def reconciliation(self) -> Reconciliation:
        """Return the window's reconciliation: its runs' counts summed, with the logs replayed."""
        return reconcile((r.counts for r in self.runs), self.replayed_logs)

    @property
    def last_failure(self) -> RunPoint | None:
        """Return the newest failed run, or None."""
        failed = self.failed
        return failed[-1] if failed else None

    def runs_text(self) -> str:
        """Return ``3 runs (1 failed)``, or ``2 runs, all successful``."""
        if not self.runs:
            return "no run"
        failed = len(self.failed)
        if not failed:
            return f"{plural(len(self.runs), 'run')}, all successful"
        return f"{plural(len(self.runs), 'run')} ({failed:,} failed)"

    def dead_letters_text(self) -> str:
        """Return ``2 dead letters kept, 1 replayed``."""
        return f"{plural(self.dead_letters_kept, 'dead letter')} kept, {self.replayed:,} replayed"

    def last_failure_text(self) -> str | None:
        """Return ``2026-11-26 14:02:00 UTC, run manual__...: <its error's first line>``, or None."""
        last = self.last_failure
        if last is None:
            return None
        return f"{last.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, run {last.run_id or 'unknown'}: {last.error}"


def window(
    variables: Variables,
    dag_id: str,
    events: Iterable[tuple[datetime, Mapping[str, Any]]],
    since: datetime,
) -> Window:
    """Return a pipeline's window since ``since``: its committed runs (``events``), failed runs and replays."""
    recent = [(at, extra) for at, extra in events if at >= since]
    runs = merge(committed_runs(recent), failed_runs(variables, dag_id, since))
    return Window(runs, sorted(replays(variables, dag_id, since), key=lambda r: r.at))
