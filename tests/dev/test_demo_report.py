"""``make demo`` says who sent a run's logs (the fetch while it read, the mapped delivery tasks, or both) and what
the webhook, the tenant and the alerts receiver saw, in sentences with their numbers, then the next step.

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

    assert lines[0].startswith(f"run {RUN}: success ")
    assert lines[0].endswith(" s after it was asked for: 1 mapped delivery task")
    assert lines[1] == "  deliver[0] batch 0: success"


SUMMARY = {
    "requests": 53,
    "logs_received": 5068,
    "unique_log_ids": 5068,
    "duplicate_log_ids": 0,
    "webhook_ids": 53,
    "bad_signatures": 0,
    "max_in_flight": 1,
}


def test_what_the_webhook_got_is_two_sentences_with_thousands_separated() -> None:
    assert demo.webhook_lines(SUMMARY) == [
        "the webhook got 5,068 logs in 53 requests (53 webhook ids): 5,068 distinct, 0 duplicates, 0 bad signatures",
        "at most 1 webhook call in flight (the pool auth0_webhooks allows 5: the fetch sends one batch at a time while "
        "it reads, and each delivery task one)",
    ]


def test_the_tenant_line_says_reads_tokens_and_429s_not_a_dict() -> None:
    counters = {"requests": 59, "log_requests": 56, "rate_limited": 0, "tokens_issued": 3, "own_logs": 3}

    line = demo.tenant_line(counters)

    assert line.startswith("the Auth0 tenant emulator served 56 log reads and 3 tokens; it answered 0 429s")
    assert "{" not in line


@pytest.mark.parametrize(
    ("all_runs", "tail"),
    [
        pytest.param(2, ", one per run:", id="the-demo's-runs-only"),
        pytest.param(
            3,
            ", one per run: the demo's 2 and 1 the scheduler started at a 5-minute tick while the demo ran:",
            id="a-tick-added-one",
        ),
    ],
)
def test_the_notices_heading_counts_a_run_a_tick_added(all_runs: int, tail: str) -> None:
    heading = demo.notices_heading(all_runs, 2, all_runs)

    assert heading == f"the alerts receiver got {all_runs} notices from the connection auth0_alerts_default{tail}"


def test_a_demo_that_did_what_it_shows_ends_with_what_happened_and_the_next_step() -> None:
    line = demo.finished_line(70.4, 3, SUMMARY, "2026-12-04 17:35:42 UTC")

    assert line == (
        "The demo took 70 s: 3 runs delivered 5,068 logs (each once) and moved the checkpoint to 2026-12-04 17:35:42 "
        "UTC. Next: `make demo ARGS=--keep` to look at the runs in the Airflow UI, or docs/installing.md to install "
        "the package into your own Airflow."
    )
