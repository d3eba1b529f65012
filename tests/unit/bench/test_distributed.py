"""Benchmark 5's verdicts: 3,200 logs/s, each selected log received once, every task's peak RSS flat."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.distributed import Outcome, timeline

pytestmark = pytest.mark.unit

PEAKS = {"fetch[-1]": 220.0, "deliver[0]": 216.0, "deliver[1]": 218.0, "commit[-1]": 271.0}
GOOD = Outcome("success", 300.0, 1_000_000, 947_892, 947_892, 947_892, 0, PEAKS, connections=15)


def verdicts(outcome: Outcome) -> list[bool | None]:
    return [row.met for row in outcome.rows()]


def test_a_fast_whole_flat_run_meets_every_target() -> None:
    assert verdicts(GOOD) == [True, True, True, None]
    assert GOOD.rows()[2].result == "fetch 220 MB, deliver 216 MB-218 MB (2 tasks), commit 271 MB"


def test_the_rate_needs_3200_logs_a_second_and_a_successful_run() -> None:
    assert verdicts(replace(GOOD, seconds=1_000_000 / 3_199))[0] is False
    assert verdicts(replace(GOOD, seconds=1_000_000 / 3_200))[0] is True
    assert verdicts(replace(GOOD, state="failed"))[0] is False


@pytest.mark.parametrize(
    "changes",
    [{"duplicates": 1}, {"received": 947_893}, {"unique": 947_891, "received": 947_891}, {"selected": None}],
    ids=["a duplicate", "a log twice", "a log missing", "no plan"],
)
def test_each_once_needs_every_selected_log_received_exactly_once(changes: dict[str, object]) -> None:
    assert verdicts(replace(GOOD, **changes))[1] is False  # type: ignore[arg-type]


def test_memory_is_missed_over_300_mb_or_when_the_fetch_or_commit_was_never_sampled() -> None:
    assert verdicts(replace(GOOD, peaks={**PEAKS, "deliver[4]": 301.0}))[2] is False
    assert verdicts(replace(GOOD, peaks={k: v for k, v in PEAKS.items() if k != "commit[-1]"}))[2] is False
    lane_only = {"fetch[-1]": 220.0, "commit[-1]": 230.0}  # the fetch's lane sent everything: no delivery task
    assert verdicts(replace(GOOD, peaks=lane_only))[2] is True


def test_the_timeline_puts_each_task_in_seconds_after_the_first_start_in_start_order() -> None:
    def ti(task: str, index: int, start: str, end: str | None) -> dict[str, object]:
        at = "2026-12-04T13:52:"
        return {"task_id": task, "map_index": index, "start_date": at + start, "end_date": end and at + end}

    tis = [ti("commit", -1, "40.0+00:00", "41.5+00:00"), ti("fetch", -1, "10.0+00:00", "28.5+00:00")]
    tis += [ti("deliver", 1, "29.0+00:00", "35.0+00:00"), ti("deliver", 0, "29.0+00:00", None)]
    lines = timeline(tis)  # a task still running (no end) is left out
    assert [line.split()[0] for line in lines] == ["fetch[-1]", "deliver[1]", "commit[-1]"]
    assert lines[1].startswith("deliver[1]   19.0s to   25.0s (  6.0s)")
