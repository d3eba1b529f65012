"""The pipeline's steps over real HTTP: emulated tenant -> fetch -> deliver -> commit -> sink."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError, DeliveryIncompleteError
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, DefineConnection, RunPipeline, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


def selected_ids(tenant: EmulatorHandle, after: str | None = None) -> list[str]:
    """The log ids the default filter selects: everything but Management API operations."""
    return [i for i in tenant.all_log_ids(after) if tenant.log(i)["type"] not in ("sapi", "fapi")]


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """An emulated tenant with 2,500 logs and no rate limit."""
    return auth0_tenant_factory(logs=2500, seed=7, rate_limit_per_minute=0, **FIXED_SET)


def test_two_runs_deliver_every_selected_log_exactly_once(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    sink = webhook_sink_factory(secrets=(signing_secret,), authorization="Bearer s3cr3t")
    wire_connections(tenant, sink, secret=signing_secret, authorization="Bearer s3cr3t")

    first = run_pipeline()
    expected = selected_ids(tenant)
    assert first.summary is not None
    assert first.summary["delivered_logs"] == len(expected)
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]

    new_ids = tenant.add_logs(300)
    second = run_pipeline()
    assert second.plan["fetched"] == 300
    assert variables.get(CHECKPOINT) == new_ids[-1]

    summary = sink.summary()
    expected += [i for i in new_ids if tenant.log(i)["type"] not in ("sapi", "fapi")]
    assert sink.log_ids() == expected
    assert summary["duplicate_log_ids"] == 0
    assert summary["bad_signatures"] == 0
    assert summary["statuses"] == {"200": summary["requests"]}


def test_the_checkpoint_passes_unselected_logs_at_the_end(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    sapi = tenant.add_raw_logs([{"type": "sapi", "description": "Update a user"}])
    run_pipeline()
    assert variables.get(CHECKPOINT) == sapi[-1]
    assert sapi[-1] not in webhook_sink.log_ids()


def test_reading_respects_the_rate_limit_without_spending_429s(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
) -> None:
    tenant = auth0_tenant_factory(logs=2000, seed=3, rate_limit_burst=5, rate_limit_per_minute=600, **FIXED_SET)
    wire_connections(tenant, webhook_sink)
    outcome = run_pipeline()
    assert outcome.plan["fetched"] == 2000
    counters = tenant.counters()
    assert counters["rate_limited"] == 0
    assert counters["log_requests"] >= 21  # 2,000 logs, 100 a page, one search for the oldest log


def test_transient_webhook_errors_are_retried_and_nothing_is_duplicated(
    tenant: EmulatorHandle, webhook_sink: SinkHandle, wire_connections: WireConnections, run_pipeline: RunPipeline
) -> None:
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=503, count=3, retry_after="0")
    run_pipeline()
    summary = webhook_sink.summary()
    assert summary["statuses"]["503"] == 3
    assert webhook_sink.log_ids() == selected_ids(tenant)
    assert summary["duplicate_log_ids"] == 0


def test_a_rejected_batch_is_kept_as_a_dead_letter_and_the_run_says_so(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    tmp_path: Path,
) -> None:
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=400, count=1)
    outcome = run_pipeline({"max_logs_per_run": 500})

    assert isinstance(outcome.error, DeadLettersKeptError)
    assert "not delivered (HTTP 400); kept as 1 dead letter." in str(outcome.error)
    fetched = tenant.all_log_ids()[: outcome.plan["fetched"]]
    assert len(fetched) >= 500  # max_logs_per_run stops on the first batch boundary after it
    assert variables.get(CHECKPOINT) == fetched[-1]
    selected = [i for i in fetched if tenant.log(i)["type"] not in ("sapi", "fapi")]
    assert len(selected) % 100 == 0
    assert webhook_sink.log_ids() == selected[100:]
    (kept,) = (tmp_path / "dead" / AUTHENTICATION_API.dag_id).iterdir()
    letter = json.loads(kept.read_text())
    assert letter["log_ids"] == selected[:100]
    assert letter["last_status"] == 400
    assert [log["log_id"] for log in letter["logs"]] == selected[:100]


def test_an_undelivered_chunk_holds_the_checkpoint_before_it_and_the_next_run_resends_the_rest(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    configure: Configure,
) -> None:
    wire_connections(tenant, webhook_sink)
    # One batch per delivery task, and no lane in the fetch (it would send the batches before the tasks do).
    configure(min_batches_per_task=1, max_delivery_tasks=16, deliver_while_fetching=False)
    first = run_pipeline({"max_logs_per_run": 1000}, deliver_if=lambda i: i != 3)
    assert isinstance(first.error, DeliveryIncompleteError)
    assert [c["start"] for c in first.chunks[:4]] == [0, 1, 2, 3]  # one batch per delivery task here
    first_1000 = tenant.all_log_ids()[:1000]
    selected = [i for i in first_1000 if tenant.log(i)["type"] not in ("sapi", "fapi")]
    assert variables.get(CHECKPOINT) == selected[299]  # the last log of batch 2, before the gap

    second = run_pipeline({"max_logs_per_run": 1000})
    assert second.error is None
    summary = webhook_sink.summary()
    assert set(webhook_sink.log_ids()) >= set(selected)
    assert summary["duplicate_log_ids"] > 0  # batches after the gap were sent twice...
    assert summary["duplicates_with_same_webhook_id"] is True  # ...each time with the same webhook-id


def test_the_connection_test_button_reports_good_and_bad_credentials(
    tenant: EmulatorHandle, airflow_connection: DefineConnection
) -> None:
    from auth0_log_webhooks.hooks.auth0 import Auth0Hook, RetryPolicy

    host, port = tenant.domain.split(":")
    common = {
        "conn_type": "auth0",
        "host": host,
        "port": int(port),
        "login": tenant.client_id,
        "extra": {"scheme": "http"},
    }
    airflow_connection("auth0_good", password=tenant.client_secret, **common)
    airflow_connection("auth0_bad", password="not-the-secret", **common)

    assert Auth0Hook("auth0_good").test_connection() == (True, f"Read logs of {tenant.domain}.")
    ok, message = Auth0Hook("auth0_bad", retry=RetryPolicy(give_up_after_seconds=5)).test_connection()
    assert not ok
    assert "refused the client credentials" in message
    assert "not-the-secret" not in message
