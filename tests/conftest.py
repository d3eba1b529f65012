"""Shared fixtures. The Auth0 tenant emulator and webhook sink fixtures come from dev/ as plugins."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

from tests.fixture_types import DefineConnection, WireConnections

if TYPE_CHECKING:
    from dev.auth0_tenant.testing import EmulatorHandle
    from dev.webhook_sink.testing import SinkHandle
    from tests.fakes import ScriptedAdapter

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its settings when first imported: give the test session a throwaway home (never
# ~/airflow) whose DAGs folder is this repository's dags/ (the dag.test() layer parses it).
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="auth0-webhooks-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))

# One hypothesis profile for the whole suite: no per-example deadline and no "too slow" health check,
# since a busy laptop or CI runner makes any example slow now and then; the model layer's profile
# (tests/model/conftest.py) builds on this one and only sets its example counts.
settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")

pytest_plugins = ["dev.auth0_tenant.testing", "dev.webhook_sink.testing", "tests.network"]

# A test that starts a real Airflow (a stack, Celery workers, a fresh virtualenv) waits for runs with
# limits of up to 15 minutes, and its fixtures' start-up counts against pytest-timeout too: on a loaded
# machine the default of 300 s (pyproject) cut such a test off while its own wait was still within limit,
# and 900 s cut off `airflow dags test` of five DAGs (208 s idle) at a load average of 10 to 30. Such
# tests take this one limit, a guard against a hang rather than a speed target (those are in make bench).
REAL_AIRFLOW_MARKERS = ("e2e", "distributed", "package")
REAL_AIRFLOW_TIMEOUT = 1800


LAYER_MARKERS = ("unit", "dev", "model", "dag", "integration", "e2e", "distributed", "package")
"""One of these on every test: ``make test-<layer>`` selects by it, and docs/testing.md counts by it."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse a test that names no layer or several; give tests that run a real Airflow a timeout of 30 minutes
    unless they set their own.

    :raises pytest.UsageError: if a test has no layer marker or more than one (``make test-<layer>`` would miss
        it or run it twice).
    """
    unplaced = [item.nodeid for item in items if sum(1 for m in LAYER_MARKERS if item.get_closest_marker(m)) != 1]
    if unplaced:
        raise pytest.UsageError(
            f"{len(unplaced)} tests carry no layer marker or several (one of {', '.join(LAYER_MARKERS)}; "
            f"add pytestmark = pytest.mark.<layer> to the module): {', '.join(unplaced[:10])}"
        )
    for item in items:
        if item.get_closest_marker("timeout") is None and any(item.get_closest_marker(m) for m in REAL_AIRFLOW_MARKERS):
            item.add_marker(pytest.mark.timeout(REAL_AIRFLOW_TIMEOUT))


@pytest.fixture
def airflow_connection(monkeypatch: pytest.MonkeyPatch) -> DefineConnection:
    """Define Airflow connections as AIRFLOW_CONN_* variables, as the HTTP provider's tests do: no DB."""

    def define(conn_id: str, **fields: object) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))

    return define


ALERTS_URL = "https://hooks.slack.example/services/T0/B0/x"


@pytest.fixture
def alerts_receiver(airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch) -> ScriptedAdapter:
    """The alerts connection ``auth0_alerts_default`` at ALERTS_URL, its requests answered 200 by a scripted adapter."""
    from auth0_log_webhooks.hooks.webhook import WebhookHook
    from tests.fakes import Answer, ScriptedAdapter, mount

    airflow_connection("auth0_alerts_default", conn_type="auth0_webhook", host=ALERTS_URL)
    adapter = ScriptedAdapter(respond=lambda request: Answer(200))
    real = WebhookHook.get_conn

    def get_conn(self: WebhookHook, *args: Any, **kwargs: Any) -> Any:
        session = real(self, *args, **kwargs)
        mount(session, adapter)
        return session

    monkeypatch.setattr(WebhookHook, "get_conn", get_conn)
    return adapter


@pytest.fixture
def signing_secret() -> str:
    """A fresh Standard Webhooks secret shared by the pipeline and the sink."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def wire_connections(airflow_connection: DefineConnection) -> WireConnections:
    """Point auth0_default at an emulator and auth0_webhook_default at a sink (as AIRFLOW_CONN_*)."""

    def wire(
        tenant: EmulatorHandle,
        sink: SinkHandle,
        *,
        secret: str | None = None,
        authorization: str | None = None,
        timeout: float = 5,
    ) -> None:
        host, port = tenant.domain.split(":")
        airflow_connection(
            "auth0_default",
            conn_type="auth0",
            host=host,
            port=int(port),
            login=tenant.client_id,
            password=tenant.client_secret,
            extra={"scheme": "http"},
        )
        extra: dict[str, Any] = {"timeout": timeout, "allow_private_network": "true"}  # the sink is on 127.0.0.1
        if secret:
            extra["signing_secret"] = secret
        airflow_connection(
            "auth0_webhook_default", conn_type="http", host=sink.hook_url, password=authorization, extra=extra
        )

    return wire
