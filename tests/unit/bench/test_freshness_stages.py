"""Benchmark 12's split of a log's freshness into stages: reads of the tenant, asset events, runs, arrival."""

from __future__ import annotations

from typing import Any

import pytest

from bench.freshness_stages import (
    STAGES,
    Read,
    ReadRecorder,
    RunTimes,
    describe_stages,
    events_from_api,
    runs_from_api,
    stages,
    timeline,
)

pytestmark = pytest.mark.unit

LOG = "9002" + "0" * 51 + "5"


def test_a_log_the_watcher_saw_goes_through_every_stage_and_the_stages_add_up() -> None:
    reads = [Read(101.0, "9002" + "0" * 52, None), Read(106.0, "9002" + "0" * 52, LOG)]
    runs = [
        RunTimes("r0", "asset_triggered", 90.0, 90.5, 104.0),
        RunTimes("r1", "asset_triggered", 110.0, 111.0, 115.0),
    ]

    split = stages(LOG, 100.0, 114.0, reads, [95.0, 108.0], runs)

    assert split == [6.0, 2.0, 2.0, 1.0, 3.0]
    assert sum(split) == 14.0


def test_a_log_the_run_read_first_spends_nothing_between_the_read_and_the_run() -> None:
    reads = [Read(103.0, "9002" + "0" * 52, LOG)]
    runs = [RunTimes("r0", "asset_triggered", 100.5, 101.0, 104.0)]

    assert stages(LOG, 100.0, 103.5, reads, [100.2], runs) == [3.0, 0.0, 0.0, 0.0, 0.5]


def test_without_reads_events_or_runs_the_whole_span_is_the_first_stage() -> None:
    assert stages(LOG, 100.0, 130.0, [], [], []) == [30.0, 0.0, 0.0, 0.0, 0.0]


def test_the_api_answers_become_moments_and_runs_without_a_creation_are_left_out() -> None:
    found: list[dict[str, Any]] = [
        {"dag_run_id": "b", "run_type": "asset_triggered", "queued_at": "2026-12-04T10:00:10Z", "start_date": None},
        {
            "dag_run_id": "a",
            "run_type": "scheduled",
            "queued_at": "2026-12-04T10:00:00+00:00",
            "start_date": "2026-12-04T10:00:01+00:00",
            "end_date": "2026-12-04T10:00:05+00:00",
        },
        {"dag_run_id": "c", "run_type": "manual", "queued_at": None},
    ]

    runs = runs_from_api(found)

    assert [r.run_id for r in runs] == ["a", "b"]
    assert runs[0].ended is not None
    assert runs[0].started is not None
    assert runs[0].ended - runs[0].started == 4.0
    assert runs[1].started is None
    assert events_from_api([{"timestamp": "2026-12-04T10:00:01Z"}, {"timestamp": "2026-12-04T10:00:00Z"}]) == [
        1796378400.0,
        1796378401.0,
    ]


def test_the_description_gives_each_stage_and_the_tail_and_the_timeline_marks_the_read_that_showed_the_log() -> None:
    per_log = [[1.0, 0.0, 0.0, 0.0, 1.0]] * 19 + [[20.0, 5.0, 1.0, 0.0, 2.0]]
    totals = [sum(s) for s in per_log]

    lines = describe_stages(per_log, totals)

    assert [line.split(":")[0] for line in lines] == list(STAGES)
    assert lines[0].endswith("20.0s on average in the slowest 1 logs (5%)")
    assert describe_stages([], []) == ["no log to split into stages"]
    text = timeline(LOG, 100.0, 110.0, [Read(102.0, "9002" + "0" * 52, LOG)], [103.0], [])
    assert "reads at +2.0*" in text
    assert "asset events at +3.0" in text


class _State:
    def checkpoint(self, from_id: str, take: int) -> list[dict[str, Any]]:
        return [{"log_id": LOG}][:take]


def test_the_recorder_records_each_read_while_installed_and_puts_the_read_back() -> None:
    state = _State()
    recorder = ReadRecorder(state)

    recorder.install()
    assert state.checkpoint("9002" + "0" * 52, 100) == [{"log_id": LOG}]
    state.checkpoint("9002" + "0" * 52, 0)
    recorder.remove()
    state.checkpoint("9002" + "0" * 52, 100)

    assert [(r.last, r.shows(LOG)) for r in recorder.reads] == [(LOG, True), (None, False)]


def test_a_follow_up_run_has_no_asset_event_so_its_wait_counts_from_the_read_to_its_creation() -> None:
    reads = [Read(101.0, "9002" + "0" * 52, LOG)]
    runs = [RunTimes("drain__x", "manual", 104.0, 105.0, 108.0)]

    assert stages(LOG, 100.0, 106.0, reads, [95.0], runs) == [1.0, 0.0, 3.0, 1.0, 1.0]
