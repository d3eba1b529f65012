"""Crashes through a real scheduler: a delivery task killed with SIGKILL, the whole scheduler killed.

Either way the runs that follow deliver every log, and every duplicate carries its first webhook-id.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id


def running_delivery(stack: Stack, run_id: str) -> dict[str, Any] | None:
    """A delivery task instance that is running and has a request in flight, if any."""
    if stack.sink.state.summary()["in_flight"] < 1:
        return None
    for ti in stack.airflow.task_instances(DAG_ID, run_id):
        if ti["task_id"] == "deliver" and ti["state"] == "running" and ti.get("pid"):
            return ti
    return None


def test_a_delivery_task_killed_mid_run_is_retried_without_resending_what_it_delivered(stack: Stack) -> None:
    before = stack.fresh_start()
    stack.tenant.add_logs(1500)
    stack.sink.state.add_faults({"delay_seconds": 1.0})
    run_id = stack.airflow.trigger(DAG_ID, {"batch_size": 50, "max_logs_per_run": 100000})
    victim = wait_until(lambda: running_delivery(stack, run_id), "a delivery task with a request in flight", every=0.3)
    wait_until(lambda: stack.answered() >= 1, "a first batch answered, so the retry has something not to resend")
    os.kill(victim["pid"], signal.SIGKILL)

    assert stack.airflow.wait_for_run(DAG_ID, run_id, timeout=300) == "success"
    retried = [ti for ti in stack.airflow.task_instances(DAG_ID, run_id) if ti["map_index"] == victim["map_index"]]
    assert retried[0]["try_number"] >= 2
    summary = stack.assert_all_delivered_since(before)
    # Only what was in flight when the task died is sent twice: at most one batch of 50.
    assert summary["duplicate_log_ids"] <= 50
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]


def test_a_scheduler_crash_mid_run_loses_nothing(stack: Stack) -> None:
    before = stack.fresh_start()
    stack.tenant.add_logs(1500)
    stack.sink.state.add_faults({"delay_seconds": 1.0})
    run_id = stack.airflow.trigger(DAG_ID, {"batch_size": 50})
    wait_until(lambda: running_delivery(stack, run_id), "deliveries under way", every=0.3)
    wait_until(lambda: stack.answered() >= 2, "two batches answered before the crash")
    stack.airflow.kill()  # scheduler, executor, workers and API server die at once
    stack.airflow.start()

    state = stack.airflow.wait_for_run(DAG_ID, run_id, timeout=400)
    if state != "success":  # the interrupted run may fail; the next one must pick up after its checkpoint
        follow_up = stack.airflow.trigger(DAG_ID)
        assert stack.airflow.wait_for_run(DAG_ID, follow_up, timeout=300) == "success"
    stack.assert_all_delivered_since(before)
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]
