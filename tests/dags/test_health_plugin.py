"""The health plugin's FastAPI app over the metadata DB a real run wrote: its numbers are the run's."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from fastapi.testclient import TestClient

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.dags.conftest import MetadataVariables
from tests.fixture_types import DefineConnection, RunDag, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.dag


def load_app() -> ModuleType:
    """The module of the health page's app, which the plugin the package's ``airflow.plugins`` entry point names
    mounts."""
    from auth0_log_webhooks.wiring import health_app

    return health_app


@pytest.fixture
def client(airflow_db: None) -> TestClient:
    """The plugin's app with a signed-in user (the UI's token cookie stands in the real stack)."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi.testclient import TestClient

    page = load_app()
    page.app.dependency_overrides[get_user] = lambda: object()
    # The auth manager is the API server's (not started here): this user may read and change every DAG.
    page.app.dependency_overrides[page.readable_dags] = lambda: set
    page.app.dependency_overrides[page.editable_dags] = lambda: set
    return TestClient(page.app)


def test_the_health_page_shows_the_committed_run_and_the_checkpoint_as_a_date(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    variables: MetadataVariables,
    run_dag: RunDag,
    client: TestClient,
) -> None:
    tenant = auth0_tenant_factory(logs=150, seed=5, history_days=1, rate_limit_per_minute=0)
    sink = webhook_sink_factory()
    wire_connections(tenant, sink)
    variables.set(AUTHENTICATION_API.checkpoint_variable, tenant.all_log_ids()[49])

    assert run_dag(AUTHENTICATION_API.dag_id).state == "success"

    numbers = next(n for n in client.get("/api").json() if n["dag_id"] == AUTHENTICATION_API.dag_id)
    assert numbers["checkpoint"] == tenant.all_log_ids()[-1]
    assert numbers["checkpoint_time"].endswith(" UTC")
    assert {"logs": len(sink.log_ids()), "dead_letters": 0} in [
        {"logs": r["logs"], "dead_letters": r["dead_letters"]} for r in numbers["runs"]
    ]
    page = client.get("/")
    assert page.status_code == 200
    assert numbers["checkpoint_time"] in page.text


def test_the_429s_a_run_waited_out_reach_its_asset_event_and_the_health_page(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    variables: MetadataVariables,
    run_dag: RunDag,
    client: TestClient,
) -> None:
    tenant = auth0_tenant_factory(logs=150, seed=7, history_days=1, rate_limit_per_minute=0)
    sink = webhook_sink_factory()
    wire_connections(tenant, sink)
    variables.set(AUTHENTICATION_API.checkpoint_variable, tenant.all_log_ids()[49])
    tenant.fail_next(2, 429)  # the fetch's first two pages
    sink.add_fault(status=429, count=3, retry_after="1")  # three deliveries
    before = client.get("/api").json()[0]

    assert run_dag(AUTHENTICATION_API.dag_id).state == "success"

    numbers = next(n for n in client.get("/api").json() if n["dag_id"] == AUTHENTICATION_API.dag_id)
    assert numbers["auth0_429_24h"] - before["auth0_429_24h"] == 2
    assert numbers["webhook_429_24h"] - before["webhook_429_24h"] == 3
    page = client.get("/").text
    assert re.search(
        r"429s waited out, last 24 h</div><div class=\"value\">[\d,]+ from Auth0, [\d,]+ from the webhook<", page
    )


def test_the_plugin_registers_its_app_and_a_nav_entry_under_a_prefix_airflow_allows() -> None:
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES

    from auth0_log_webhooks.wiring.health_plugin import Auth0HealthPlugin

    prefix = Auth0HealthPlugin.fastapi_apps[0]["url_prefix"]
    assert not prefix.startswith(tuple(RESERVED_URL_PREFIXES))  # Airflow refuses such a plugin app (logs it)
    assert Auth0HealthPlugin.external_views[0]["href"] == f"{prefix}/"


def test_the_daily_report_dag_reads_the_runs_asset_events_and_sends_the_report(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    airflow_connection: DefineConnection,
    variables: MetadataVariables,
    run_dag: RunDag,
) -> None:
    from dev.alerts_receiver import AlertsReceiver

    tenant = auth0_tenant_factory(logs=120, seed=6, history_days=1, rate_limit_per_minute=0)
    sink = webhook_sink_factory()
    wire_connections(tenant, sink)
    receiver = AlertsReceiver()
    airflow_connection(
        "auth0_alerts_default", conn_type="auth0_webhook", host=receiver.url, extra={"allow_private_network": True}
    )
    try:
        assert run_dag(AUTHENTICATION_API.dag_id).state == "success"
        assert run_dag("auth0_log_webhooks_daily_report").state == "success"
    finally:
        receiver.stop()
    (notice,) = receiver.notices
    assert notice["event"] == "daily_report"
    line = next(
        li for li in notice["text"].splitlines() if li.startswith(f"{AUTHENTICATION_API.dag_id}, last 24 hours: ")
    )
    delivered = re.search(r"last 24 hours: ([\d,]+) logs? delivered", line)
    assert delivered is not None, line
    assert int(delivered.group(1).replace(",", "")) >= len(sink.log_ids())  # the run above counts


def test_the_daily_report_and_the_health_page_count_a_failed_run_and_name_it(
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    airflow_connection: DefineConnection,
    variables: MetadataVariables,
    run_dag: RunDag,
    client: TestClient,
) -> None:
    from dev.alerts_receiver import AlertsReceiver

    tenant = auth0_tenant_factory(logs=120, seed=8, history_days=1, rate_limit_per_minute=0)
    sink = webhook_sink_factory()
    wire_connections(tenant, sink)
    sink.add_fault(status=400)  # every batch is refused: kept as dead letters, the run fails
    receiver = AlertsReceiver()
    airflow_connection(
        "auth0_alerts_default", conn_type="auth0_webhook", host=receiver.url, extra={"allow_private_network": True}
    )
    try:
        failed = run_dag(AUTHENTICATION_API.dag_id)
        assert failed.state == "failed"
        assert run_dag("auth0_log_webhooks_daily_report").state == "success"
    finally:
        receiver.stop()
    report = next(n for n in receiver.notices if n["event"] == "daily_report")
    line = next(li for li in report["text"].splitlines() if li.startswith(f"{AUTHENTICATION_API.dag_id}, "))
    assert re.search(r"in \d+ runs? \(1 failed\); [1-9][\d,]* dead letters? kept", line), line
    assert f"run {failed.run_id}: " in line, line
    numbers = next(n for n in client.get("/api").json() if n["dag_id"] == AUTHENTICATION_API.dag_id)
    assert numbers["failed_runs_24h"] == 1
    assert numbers["last_failure"] in line
