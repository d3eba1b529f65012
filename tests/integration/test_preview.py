"""The preview's CLI over real HTTP: it shows the bodies the next run then delivers, and sends nothing itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.preview import main
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from tests.fixture_types import RunPipeline, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

AUTHORIZATION = "Bearer preview-integration-credential"
SETTINGS = [
    pytest.param({}, id="json array"),
    pytest.param({"format": "cloudevents", "batch_size": 7}, id="cloudevents batches"),
    pytest.param({"format": "cloudevents", "send_as_batch": False}, id="one cloudevent per log"),
]


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """An emulated tenant with 400 logs and no rate limit."""
    return auth0_tenant_factory(logs=400, seed=11, rate_limit_per_minute=0, **FIXED_SET)


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_cli_shows_the_bodies_the_next_run_delivers_and_sends_nothing(
    settings: dict[str, object],
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sink = webhook_sink_factory(secrets=(signing_secret,), authorization=AUTHORIZATION)
    wire_connections(tenant, sink, secret=signing_secret, authorization=AUTHORIZATION)
    name = AUTHENTICATION_API.config_variable
    config = {**json.loads(variables.get(name) or "{}"), **settings}
    variables.set(name, json.dumps(config))
    monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", json.dumps(config))  # what the CLI reads, as airflow does

    assert main([AUTHENTICATION_API.dag_id, "--messages", "3"]) == 0
    shown = capsys.readouterr().out

    assert sink.requests() == []
    assert not (tmp_path / "staging").exists()
    assert AUTHORIZATION not in shown
    assert signing_secret not in shown
    assert "nothing was sent, nothing was staged, and the checkpoint stays at none yet" in shown
    outcome = run_pipeline()
    assert outcome.error is None
    delivered = [request["body"] for request in sink.requests()]
    lines = shown.splitlines()
    assert [line for line in lines if line in delivered] == delivered[:3]
    assert "Message 3 of 3:" in shown
    assert "Message 4" not in shown


def test_an_unknown_pipeline_is_named_with_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no_such_pipeline"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("No preview of no_such_pipeline: unknown pipeline 'no_such_pipeline'; known: ")
    assert AUTHENTICATION_API.dag_id in error


def test_the_clis_stdout_is_the_preview_alone_and_airflows_log_lines_go_to_stderr(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    variables: InMemoryVariables,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 4-character Authorization: Airflow logs a warning that it is too short to mask, through its log handler on
    # the stdout it found at import, as it does its other import-time warnings. Nothing is sent, so it is never used.
    sink = webhook_sink_factory(secrets=(signing_secret,), authorization="Bear")
    wire_connections(tenant, sink, secret=signing_secret, authorization="Bear")
    name = AUTHENTICATION_API.config_variable
    monkeypatch.setenv(f"AIRFLOW_VAR_{name.upper()}", variables.get(name) or "{}")

    command = [sys.executable, "-m", "auth0_log_webhooks", "preview", AUTHENTICATION_API.dag_id, "--messages", "2"]
    shown = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "Skipping masking for a secret as it's too short" in shown.stderr  # kept, where a person looks for it
    assert shown.stdout.startswith(f"Preview of {AUTHENTICATION_API.dag_id}: nothing was sent"), shown.stdout[:500]
    assert "Skipping masking" not in shown.stdout
    assert "Message 2 of 2:" in shown.stdout
    assert sink.requests() == []
