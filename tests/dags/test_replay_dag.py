"""The replay DAG as Airflow runs it (dag.test()): params, mapping in the pipeline's pool, the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.webhook_sink.testing import SinkHandle
from tests.dags.conftest import MetadataVariables, task_states
from tests.fixture_types import Configure, RunDag, TenantFactory, WireConnections

pytestmark = pytest.mark.dag

PIPELINE = AUTHENTICATION_API.dag_id


@pytest.fixture
def kept(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    variables: MetadataVariables,
    configure: Configure,
    run_dag: RunDag,
) -> list[str]:
    """Run the pipeline once against a sink answering 400: its 3 batches are kept as dead letters."""
    tenant = auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    configure(max_attempts=1)
    webhook_sink.add_fault(status=400)
    assert run_dag(PIPELINE).state == "failed"
    webhook_sink.clear_faults()
    webhook_sink.reset()
    return sorted(entry_ids(variables))


def letter_files(variables: MetadataVariables) -> list[Path]:
    """The pipeline's dead-letter files in its dead_letter_url."""
    root = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")["dead_letter_url"].removeprefix(
        "file://"
    )
    return sorted((Path(root) / PIPELINE).glob("*.json"))


def entry_ids(variables: MetadataVariables) -> list[str]:
    """The pipeline's dead-letter entry ids."""
    return [f"{PIPELINE}/{path.stem}" for path in letter_files(variables)]


def test_a_replay_run_resends_every_dead_letter_and_removes_them(
    kept: list[str], webhook_sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag
) -> None:
    assert len(kept) == 3
    logs = {log_id for path in letter_files(variables) for log_id in json.loads(path.read_text())["log_ids"]}

    dag_run = run_dag("auth0_webhooks_replay", {"pipeline": PIPELINE, "max_tasks": 2})

    assert dag_run.state == "success"
    states = task_states(dag_run)
    assert [key for key in states if key[0] == "resend"] == [("resend", 0), ("resend", 1)]
    assert states[("report", -1)] == "success"
    assert entry_ids(variables) == []
    assert set(webhook_sink.log_ids()) == logs


def test_a_replay_of_named_entries_leaves_the_others_kept(
    kept: list[str], variables: MetadataVariables, run_dag: RunDag
) -> None:
    dag_run = run_dag("auth0_webhooks_replay", {"pipeline": PIPELINE, "entries": kept[:1]})

    assert dag_run.state == "success"
    assert sorted(entry_ids(variables)) == kept[1:]


def test_a_replay_that_is_still_refused_fails_its_resend_task_and_keeps_the_entries(
    kept: list[str], webhook_sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag
) -> None:
    webhook_sink.add_fault(status=410)

    dag_run = run_dag("auth0_webhooks_replay", {"pipeline": PIPELINE})

    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert {state for (task, _), state in states.items() if task == "resend"} == {"failed"}
    assert states[("report", -1)] != "success"
    assert sorted(entry_ids(variables)) == kept
