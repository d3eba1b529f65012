"""The Authentication API webhooks DAG through a real scheduler, executor and pool."""

from __future__ import annotations

import json
import re

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.airflow_env import AirflowStandalone
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id
POOL_SLOTS = 5  # airflow_settings.yaml
LABEL = re.compile(r"batch(es)? \d+(-\d+)?: ([\d,]+) logs?, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(-\S+)? UTC")


def logs_in(labels: list[str]) -> int:
    """Sum the log counts the delivery tasks' labels show (``batches 4-6: 1,300 logs, <dates> UTC``)."""
    total = 0
    for label in labels:
        match = LABEL.fullmatch(label)
        assert match, f"not a delivery task label: {label!r}"
        total += int(match.group(3).replace(",", ""))
    return total


def delivered_by_tasks(airflow: AirflowStandalone, run_id: str) -> list[str]:
    """The labels of the run's delivery tasks that ran (none when the fetch's lane sent every batch)."""
    return [
        ti["rendered_map_index"]
        for ti in airflow.task_instances(DAG_ID, run_id)
        if ti["task_id"] == "deliver" and ti["state"] == "success"
    ]


CARRIED = re.compile(r"Earlier tries of this run's fetch already delivered ([\d,]+) logs?")


def delivered_by_lane(airflow: AirflowStandalone, run_id: str) -> int:
    """The logs the fetch's delivery lane sent while it read, in any try of the fetch.

    The last try's report (what the fetch kept for the commit) counts what that try sent. A fetch Airflow
    retried (a reset after a missed heartbeat on a loaded machine) does not send again the batches an
    earlier try's lane settled: its report counts them as ``skipped`` batches, and its log says how many
    logs they held.
    """
    report = airflow.lane_report(DAG_ID, run_id)
    if not report:
        return 0
    sent = int(report["delivered_logs"])
    if not report["skipped"]:
        return sent
    said = airflow.last_task_log(DAG_ID, run_id, "fetch")
    carried = CARRIED.search(said)
    assert carried, f"the fetch's last try passed over {report['skipped']} batches; its log: {said}"
    return sent + int(carried.group(1).replace(",", ""))


def test_two_runs_deliver_each_log_once_and_the_pool_bounds_the_calls_in_flight(stack: Stack) -> None:
    airflow, sink = stack.airflow, stack.sink
    before = stack.fresh_start()
    stack.tenant.add_logs(3000)  # the run on unpause delivered the tenant's history already
    # Slow answers and small batches: ~4 s of requests per task, so deliveries overlap as much as the pool allows.
    sink.state.add_faults({"delay_seconds": 1.0})
    # More delivery tasks than slots (the default is one per slot): the pool, not the task count, bounds the calls.
    # One task per 5 batches: the fetch's lane sends a few of the ~60 while it reads and leaves over 25 to the tasks.
    config = airflow.variable(AUTHENTICATION_API.config_variable) or "{}"  # the stack always sets it
    airflow.set_variable(
        AUTHENTICATION_API.config_variable,
        json.dumps({**json.loads(config), "max_delivery_tasks": 16, "min_batches_per_task": 5}),
    )
    try:
        first = airflow.trigger(DAG_ID, {"batch_size": 50})
        assert airflow.wait_for_run(DAG_ID, first) == "success"
    finally:
        airflow.set_variable(AUTHENTICATION_API.config_variable, config)
    summary = stack.assert_all_delivered_since(before)
    assert summary["duplicate_log_ids"] <= stack.allowed_duplicates(DAG_ID, first, batch_size=50)
    assert summary["max_in_flight"] == POOL_SLOTS  # more tasks than slots want to call at once: the pool bounds them
    first_delivered = summary["unique_log_ids"]
    last = stack.tenant.all_log_ids()[-1]
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == last

    sink.state.clear_faults()
    new = stack.tenant.add_logs(400)
    second = airflow.trigger(DAG_ID)
    assert airflow.wait_for_run(DAG_ID, second) == "success"
    duplicates_before = summary["duplicate_log_ids"]
    summary = stack.assert_all_delivered_since(before)
    assert summary["unique_log_ids"] == len(stack.selected_after(before))
    assert summary["duplicate_log_ids"] - duplicates_before <= stack.allowed_duplicates(DAG_ID, second, batch_size=100)
    assert summary["max_in_flight"] <= POOL_SLOTS
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == new[-1]

    labels = delivered_by_tasks(airflow, first)
    # One delivery task per 5 batches (min_batches_per_task) of 50 logs the lane left, more tasks than pool slots.
    assert POOL_SLOTS < len(labels) <= 16
    assert all(LABEL.fullmatch(label) for label in labels), labels
    # Each log once: by the fetch's delivery lane while it read, or by the delivery task whose label counts it.
    assert delivered_by_lane(airflow, first) + logs_in(labels) == first_delivered
    # About 390 selected, 4 batches of 100: fewer than min_batches_per_task (10), so the lane sends them all.
    assert delivered_by_tasks(airflow, second) == []
    assert delivered_by_lane(airflow, second) == len(
        [i for i in new if stack.tenant.log(i)["type"] not in ("sapi", "fapi")]
    )


def test_a_100000_log_backlog_is_delivered_in_one_bounded_run(stack: Stack) -> None:
    before = stack.fresh_start()
    stack.tenant.set_rate_limit(10, 0)  # unthrottled: this test is about size, not the rate limit
    try:
        stack.tenant.add_logs(100_000)
        # Whatever earlier tests left plus 100,000: one run, so lift the default cap of 100,000 a run.
        run_id = stack.airflow.trigger(DAG_ID, {"max_logs_per_run": 200_000})
        assert stack.airflow.wait_for_run(DAG_ID, run_id, timeout=900) == "success"
    finally:
        stack.tenant.set_rate_limit(10, 100)
    summary = stack.assert_all_delivered_since(before)
    assert summary["duplicate_log_ids"] <= stack.allowed_duplicates(DAG_ID, run_id, batch_size=100)
    # Over 1,000 batches: the fetch's lane sends what it can while it reads, one mapped task per slot (5) the rest.
    assert len(delivered_by_tasks(stack.airflow, run_id)) == 5
    assert delivered_by_lane(stack.airflow, run_id) > 0
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]
