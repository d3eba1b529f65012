"""Event mode's trigger against a tenant that logs its own traffic: it fires on news, not on itself.

The trigger runs here as the triggerer runs it (its async ``run()``), reading the checkpoint Variable
and the connection through the Task SDK (``AIRFLOW_VAR_*``/``AIRFLOW_CONN_*`` outside Airflow).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from auth0_log_webhooks.event_mode.new_logs import Debounce
from auth0_log_webhooks.event_mode.trigger import Auth0LogsTrigger, tenant_logs_asset
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.auth0_tenant.testing import EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import TenantFactory, WireConnections

pytestmark = pytest.mark.integration

CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


@pytest.fixture
def tenant(
    auth0_tenant_factory: TenantFactory, webhook_sink: SinkHandle, wire_connections: WireConnections
) -> EmulatorHandle:
    """A tenant with its own-traffic logs on (as Auth0), wired as auth0_default."""
    handle = auth0_tenant_factory(logs=50, seed=3, rate_limit_burst=10, rate_limit_per_minute=100)
    wire_connections(handle, webhook_sink)
    return handle


SetCheckpoint = Callable[[str], None]
"""The ``checkpoint`` fixture: set the checkpoint Variable (as ``AIRFLOW_VAR_*``)."""


@pytest.fixture
def checkpoint(monkeypatch: pytest.MonkeyPatch) -> SetCheckpoint:
    def set_to(value: str) -> None:
        monkeypatch.setenv(f"AIRFLOW_VAR_{CHECKPOINT.upper()}", value)

    return set_to


def trigger(**kw: Any) -> Auth0LogsTrigger:
    return Auth0LogsTrigger(auth0_conn_id="auth0_default", checkpoint_variable=CHECKPOINT, **kw)


def events_within(
    watcher: Auth0LogsTrigger, seconds: float, during: Callable[[], object] | None = None
) -> list[dict[str, Any]]:
    """Run the trigger's event loop for ``seconds``; ``during()`` runs once it has polled."""

    async def collect() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []

        async def consume() -> None:
            async for event in watcher.run():
                events.append(event.payload)

        task = asyncio.create_task(consume())
        await asyncio.sleep(seconds / 2)
        if during:
            await asyncio.to_thread(during)
        await asyncio.sleep(seconds / 2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return events

    return asyncio.run(collect())


def test_an_idle_tenant_that_logs_each_token_exchange_fires_no_event(
    tenant: EmulatorHandle, checkpoint: SetCheckpoint
) -> None:
    checkpoint(tenant.all_log_ids()[-1])
    tenant.token()  # someone's earlier run: its seccft log waits after the checkpoint
    events = events_within(trigger(poll_interval=0.2), 2.0)
    assert events == []
    counters = tenant.counters()
    assert counters["tokens_issued"] == 2  # the test's and the trigger's one cached token, not one per poll
    assert counters["log_requests"] >= 5
    assert counters["rate_limited"] == 0


def test_new_logs_fire_one_event_naming_the_first_until_the_checkpoint_moves(
    tenant: EmulatorHandle, checkpoint: SetCheckpoint
) -> None:
    checkpoint(tenant.all_log_ids()[-1])

    events = events_within(trigger(poll_interval=0.2), 2.0, during=lambda: tenant.add_logs(3))

    assert len(events) == 1  # debounced: the run it asked for has not moved the checkpoint
    (event,) = events
    assert event["new_logs_seen"] >= 3
    assert event["first_log_id"] in tenant.all_log_ids()
    assert event["checkpoint"] == tenant.all_log_ids()[49]


def test_poll_once_fires_again_once_the_checkpoint_moved_and_more_arrived(
    tenant: EmulatorHandle, checkpoint: SetCheckpoint
) -> None:
    hook, debounce = Auth0Hook("auth0_default"), Debounce(refire_after=600)
    first = tenant.add_logs(2)
    checkpoint(tenant.all_log_ids()[49])
    assert trigger().poll_once(hook, debounce, now=0.0) is not None
    assert trigger().poll_once(hook, debounce, now=1.0) is None
    checkpoint(first[-1])  # the run committed
    assert trigger().poll_once(hook, debounce, now=2.0) is None  # nothing but its own traffic since
    tenant.add_logs(1)
    fired = trigger().poll_once(hook, debounce, now=3.0)
    assert fired is not None
    assert fired["new_logs_seen"] == 1


def test_a_failing_tenant_does_not_stop_the_watcher(
    tenant: EmulatorHandle, checkpoint: SetCheckpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auth0_log_webhooks.event_mode.trigger.ERROR_PAUSE_SECONDS", 0.1)
    checkpoint("not-a-log-id")
    assert events_within(trigger(poll_interval=0.1), 1.0) == []


def test_the_trigger_round_trips_through_serialize_without_secrets() -> None:
    watcher = tenant_logs_asset(AUTHENTICATION_API).watchers[0].trigger
    classpath, kwargs = watcher.serialize()
    assert classpath == "auth0_log_webhooks.event_mode.trigger.Auth0LogsTrigger"
    assert kwargs == {
        "auth0_conn_id": "auth0_default",
        "checkpoint_variable": CHECKPOINT,
        "poll_interval": 5.0,
        "refire_after": 600.0,
        "pause_variable": f"{AUTHENTICATION_API.dag_id}_auto_pause",
        "reread_after": 60.0,
    }
    assert Auth0LogsTrigger(**kwargs).serialize() == (classpath, kwargs)
