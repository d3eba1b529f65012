"""Reconciliation over real HTTP: runs that filter, deliver, keep dead letters and fail still account for every
log read; a log lost inside the pipeline raises the reconciliation alarm in the daily report."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from auth0_log_webhooks.monitoring.reconciliation import counts_of
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.staging import Stager
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from auth0_log_webhooks.wiring.alarm_dags import send_daily_report
from dev.auth0_tenant.testing import FIXED_SET
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, RunPipeline, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}
Events = list[tuple[datetime, Mapping[str, Any]]]


def report(variables: InMemoryVariables, events: Events) -> tuple[str, list[Mapping[str, object]]]:
    """Send the daily report of these asset events; return its text and every notice sent."""
    sent: list[Mapping[str, object]] = []

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append(payload)
        return True

    text = send_daily_report(PIPELINES, lambda pipeline: events, variables=variables, send=send)
    return text, sent


def test_runs_that_filter_keep_dead_letters_and_fail_reconcile_to_zero(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    variables: InMemoryVariables,
) -> None:
    tenant = auth0_tenant_factory(logs=600, seed=23, rate_limit_per_minute=0, **FIXED_SET)
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, max_attempts=1)
    events: Events = []

    webhook_sink.add_fault(status=400, count=2)  # two batches refused for good: dead letters, the run fails
    first = run_pipeline()
    assert isinstance(first.error, DeadLettersKeptError)
    webhook_sink.clear_faults()
    tenant.add_logs(120)
    second = run_pipeline()
    assert second.error is None
    events += [(datetime.now(UTC), extra) for extra in second.record.extras]

    for outcome in (first, second):
        assert outcome.summary is not None or outcome.error is not None
    counts = counts_of(second.record.extras[0])
    assert counts is not None
    assert counts.read == second.plan["fetched"]
    assert counts.filtered > 0  # the default filter leaves out sapi and fapi
    assert counts.remainder == 0
    text, sent = report(variables, events)
    assert "Reconciliation of 2 runs: " in text
    assert "every log read is accounted for" in text
    assert " 100 dead-lettered" in text  # the two refused batches of 50
    assert [notice["event"] for notice in sent] == ["daily_report"]


def test_a_log_lost_inside_the_pipeline_raises_the_reconciliation_alarm(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant = auth0_tenant_factory(logs=300, seed=29, rate_limit_per_minute=0, **FIXED_SET)
    wire_connections(tenant, webhook_sink)
    flush = Stager._flush

    def losing_one(self: Stager, manifest: Any, batch: list[Any]) -> None:  # a planted intake bug
        flush(self, manifest, batch[:-1] if manifest.batches == [] else batch)

    monkeypatch.setattr(Stager, "_flush", losing_one)
    outcome = run_pipeline()
    assert outcome.error is None  # every check of the run passes: the ledger matches the plan
    events: Events = [(datetime.now(UTC), extra) for extra in outcome.record.extras]

    text, sent = report(variables, events)

    assert "+1 unaccounted" in text
    alarms = [notice for notice in sent if notice["event"] == "reconciliation_alarm"]
    assert len(alarms) == 1
    alarm = str(alarms[0]["text"])
    assert alarm.startswith(
        f"Reconciliation alarm: {AUTHENTICATION_API.dag_id}'s runs of the last 24 hours have 1 log read and not "
        "accounted for: "
    )
    assert f"trigger {AUTHENTICATION_API.dag_id} with start_from set to where that run's fetch started" in alarm
