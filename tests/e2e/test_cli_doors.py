"""The CLI's doors into a running Airflow, with the defaults (the fetch's delivery lane on).

``airflow dags trigger --conf`` and ``airflow backfill create``, run as a user types them against the
stack's AIRFLOW_HOME while its scheduler runs; ``airflow dags test`` is in test_dags_test_cli.py.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack, wait_for_runs
from tests.e2e.test_authentication_api_dag import delivered_by_lane, delivered_by_tasks, logs_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id


def airflow_cli(stack: Stack, *args: str) -> str:
    """Run ``airflow *args`` in the stack's environment; return its output.

    :raises AssertionError: if it exits non-zero (with the end of its output).
    """
    command = [str(Path(stack.airflow.python).parent / "airflow"), *args]
    done = subprocess.run(command, env=stack.airflow.env(), capture_output=True, text=True, timeout=300, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-2000:]
    return output


def test_airflow_dags_trigger_with_conf_delivers_each_log_once_with_the_runs_batch_size(stack: Stack) -> None:
    before = stack.fresh_start()
    stack.tenant.add_logs(1200)
    run_id = f"cli_trigger_{datetime.now():%H%M%S}"

    airflow_cli(stack, "dags", "trigger", DAG_ID, "--conf", json.dumps({"batch_size": 50}), "--run-id", run_id)

    assert stack.airflow.wait_for_run(DAG_ID, run_id, timeout=300) == "success"
    summary = stack.assert_all_delivered_since(before)
    assert summary["duplicate_log_ids"] <= stack.allowed_duplicates(DAG_ID, run_id, batch_size=50)
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]
    selected = len(stack.selected_after(before))
    # The lane sent while the fetch read; delivery tasks, if any, the batches it left: each log once between them.
    assert delivered_by_lane(stack.airflow, run_id) + logs_in(delivered_by_tasks(stack.airflow, run_id)) == selected
    fetch_log = stack.airflow.task_log(DAG_ID, run_id, "fetch")
    assert f"in {-(-selected // 50)} batches" in fetch_log  # the conf's batch_size reached the run
    assert "While reading, delivered" in fetch_log


def test_airflow_backfill_create_delivers_the_logs_dated_in_its_day_and_leaves_the_checkpoint(stack: Stack) -> None:
    before = stack.fresh_start()
    # The tenant's logs go back three days: the oldest, partial day has no run yet (test_backfill.py takes the next).
    day = datetime.fromisoformat(stack.tenant.log(stack.tenant.all_log_ids()[-1])["date"][:10]) - timedelta(days=3)
    start, end = f"{day:%Y-%m-%d}", f"{day + timedelta(days=1):%Y-%m-%d}"
    expected = [log_id for log_id in stack.selected_after(None) if start <= stack.tenant.log(log_id)["date"][:10] < end]
    assert expected, f"the tenant has no log dated {start}"
    runs = len(stack.airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"run_type": "backfill"})["dag_runs"])

    airflow_cli(stack, "backfill", "create", "--dag-id", DAG_ID, "--from-date", start, "--to-date", start)

    run_ids = wait_for_runs(stack.airflow, DAG_ID, runs + 1, run_type="backfill")
    (run_id,) = [r for r in run_ids if start in r]
    assert stack.airflow.wait_for_run(DAG_ID, run_id, timeout=300) == "success"
    assert sorted(stack.sink.state.log_ids()) == sorted(expected)
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == before
    assert delivered_by_lane(stack.airflow, run_id) + logs_in(delivered_by_tasks(stack.airflow, run_id)) == len(
        expected
    )
