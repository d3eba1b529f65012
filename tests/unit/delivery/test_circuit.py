"""The run's circuit breaker, shared by its delivery tasks through staging."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.delivery.circuit import CircuitOpenError, CircuitTally, RunCircuit

pytestmark = pytest.mark.unit


@pytest.fixture
def tasks(tmp_path: Path) -> list[RunCircuit]:
    """Two delivery tasks' views of one run's circuit (threshold 3), on one clock."""
    clock = itertools.count(1.0)
    path = ObjectStoragePath(f"file://{tmp_path}/circuit")
    return [RunCircuit(path, 3, clock=lambda: float(next(clock))) for _ in range(2)]


def test_failures_in_a_row_across_tasks_open_the_circuit_for_every_task(tasks: list[RunCircuit]) -> None:
    first, second = tasks
    first.failed(0, 0, 503, "gave up: HTTP 503 after 6 attempts")
    second.failed(1, 4, 503, "gave up: HTTP 503 after 6 attempts")

    with pytest.raises(
        CircuitOpenError, match=r"^Webhook answered HTTP 503: stopped sending at batch 2\.\nWhy: 3 failed"
    ):
        first.failed(0, 1, 503, "gave up: HTTP 503 after 6 attempts")
    with pytest.raises(CircuitOpenError, match="HTTP 503"):
        second.check()


def test_a_delivery_by_any_task_ends_the_streak(tasks: list[RunCircuit]) -> None:
    first, second = tasks
    first.failed(0, 0, 500, "gave up")
    first.failed(0, 1, 500, "gave up")
    second.delivered(1)
    second.flush()
    first.failed(0, 2, 500, "gave up")
    first.failed(0, 3, 500, "gave up")

    assert first.state() is None
    first.check()


@pytest.mark.parametrize("status", [401, 403, 410])
def test_a_stop_answer_opens_the_circuit_at_once(tasks: list[RunCircuit], status: int) -> None:
    with pytest.raises(CircuitOpenError, match=rf"^Webhook answered HTTP {status}: stopped sending at batch 8\.\n"):
        tasks[0].failed(0, 7, status, f"permanent: HTTP {status} after 1 attempt")
    state = tasks[1].state()
    assert state is not None
    assert state["status"] == status


def test_the_error_counts_batches_from_1_and_out_of_the_runs_batches_when_the_task_knows_them(tmp_path: Path) -> None:
    path = ObjectStoragePath(f"file://{tmp_path}/circuit")
    with pytest.raises(CircuitOpenError, match=r"^Webhook answered HTTP 401: stopped sending at batch 3 of 10\.\n"):
        RunCircuit(path, 3, batches=10).failed(0, 2, 401, "permanent: HTTP 401 after 1 attempt")
    with pytest.raises(CircuitOpenError, match=r"^Webhook answered HTTP 401: stopped sending at batch 3\.\n"):
        RunCircuit(path, 3).check()  # the fetch's lane, still reading, does not know how many batches


def test_the_tally_counts_the_failures_after_the_last_delivery_across_tasks(tasks: list[RunCircuit]) -> None:
    first, second = tasks
    assert first.tally() == CircuitTally(delivered=False, failures=(), last_status=None)  # nothing sent yet
    first.failed(0, 0, 500, "gave up")
    second.delivered(1)
    second.flush()
    first.failed(0, 1, None, "no answer")
    first.failed(0, 2, 502, "gave up")

    tally = second.tally()

    assert tally.delivered
    assert len(tally.failures) == 2
    assert tally.last_status == 502
