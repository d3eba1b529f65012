"""Pipelines from the file: the Management API kind and PII rules, over real HTTP against the emulator and sink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import MANAGEMENT_API, Pipeline
from auth0_log_webhooks.pipelines.pii import MASK, PiiRule, keyed_hash
from auth0_log_webhooks.run.variables import InMemoryVariables
from dev.auth0_tenant.testing import EmulatorHandle
from dev.runner import run_pipeline
from tests.fixture_types import DefineConnection, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

PII_KEY = "pii-hash-key-" + "9" * 32


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """800 logs over a day, no rate limit."""
    return auth0_tenant_factory(logs=800, seed=5, history_days=1, rate_limit_per_minute=0)


def storage(tmp_path: Path, pipeline: Pipeline, **settings: Any) -> InMemoryVariables:
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead", **settings}
    return InMemoryVariables({pipeline.config_variable: json.dumps(config)})


@pytest.mark.parametrize("add_log_id", [False, True], ids=["the original's payload", "add_log_id"])
def test_the_management_pipeline_sends_only_calls_to_the_chosen_endpoints_as_date_request_response(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    airflow_connection: DefineConnection,
    wire_connections: WireConnections,
    signing_secret: str,
    tmp_path: Path,
    add_log_id: bool,
) -> None:
    sink = webhook_sink_factory(secrets=(signing_secret,))
    wire_connections(tenant, sink)  # auth0_default; the authentication pipeline's webhook is not used
    airflow_connection(
        MANAGEMENT_API.webhook_conn_id,
        conn_type="http",
        host=sink.hook_url,
        extra={"signing_secret": signing_secret, "allow_private_network": "true"},  # the sink is on 127.0.0.1
    )
    settings = {"add_log_id": True} if add_log_id else {}
    variables = storage(tmp_path, MANAGEMENT_API, api_endpoints="users, connections", **settings)

    outcome = run_pipeline(MANAGEMENT_API, variables)

    assert outcome.error is None
    logs = [tenant.log(i) for i in tenant.all_log_ids()]
    expected = [
        log
        for log in logs
        if log["type"] in ("sapi", "fapi")
        and log.get("details", {})
        .get("request", {})
        .get("path", "")
        .startswith(("/api/v2/users", "/api/v2/connections"))
        and not log["details"]["request"]["path"].startswith("/api/v2/users-")
    ]
    assert 0 < len(expected) < len([log for log in logs if log["type"] in ("sapi", "fapi")])
    assert sink.summary()["bad_signatures"] == 0
    # Exactly the original extension's {date, request, response}; log_id only when add_log_id asks for it.
    payloads = [
        {"date": log["date"], "request": log["details"]["request"], "response": log["details"]["response"]}
        | ({"log_id": log["log_id"]} if add_log_id else {})
        for log in expected
    ]
    received = [item for request in sink.requests() for item in json.loads(request["body"])]
    assert sorted(map(json.dumps, received)) == sorted(map(json.dumps, payloads))
    assert sorted(sink.log_ids()) == sorted(log["log_id"] for log in expected if add_log_id)
    assert variables.get(MANAGEMENT_API.checkpoint_variable) == logs[-1]["log_id"]


def test_pii_is_masked_hashed_or_removed_before_staging_so_no_raw_value_rests_anywhere(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    airflow_connection: DefineConnection,
    wire_connections: WireConnections,
    signing_secret: str,
    tmp_path: Path,
) -> None:
    pipeline = Pipeline(
        dag_id="tenant_pii",
        title="PII",
        pii=(
            PiiRule("**.user_name", "hash"),
            PiiRule("**.email", "mask"),
            PiiRule("**.ip", "remove"),
            PiiRule("**.client_ip", "remove"),
        ),
        pii_key_conn_id="pii_key",
    )
    # The emulator's own token-exchange logs carry ip 127.0.0.1, which is also the tenant's hostname
    # (not personal data) in every log: it would match as a "raw value" everywhere.
    tenant.log_own_traffic(False)
    sink = webhook_sink_factory(secrets=(signing_secret,))
    wire_connections(tenant, sink, secret=signing_secret)
    airflow_connection("pii_key", conn_type="generic", password=PII_KEY)
    variables = storage(tmp_path, pipeline, batch_size=50, max_attempts=1)
    sink.add_fault(status=400, count=2)  # two batches refused for good: dead letters

    # Chunk 0 is never delivered, so its batches stay staged (as after a crash) for this test to read.
    outcome = run_pipeline(pipeline, variables, deliver_if=lambda chunk: chunk != 0)

    assert outcome.error is not None
    selected = [tenant.log(i) for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]
    raw = {log["user_name"] for log in selected if log.get("user_name")} | {
        log["ip"] for log in selected if log.get("ip")
    }
    raw |= {"ops@example.com"}
    assert len(raw) > 20
    staged = "\n".join(p.read_text() for p in (tmp_path / "staging").rglob("*.jsonl"))
    dead = "\n".join(p.read_text() for p in (tmp_path / "dead").rglob("*.json"))
    bodies = "\n".join(request["body"] for request in sink.requests())
    assert staged
    assert dead
    assert bodies
    for where, text in (("staging", staged), ("dead letters", dead), ("the receiver", bodies)):
        leaked = sorted(value for value in raw if value in text)
        assert not leaked, f"{len(leaked)} raw values in {where}, e.g. {leaked[:3]}"
    delivered = [item for request in sink.requests() for item in json.loads(request["body"])]
    by_id = {log["log_id"]: log for log in selected}
    with_name = [item for item in delivered if by_id[item["log_id"]].get("user_name")]
    assert with_name
    for item in with_name:  # stable and keyed: receivers can join on it, and it is not a plain digest
        assert item["user_name"] == keyed_hash(by_id[item["log_id"]]["user_name"], PII_KEY.encode())
        assert "ip" not in item
    assert MASK in bodies
