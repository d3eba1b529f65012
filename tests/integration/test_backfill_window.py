"""Backfill runs deliver the logs dated in their window and leave the scheduled checkpoint alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, RunPipeline, TenantFactory, WireConnections

pytestmark = pytest.mark.integration


def log_date(log: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(log["date"].replace("Z", "+00:00"))


def test_a_backfill_window_delivers_exactly_the_logs_dated_in_it(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    variables: InMemoryVariables,
    run_pipeline: RunPipeline,
) -> None:
    tenant = auth0_tenant_factory(logs=3000, seed=5, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    logs = [tenant.log(i) for i in tenant.all_log_ids()]
    middle = log_date(logs[1500])
    window = (
        middle.replace(minute=0, second=0, microsecond=0),
        middle.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1),
    )
    variables.set(AUTHENTICATION_API.checkpoint_variable, logs[10]["log_id"])

    outcome = run_pipeline(run_id="backfill__2026-11-25T10:00:00+00:00", window=window)

    expected = [
        log["log_id"] for log in logs if window[0] <= log_date(log) < window[1] and log["type"] not in ("sapi", "fapi")
    ]
    assert expected, "the window should hold some logs"
    assert sorted(webhook_sink.log_ids()) == sorted(expected)
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) == logs[10]["log_id"]  # untouched
    assert outcome.plan["fetched"] < 3000  # read from just before the window to just after it, not everything


def test_a_backfill_window_is_delivered_whole_whatever_max_logs_per_run_says(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    variables: InMemoryVariables,
    run_pipeline: RunPipeline,
    configure: Configure,
) -> None:
    """A backfill run has no next run to continue it: a window of 1,000+ logs and a cap of 200 still delivers all."""
    tenant = auth0_tenant_factory(logs=3000, seed=5, rate_limit_per_minute=0, history_days=1)
    wire_connections(tenant, webhook_sink)
    configure(max_logs_per_run=200, batch_size=50)
    logs = [tenant.log(i) for i in tenant.all_log_ids()]
    start = log_date(logs[1000]).replace(minute=0, second=0, microsecond=0)
    window = (start, start + timedelta(hours=6))

    outcome = run_pipeline(run_id="backfill__2026-11-25T10:00:00+00:00", window=window)

    expected = [
        log["log_id"] for log in logs if window[0] <= log_date(log) < window[1] and log["type"] not in ("sapi", "fapi")
    ]
    assert len(expected) > 2 * 200, "the window should hold more than twice the cap"
    assert outcome.error is None
    assert sorted(webhook_sink.log_ids()) == sorted(expected)
    assert "next run" not in outcome.plan["note"]
