"""The Management API webhooks DAG as Airflow runs it (dag.test()): its own connection, Variables and payload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import MANAGEMENT_API
from tests.dags.conftest import MetadataVariables, task_states
from tests.fixture_types import DefineConnection, RunDag, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.dag


def test_a_run_sends_the_chosen_endpoints_calls_to_its_own_webhook_and_moves_its_own_checkpoint(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    airflow_connection: DefineConnection,
    signing_secret: str,
    variables: MetadataVariables,
    run_dag: RunDag,
    tmp_path: Path,
) -> None:
    tenant = auth0_tenant_factory(logs=600, seed=23, history_days=2, rate_limit_per_minute=0)
    authentication_sink, sink = webhook_sink_factory(), webhook_sink_factory(secrets=(signing_secret,))
    wire_connections(tenant, authentication_sink)
    airflow_connection(
        MANAGEMENT_API.webhook_conn_id,
        conn_type="http",
        host=sink.hook_url,
        extra={"signing_secret": signing_secret, "allow_private_network": "true"},
    )
    storage = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    variables.set(MANAGEMENT_API.config_variable, json.dumps({**storage, "api_endpoints": "users"}))
    variables.written.add(MANAGEMENT_API.checkpoint_variable)  # removed after the test

    dag_run = run_dag(MANAGEMENT_API.dag_id, {"batch_size": 5})

    assert dag_run.state == "success"
    assert task_states(dag_run)[("fetch", -1)] == "success"  # its lane sent every batch, so it committed the run
    assert task_states(dag_run)[("commit", -1)] == "skipped"
    calls = [
        log
        for log in map(tenant.log, tenant.all_log_ids())
        if log["type"] in ("sapi", "fapi")
        and (log.get("details") or {}).get("request", {}).get("path", "").startswith("/api/v2/users")
    ]
    assert calls
    # Exactly the original extension's {date, request, response} per log (no log_id: add_log_id is off).
    bodies = [item for request in sink.requests() for item in json.loads(request["body"])]
    originals = [{"date": log["date"], **{k: log["details"].get(k) for k in ("request", "response")}} for log in calls]
    assert sorted(map(json.dumps, bodies)) == sorted(map(json.dumps, originals))
    assert sink.summary()["bad_signatures"] == 0
    assert authentication_sink.log_ids() == []
    assert variables.get(MANAGEMENT_API.checkpoint_variable) == tenant.all_log_ids()[-1]


def test_a_run_whose_conf_selects_no_endpoint_is_one_off_and_the_next_run_delivers_every_call(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    airflow_connection: DefineConnection,
    variables: MetadataVariables,
    run_dag: RunDag,
    tmp_path: Path,
) -> None:
    """The issue's loss: {"api_endpoints": "no-such-endpoint"} delivered 0, committed, and the next run delivered 0."""
    tenant = auth0_tenant_factory(logs=600, seed=23, history_days=2, rate_limit_per_minute=0)
    sink = webhook_sink_factory()
    wire_connections(tenant, webhook_sink_factory())
    airflow_connection(
        MANAGEMENT_API.webhook_conn_id,
        conn_type="http",
        host=sink.hook_url,
        extra={"allow_private_network": "true"},
    )
    storage = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    variables.set(MANAGEMENT_API.config_variable, json.dumps({**storage, "add_log_id": True}))  # the sink counts ids
    ids = tenant.all_log_ids()
    variables.set(MANAGEMENT_API.checkpoint_variable, ids[299])

    narrowed = run_dag(MANAGEMENT_API.dag_id, {"api_endpoints": "no-such-endpoint"})

    assert narrowed.state == "success"
    assert sink.log_ids() == []
    assert variables.get(MANAGEMENT_API.checkpoint_variable) == ids[299]

    assert run_dag(MANAGEMENT_API.dag_id).state == "success"
    calls = [i for i in ids[300:] if tenant.log(i)["type"] in ("sapi", "fapi")]
    assert calls
    assert sorted(sink.log_ids()) == sorted(calls)
