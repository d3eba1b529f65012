"""``make demo`` says who sent a run's logs: the fetch while it read, the mapped delivery tasks, or both.

With the fetch's delivery lane on (the default) a small run maps no delivery task; the demo must not print
a skipped task as if it had delivered, nor "0 mapped delivery tasks" with no word of who sent the logs.
"""

from __future__ import annotations

from typing import Any

import pytest

from dev import demo
from dev.waiting import Waiter

pytestmark = pytest.mark.dev

RUN = "manual__2026-12-04T00:15:24+00:00"


class FinishedRun:
    """Stands in for AirflowStandalone after a run: its task instances and what the fetch's lane sent."""

    def __init__(self, deliver_states: list[str], lane: dict[str, Any] | None) -> None:
        self.lane = lane
        self.tis = [{"task_id": "fetch", "map_index": -1, "state": "success"}] + [
            {"task_id": "deliver", "map_index": i, "state": s, "rendered_map_index": f"batch {i}"}
            for i, s in enumerate(deliver_states)
        ]

    def finished_state(self, dag_id: str, run_id: str) -> str:
        return "success"

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        return self.tis

    def lane_report(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        return self.lane


def said_for(airflow: FinishedRun, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(demo, "say", lines.append)
    waiter = Waiter(60, report=lambda line: None)
    assert demo.report_run(airflow, waiter, RUN, started=0.0) == "success"  # type: ignore[arg-type]
    return lines


def test_a_run_the_lane_sent_whole_says_so_and_lists_no_skipped_task(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = said_for(FinishedRun(["skipped"], {"delivered_logs": 5050, "requests": 51}), monkeypatch)

    assert lines[0].endswith(": the fetch sent 5,050 logs in 51 requests while it read, so no delivery task was needed")
    assert len(lines) == 1  # no "deliver[-1]: skipped" line


def test_a_run_the_lane_left_batches_in_names_both_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = said_for(FinishedRun(["success", "success"], {"delivered_logs": 1, "requests": 1}), monkeypatch)

    assert lines[0].endswith(
        ": the fetch sent 1 log in 1 request while it read, and 2 mapped delivery tasks sent the rest"
    )
    assert lines[1:] == ["  deliver[0] batch 0: success", "  deliver[1] batch 1: success"]


def test_a_run_with_the_lane_off_names_its_delivery_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = said_for(FinishedRun(["success"], None), monkeypatch)

    assert lines[0].startswith(f"run {RUN}: success after ")
    assert lines[0].endswith("s: 1 mapped delivery task")
    assert lines[1] == "  deliver[0] batch 0: success"
