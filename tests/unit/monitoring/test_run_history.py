"""Run history: failed runs and replays kept for the report, merged with the committed runs' asset events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth0_log_webhooks.contracts import ReplayReport, RunSummary
from auth0_log_webhooks.monitoring.run_history import (
    ERROR_CHARS,
    MOST,
    committed_runs,
    failed_runs,
    failed_runs_variable,
    first_line,
    merge,
    record_failed_run,
    record_replay,
    replays,
    window,
)
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)
DAY = NOW - timedelta(hours=24)


def counts(delivered: int, dead_letters: int) -> RunSummary:
    """A failed run's summary: what it delivered and kept."""
    return RunSummary(
        batches=1,
        settled_batches=1,
        delivered_logs=delivered,
        dead_letters=dead_letters,
        checkpoint=None,
        more_to_read=False,
    )


def test_a_failed_run_keeps_its_counts_and_the_first_line_of_its_error() -> None:
    variables = InMemoryVariables()
    summary = RunSummary(
        batches=3, settled_batches=3, delivered_logs=54, dead_letters=2, checkpoint=None, more_to_read=False
    )
    record_failed_run(variables, "p", "scheduled__1", RuntimeError("2 dead letters kept\nadvice"), summary, now=NOW)
    (point,) = failed_runs(variables, "p", DAY)
    assert (point.run_id, point.logs, point.dead_letters, point.error, point.failed) == (
        "scheduled__1",
        54,
        2,
        "2 dead letters kept",
        True,
    )


def test_records_older_than_a_week_are_dropped_and_at_most_the_newest_are_kept() -> None:
    variables = InMemoryVariables()
    record_failed_run(variables, "p", "old", "x", now=NOW - timedelta(days=8))
    record_failed_run(variables, "p", "new", "x", now=NOW)
    assert [r["run_id"] for r in json.loads(variables.get(failed_runs_variable("p")) or "[]")] == ["new"]
    for n in range(MOST + 3):
        record_failed_run(variables, "p", f"r{n}", "x", now=NOW)
    kept = json.loads(variables.get(failed_runs_variable("p")) or "[]")
    assert (len(kept), kept[-1]["run_id"]) == (MOST, f"r{MOST + 2}")


def test_a_variable_that_is_not_json_is_read_as_empty_and_replaced_at_the_next_write() -> None:
    variables = InMemoryVariables({failed_runs_variable("p"): "{not json"})
    assert failed_runs(variables, "p", DAY) == []
    record_failed_run(variables, "p", "r", "x", now=NOW)
    assert [p.run_id for p in failed_runs(variables, "p", DAY)] == ["r"]


def test_recording_never_fails_the_run_it_records() -> None:
    class Broken(InMemoryVariables):
        def set(self, key: str, value: str) -> None:
            raise ConnectionError("the API server is away")

    record_failed_run(Broken(), "p", "r", "x", now=NOW)  # logged, not raised
    record_replay(Broken(), "p", "r", ReplayReport(delivered=1, still_failing=0, logs_delivered=3), now=NOW)


def test_an_error_line_is_bounded_and_never_empty() -> None:
    assert len(first_line("x" * 5000)) == ERROR_CHARS
    assert first_line(ValueError()) == "ValueError"
    assert first_line("\n\n  second line\n") == "second line"


def test_a_run_that_failed_and_then_committed_counts_once_as_committed() -> None:
    failed = failed_runs_variable("p")
    variables = InMemoryVariables()
    record_failed_run(variables, "p", "manual__1", "dead letters kept", now=NOW - timedelta(hours=2))
    events: list[tuple[datetime, Mapping[str, Any]]] = [
        (NOW - timedelta(hours=1), {"logs_delivered": 10, "run_id": "manual__1"}),
        (NOW, {"logs_delivered": 5}),
    ]
    day = window(variables, "p", events, DAY)
    assert [(r.run_id, r.failed) for r in day.runs] == [("manual__1", False), (None, False)]
    assert day.runs_text() == "2 runs, all successful"
    assert variables.get(failed)  # the record stays: only the merge decides


def test_events_without_a_run_id_are_each_their_own_run() -> None:
    points = committed_runs([(NOW, {"logs_delivered": 1}), (NOW, {"logs_delivered": 2})])
    assert [p.logs for p in merge(points, [])] == [1, 2]


def test_the_window_sums_failed_runs_replays_and_names_the_last_failure() -> None:
    variables = InMemoryVariables()
    record_failed_run(variables, "p", "a", "first", counts(5, 1), now=NOW - timedelta(hours=30))
    record_failed_run(variables, "p", "b", "second", counts(7, 2), now=NOW - timedelta(hours=3))
    record_replay(variables, "p", "r", ReplayReport(delivered=1, still_failing=1, logs_delivered=4), now=NOW)
    day = window(variables, "p", [(NOW - timedelta(hours=2), {"logs_delivered": 100})], DAY)
    assert (day.delivered, day.dead_letters_kept, day.replayed, day.still_failing) == (107, 2, 1, 1)
    assert day.runs_text() == "2 runs (1 failed)"
    assert day.last_failure_text() == "2026-11-26 12:00:00 UTC, run b: second"
    assert [r.delivered for r in replays(variables, "p", DAY)] == [1]
