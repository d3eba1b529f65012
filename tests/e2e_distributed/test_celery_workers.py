"""The real DAG on a distributed Airflow: two Celery workers, PostgreSQL, staging on S3.

Work spreads over both workers; a worker killed with SIGKILL mid-delivery loses nothing; a worker
that cannot reach the object store fails with an error that says what to fix.
"""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.staging import run_key
from dev.airflow_env import free_port
from tests.e2e_distributed.conftest import (
    BUCKET,
    DAG_ID,
    DEAD_LETTER_URL,
    SPREAD,
    STAGING_URL,
    STORE_CONN_ID,
    DistributedStack,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

WORKERS = {"worker-a", "worker-b"}


def test_tasks_of_one_run_run_on_both_workers_with_staging_only_in_object_storage(
    distributed: DistributedStack,
) -> None:
    before = distributed.fresh_start()
    distributed.tenant.add_logs(1000)
    distributed.sink.state.add_faults({"delay_seconds": 0.3})  # deliveries overlap, so the pool fills both workers
    run_id = distributed.airflow.trigger(DAG_ID, {"batch_size": 50})
    run_prefix = f"staging/{DAG_ID}/{run_key(run_id)}/"
    staged = wait_until(
        lambda: [key for key in distributed.object_store.keys(BUCKET, run_prefix) if "/batches/" in key],
        "the fetch to stage batches on S3",
    )

    assert distributed.airflow.wait_for_run(DAG_ID, run_id, timeout=400) == "success"
    workers = distributed.workers_of(run_id)
    deliveries = {task: worker for task, worker in workers.items() if task.startswith("deliver[")}
    # The fetch's delivery lane sends the first batches itself, as many as it reaches before the last page is read
    # (a number that turns on the machine's speed); the rest of the 20 batches spread over at most 16 tasks (SPREAD).
    assert 2 <= len(deliveries) <= 16, workers
    assert set(deliveries.values()) == WORKERS, deliveries
    assert set(workers.values()) <= WORKERS
    distributed.assert_all_delivered_since(before)
    assert all(key.startswith(f"{run_prefix}g001/batches/") for key in staged), staged[:5]  # fetch's first try
    # The successful run removed its batches and ledger from S3, keeping only its plan and commit record
    # (a retried commit answers from them), and nothing was ever staged on local disk.
    assert sorted(distributed.object_store.keys(BUCKET, run_prefix)) == [
        f"{run_prefix}committed.json",
        f"{run_prefix}plan.json",
    ]
    assert not (distributed.cluster.home / "auth0_log_webhooks").exists()


def test_a_shared_folder_is_the_simple_alternative_to_object_storage(distributed: DistributedStack) -> None:
    shared = distributed.workdir / "shared"  # what an NFS or EFS mount at the same path on every worker is
    config = {"staging_url": f"file://{shared}/staging", "dead_letter_url": f"file://{shared}/dead", **SPREAD}
    distributed.airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(config))
    try:
        before = distributed.fresh_start()
        distributed.tenant.add_logs(600)
        distributed.sink.state.add_faults({"delay_seconds": 0.3})
        run_id = distributed.airflow.trigger(DAG_ID, {"batch_size": 50})
        wait_until(lambda: (shared / "staging" / DAG_ID / run_key(run_id) / "plan.json").exists(), "the plan")
        assert distributed.airflow.wait_for_run(DAG_ID, run_id, timeout=400) == "success"
    finally:
        default = {"staging_url": STAGING_URL, "dead_letter_url": DEAD_LETTER_URL, **SPREAD}
        distributed.airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(default))
    deliveries = distributed.workers_of(run_id, "deliver")
    assert set(deliveries.values()) == WORKERS, deliveries
    distributed.assert_all_delivered_since(before)
    # The commit removed the batches and ledger, keeping the plan and its commit record.
    assert {p.name for p in (shared / "staging" / DAG_ID / run_key(run_id)).iterdir()} == {
        "plan.json",
        "committed.json",
    }


def _delivering(distributed: DistributedStack, run_id: str) -> dict[str, Any] | None:
    """A delivery task instance running on a worker while a request is in flight, if any."""
    if distributed.sink.state.summary()["in_flight"] < 1:
        return None
    for ti in distributed.airflow.task_instances(DAG_ID, run_id):
        if ti["task_id"] == "deliver" and ti["state"] == "running" and ti.get("hostname") in WORKERS:
            return ti
    return None


