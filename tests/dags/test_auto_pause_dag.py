"""Auto-pause as Airflow runs the DAG (dag.test()): a paused pipeline's runs skip and succeed; resume catches up."""

from __future__ import annotations

import json

import pytest

from auth0_log_webhooks.delivery.auto_pause import state_variable
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.wiring.metadata_variables import MetadataVariables as ResumeVariables
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.dags.conftest import MetadataVariables, task_states
from tests.fixture_types import Configure, RunDag, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.dag

DAG_ID = AUTHENTICATION_API.dag_id
STATE = state_variable(DAG_ID)


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs over the last day, no rate limit."""
    return auth0_tenant_factory(logs=300, seed=31, history_days=1, rate_limit_per_minute=0, **FIXED_SET)


@pytest.fixture
def sink(tenant: EmulatorHandle, webhook_sink_factory: SinkFactory, wire_connections: WireConnections) -> SinkHandle:
    """The sink wired as auth0_webhook_default (and the tenant as auth0_default)."""
    handle = webhook_sink_factory()
    wire_connections(tenant, handle)
    return handle


def test_a_paused_pipelines_runs_skip_and_succeed_and_resume_delivers_from_the_checkpoint(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag, configure: Configure
) -> None:
    ids = tenant.all_log_ids()
    variables.set(AUTHENTICATION_API.checkpoint_variable, ids[-120])
    configure(batch_size=50, pause_after_failures=2)
    sink.add_fault(status=401)

    assert run_dag(DAG_ID).state == "failed"
    assert json.loads(variables.get(STATE) or "{}")["failing_messages"] == 1
    assert run_dag(DAG_ID).state == "failed"
    assert json.loads(variables.get(STATE) or "{}")["paused_at"]
    requests = len(sink.requests())

    paused = run_dag(DAG_ID)

    assert paused.state == "success"  # not a red run every 5 minutes
    states = task_states(paused)
    assert (states[("fetch", -1)], states[("commit", -1)]) == ("skipped", "skipped")
    assert {state for (task, _), state in states.items() if task == "deliver"} == {"skipped"}
    assert len(sink.requests()) == requests
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) == ids[-120]

    sink.clear_faults()
    ResumeVariables().delete(STATE)  # what the CLI and the health page's button do
    resumed = run_dag(DAG_ID)

    assert resumed.state == "success"
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) == ids[-1]
    expected = [i for i in ids[-119:] if tenant.log(i)["type"] not in ("sapi", "fapi")]
    assert sorted(sink.log_ids()) == expected  # each once: nothing was sent while failing or paused
