"""A backfill through the scheduler: the logs dated in its window, delivered again, checkpoint untouched."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack, wait_for_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id


def test_a_backfill_delivers_the_logs_dated_in_its_day_and_leaves_the_checkpoint(stack: Stack) -> None:
    before = stack.fresh_start()
    assert before, "the run on unpause set a checkpoint"
    # The tenant's logs go back three days; the run on unpause covered yesterday's interval, so
    # backfill the day before it.
    day = datetime.fromisoformat(stack.tenant.log(stack.tenant.all_log_ids()[-1])["date"][:10])
    day -= timedelta(days=2)
    stack.airflow.api(
        "POST",
        "/backfills",
        json={
            "dag_id": DAG_ID,
            "from_date": f"{day:%Y-%m-%d}T00:00:00Z",
            "to_date": f"{day:%Y-%m-%d}T00:00:00Z",
            "max_active_runs": 1,
            "reprocess_behavior": "none",
        },
    )
    (run_id,) = wait_for_runs(stack.airflow, DAG_ID, 1, run_type="backfill")
    assert stack.airflow.wait_for_run(DAG_ID, run_id, timeout=600) == "success"

    start, end = f"{day:%Y-%m-%d}", f"{day + timedelta(days=1):%Y-%m-%d}"
    expected = [log_id for log_id in stack.selected_after(None) if start <= stack.tenant.log(log_id)["date"][:10] < end]
    assert expected
    assert sorted(stack.sink.state.log_ids()) == sorted(expected)
    assert stack.airflow.variable(AUTHENTICATION_API.checkpoint_variable) == before