def test_a_worker_killed_mid_delivery_loses_nothing_and_its_tasks_finish_on_the_other(
    distributed: DistributedStack,
) -> None:
    before = distributed.fresh_start()
    distributed.tenant.add_logs(1500)
    distributed.sink.state.add_faults({"delay_seconds": 1.0})
    run_id = distributed.airflow.trigger(DAG_ID, {"batch_size": 50})
    victim = wait_until(lambda: _delivering(distributed, run_id), "a delivery with a request in flight")
    dead = victim["hostname"]
    wait_until(lambda: distributed.answered() >= 1, "a first batch answered, so the retry has something not to resend")
    try:
        distributed.cluster.stop_worker(dead, signal.SIGKILL)  # the worker, its pool and its tasks die at once
        assert distributed.airflow.wait_for_run(DAG_ID, run_id, timeout=600) == "success"
    finally:
        distributed.cluster.start_worker(dead)
        distributed.cluster.wait_for_workers((dead,))
    retried = next(
        ti
        for ti in distributed.airflow.task_instances(DAG_ID, run_id)
        if ti["task_id"] == "deliver" and ti["map_index"] == victim["map_index"]
    )
    assert retried["try_number"] >= 2, retried
    assert retried["hostname"] in WORKERS - {dead}, retried
    summary = distributed.assert_all_delivered_since(before)  # duplicates share their webhook-id
    assert summary["duplicate_log_ids"] <= 50 * 3, summary  # at most what the dead worker had in flight
    assert distributed.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == distributed.tenant.all_log_ids()[-1]


def test_a_worker_that_cannot_reach_the_object_store_fails_clearly_and_a_healthy_one_delivers(
    distributed: DistributedStack,
) -> None:
    cluster = distributed.cluster
    before = distributed.fresh_start()
    distributed.tenant.add_logs(200)
    unreachable = distributed.object_store.connection(endpoint_url=f"http://127.0.0.1:{free_port()}")
    unreachable["conn_extra"]["config_kwargs"] = {"retries": {"max_attempts": 1}, "connect_timeout": 2}
    conn_env = {
        "conn_type": "aws",
        "login": unreachable["conn_login"],
        "password": unreachable["conn_password"],
        "extra": unreachable["conn_extra"],
    }
    for name in WORKERS:
        cluster.stop_worker(name)
    try:
        # worker-c sees the same Airflow but resolves the store's connection to an endpoint it cannot reach.
        cluster.start_worker("worker-c", {f"AIRFLOW_CONN_{STORE_CONN_ID.upper()}": json.dumps(conn_env)})
        cluster.wait_for_workers(("worker-c",))
        run_id = distributed.airflow.trigger(DAG_ID)
        fetch = wait_until(
            lambda: next(
                (
                    ti
                    for ti in distributed.airflow.task_instances(DAG_ID, run_id)
                    if ti["task_id"] == "fetch" and ti["state"] in ("up_for_retry", "failed")
                ),
                None,
            ),
            "the fetch on worker-c to fail",
        )
        log = distributed.airflow.task_log(DAG_ID, run_id, "fetch", try_number=1)
    finally:
        cluster.stop_worker("worker-c")
        for name in sorted(WORKERS):
            cluster.start_worker(name)
        cluster.wait_for_workers(tuple(sorted(WORKERS)))
    assert fetch["hostname"] == "worker-c"
    assert "StoreUnavailableError" in log, log[-3000:]
    assert f"The staging_url store {STAGING_URL}" in log, log[-3000:]
    assert f"the connection {STORE_CONN_ID}" in log
    assert "could not be used from worker worker-c: " in log  # named as the UI names the task's host
    assert unreachable["conn_password"] not in log
    # The fetch's retry runs on a healthy worker and the run delivers everything.
    assert distributed.airflow.wait_for_run(DAG_ID, run_id, timeout=400) == "success"
    assert distributed.workers_of(run_id, "fetch")["fetch[-1]"] in WORKERS
    distributed.assert_all_delivered_since(before)
