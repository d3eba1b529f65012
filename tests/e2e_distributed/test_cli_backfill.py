"""``airflow backfill create`` typed at the CLI, on Airflow with PostgreSQL (where the docs send its users).

Beside ``airflow standalone`` the command can meet SQLite's lock (docs/operations.md), so the e2e layer
backfills through the REST API (test_backfill.py); this is the CLI's own door, with a run conf, the
fetch's delivery lane on and staging on S3.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import wait_for_runs
from tests.e2e.test_authentication_api_dag import delivered_by_lane, delivered_by_tasks, logs_in
from tests.e2e.test_cli_doors import airflow_cli
from tests.e2e_distributed.conftest import DAG_ID, DistributedStack

pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def test_airflow_backfill_create_delivers_the_days_logs_with_its_conf_and_leaves_the_checkpoint(
    distributed: DistributedStack,
) -> None:
    before = distributed.fresh_start()
    assert before, "the run on unpause set a checkpoint"
    # The tenant's history goes back three days and the run on unpause covered yesterday: backfill the day before.
    day = datetime.fromisoformat(distributed.tenant.log(distributed.tenant.all_log_ids()[-1])["date"][:10])
    day -= timedelta(days=2)
    start, end = f"{day:%Y-%m-%d}", f"{day + timedelta(days=1):%Y-%m-%d}"
    tenant = distributed.tenant
    expected = [log_id for log_id in distributed.selected_after(None) if start <= tenant.log(log_id)["date"][:10] < end]
    assert len(expected) > 50, "the day holds more than one batch of the conf's size"

    airflow_cli(
        distributed,
        "backfill",
        "create",
        "--dag-id",
        DAG_ID,
        "--from-date",
        start,
        "--to-date",
        start,
        "--max-active-runs",
        "1",
        "--dag-run-conf",
        json.dumps({"batch_size": 50}),
    )

    (run_id,) = wait_for_runs(distributed.airflow, DAG_ID, 1, run_type="backfill")
    assert distributed.airflow.wait_for_run(DAG_ID, run_id, timeout=600) == "success"
    received = distributed.sink.state.log_ids()
    assert sorted(set(received)) == sorted(expected)
    summary = distributed.sink.state.summary()
    assert summary["duplicate_log_ids"] <= distributed.allowed_duplicates(DAG_ID, run_id, batch_size=50), summary
    assert summary["bad_signatures"] == 0
    # The conf reached the backfill's run: its batches hold 50 logs, sent by the fetch's lane or the delivery tasks.
    fetch_log = distributed.airflow.last_task_log(DAG_ID, run_id, "fetch")
    assert f"in {-(-len(expected) // 50)} batches" in fetch_log, fetch_log[-3000:]
    airflow = distributed.airflow
    assert delivered_by_lane(airflow, run_id) + logs_in(delivered_by_tasks(airflow, run_id)) == len(expected)
    # A backfill re-delivers a window; the scheduled runs' checkpoint stays where it was.
    assert distributed.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == before
