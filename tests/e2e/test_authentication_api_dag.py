"""The Authentication API webhooks DAG through a real scheduler, executor and pool."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.pipelines import AUTHENTICATION_API
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id
POOL_SLOTS = 5  # airflow_settings.yaml


def selected(stack: Stack, after: str | None = None) -> list[str]:
    return [i for i in stack.tenant.all_log_ids(after) if stack.tenant.state.get_log(i)["type"] not in ("sapi", "fapi")]


def test_two_runs_deliver_each_log_once_and_the_pool_bounds_the_calls_in_flight(stack: Stack):
    airflow, sink = stack.airflow, stack.sink
    sink.state.add_faults({"delay_seconds": 0.3})  # slow answers: deliveries overlap as much as the pool allows
    try:
        first = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, first) == "success"
        expected = selected(stack)
        summary = sink.state.summary()
        assert summary["unique_log_ids"] == len(expected)
        assert summary["max_in_flight"] == POOL_SLOTS  # 30 batches of 0.3 s in 16 tasks: the pool is the bound
        last = stack.tenant.all_log_ids()[-1]
        assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == last

        new = stack.tenant.add_logs(400)
        second = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, second) == "success"
    finally:
        sink.state.clear_faults()

    expected += selected(stack, after=last)
    summary = sink.state.summary()
    assert summary["unique_log_ids"] == len(expected)
    assert summary["duplicate_log_ids"] == 0
    assert summary["bad_signatures"] == 0
    assert summary["max_in_flight"] <= POOL_SLOTS
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == new[-1]

    tis = airflow.task_instances(DAG_ID, first)
    labels = [ti["rendered_map_index"] for ti in tis if ti["task_id"] == "deliver"]
    assert len(labels) == 16
    assert all(label.startswith("batches ") and " logs 900" in label for label in labels)


def test_no_secret_appears_in_any_task_log(stack: Stack):
    logs = list((stack.airflow.home / "logs").rglob("*.log"))
    assert logs, "the previous test's runs left task logs"
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in stack.secrets():
            assert secret not in text, f"a secret leaked into {path}"
