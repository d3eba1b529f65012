"""The CLI's door into a running Airflow, with the defaults (the fetch's delivery lane on).

``airflow dags trigger --conf``, run as a user types it against the stack's AIRFLOW_HOME while its
scheduler runs; ``airflow dags test`` is in test_dags_test_cli.py, a backfill in test_backfill.py.
"""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack
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
    fetch_log = stack.airflow.last_task_log(DAG_ID, run_id, "fetch")
    assert f"in {-(-selected // 50)} batches" in fetch_log  # the conf's batch_size reached the run
    assert "While reading, delivered" in fetch_log
