"""Runs with "Trigger DAG w/ config" params, through the real DAG (dag.test()): nothing they do loses a log.

A run whose params change what is selected (log_types, log_level) or where reading starts
(start_from) is a one-off run: it delivers and leaves the checkpoint alone. A start_from in the
future is refused. The scheduled runs after them deliver every log after the checkpoint.
"""

from __future__ import annotations

from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.dags.conftest import MetadataVariables, task_states
from tests.dags.test_pipeline_dag import selected
from tests.fixture_types import RunDag, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.dag

DAG_ID = AUTHENTICATION_API.dag_id
CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """1,500 logs over the last 2 days, no rate limit."""
    return auth0_tenant_factory(logs=1500, seed=29, history_days=2, rate_limit_per_minute=0, **FIXED_SET)


@pytest.fixture
def sink(tenant: EmulatorHandle, webhook_sink_factory: SinkFactory, wire_connections: WireConnections) -> SinkHandle:
    handle = webhook_sink_factory()
    wire_connections(tenant, handle)
    return handle


@pytest.mark.parametrize(
    "override",
    [{"log_types": "s"}, {"log_level": 3}, {"start_from": "ahead"}],
    ids=["log_types", "log_level", "start_from-log-id-ahead"],
)
def test_override_runs_then_a_plain_run_deliver_every_log_after_the_checkpoint(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag, override: dict[str, Any]
) -> None:
    """The issue's scenario: a checkpoint a third of the way into 1,500 logs, two override runs, a plain run."""
    ids = tenant.all_log_ids()
    checkpoint = ids[499]
    variables.set(CHECKPOINT, checkpoint)
    if override.get("start_from") == "ahead":
        override = {"start_from": ids[1200]}

    one_off = run_dag(DAG_ID, override)

    assert one_off.state == "success"
    assert variables.get(CHECKPOINT) == checkpoint  # a one-off run delivers and leaves the checkpoint alone
    assert sink.log_ids(), "the one-off run delivered what it selected"

    future = run_dag(DAG_ID, {"start_from": "2099-01-01T00:00:00Z"})

    assert future.state == "failed"
    assert task_states(future)[("fetch", -1)] == "failed"  # refused: the param is in the future
    assert variables.get(CHECKPOINT) == checkpoint

    plain = run_dag(DAG_ID)

    assert plain.state == "success"
    expected = selected(tenant, checkpoint)
    missing = sorted(set(expected) - set(sink.log_ids()))
    assert missing == [], f"{len(missing)} of {len(expected)} logs after the checkpoint never reached the webhook"
    assert variables.get(CHECKPOINT) == ids[-1]


def test_a_shaping_param_is_an_ordinary_run_that_commits(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-80])

    assert run_dag(DAG_ID, {"batch_size": 10, "max_logs_per_run": 5000}).state == "success"

    assert variables.get(CHECKPOINT) == ids[-1]


@pytest.mark.parametrize(
    "conf",
    [{"staging_url": "file:///tmp/auth0-elsewhere"}, {"api_endpoints": "no-such-endpoint"}],
    ids=["staging_url", "other-kinds-filter"],
)
def test_a_conf_key_the_dag_does_not_declare_fails_the_run_before_it_reads_a_log(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag, conf: dict[str, Any]
) -> None:
    """Airflow merges every conf key into the params; a run that took them delivered 0 and committed."""
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[499])
    reads = tenant.counters()["log_requests"]

    refused = run_dag(DAG_ID, conf)

    assert refused.state == "failed"
    assert task_states(refused)[("fetch", -1)] == "failed"
    assert tenant.counters()["log_requests"] == reads
    assert variables.get(CHECKPOINT) == ids[499]

    assert run_dag(DAG_ID).state == "success"
    assert sorted(sink.log_ids()) == sorted(selected(tenant, ids[499]))


def test_json_typed_conf_runs_as_the_forms_text_would(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run_dag: RunDag
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-100])

    typed = run_dag(DAG_ID, {"send_as_batch": False, "log_types": ["s", "f"], "batch_size": 20})

    assert typed.state == "success"
    wanted = selected(tenant, ids[-100], {"s", "f"})
    assert sorted(sink.log_ids()) == sorted(wanted)
    assert len(sink.requests()) == len(wanted)  # one request per log
    assert variables.get(CHECKPOINT) == ids[-100]  # log_types made it one-off
