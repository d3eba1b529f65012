"""Tracing a log over real HTTP: the emulated tenant, the webhook sink, the steps run by dev/runner.py.

Each test runs the pipeline the real way, then asks the trace what happened to one log, as
``python -m auth0_log_webhooks trace`` does (the last test goes through that command itself): a
delivered log, a log its filters left out, a dead-lettered log (and the same log once replayed), and
a log from before the checkpoint.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from auth0_log_webhooks.delivery.payloads import webhook_id_for
from auth0_log_webhooks.monitoring.trace import PipelineTrace, trace
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from auth0_log_webhooks.wiring.trace_command import refetch
from dev.auth0_tenant.testing import EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, ReplayDeadLetters, RunPipeline, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

DAG_ID = AUTHENTICATION_API.dag_id
PIPELINES = {DAG_ID: AUTHENTICATION_API}
REPO = Path(__file__).resolve().parents[2]


def selected(tenant: EmulatorHandle) -> list[str]:
    """The log ids the default filter selects: all but sapi/fapi."""
    return [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]


def traced(log_id: str, variables: InMemoryVariables) -> PipelineTrace:
    """The trace of one log in the Authentication API pipeline, refetching it from the tenant as the command does."""
    (found,) = trace(log_id, PIPELINES, variables, fetch_log=refetch)
    return found


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs, 286 selected by the default filter: three batches of at most 100."""
    return auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0)


def test_a_delivered_log_names_its_message_and_every_attempt(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=503, count=1)
    outcome = run_pipeline()
    assert outcome.summary is not None
    first_batch = selected(tenant)[:100]

    found = traced(first_batch[42], variables)

    assert found.verdict == "delivered"
    (message,) = found.messages
    assert message.message_id == webhook_id_for(first_batch)
    assert message.run_id == outcome.run.run_id
    assert [(a.attempt, a.status, a.verdict) for a in message.attempts] == [(1, 503, "retry"), (2, 200, "delivered")]
    assert message.attempts[0].count == 100
    assert f"read log {first_batch[42]}" in found.text
    assert f"Message {message.message_id}" in found.text
    assert "HTTP 503" in found.text
    assert "It was delivered at" in found.text


def test_a_log_its_filters_left_out_says_which_filter(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    run_pipeline()
    left_out = next(i for i in tenant.all_log_ids() if tenant.log(i)["type"] in ("sapi", "fapi"))

    found = traced(left_out, variables)

    assert found.verdict == "filtered"
    assert not found.messages
    assert "Its filters left it out" in found.text
    assert "Management API operation" in found.text
    assert left_out not in webhook_sink.log_ids()


def test_a_dead_lettered_log_says_how_to_replay_it_then_that_the_replay_delivered_it(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    replay_dead_letters: ReplayDeadLetters,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=400)
    outcome = run_pipeline()
    assert isinstance(outcome.error, DeadLettersKeptError)
    last_batch = selected(tenant)[200:]
    log_id = last_batch[-1]
    entry = f"{DAG_ID}/{webhook_id_for(last_batch)}"

    found = traced(log_id, variables)

    assert found.verdict == "dead_letter"
    assert found.dead_letters == [entry]
    assert [(a.status, a.verdict) for a in found.messages[0].attempts] == [(400, "permanent")]
    assert "it is a dead letter" in found.text
    assert "auth0_webhooks_replay" in found.text
    assert json.dumps({"pipeline": DAG_ID, "entries": [entry]}) in found.text

    webhook_sink.clear_faults()
    replayed = replay_dead_letters([entry])
    assert replayed.summary is not None
    assert replayed.summary["delivered"] == 1

    again = traced(log_id, variables)
    assert again.verdict == "delivered"
    assert [m.run_id for m in again.messages] == [outcome.run.run_id, replayed.run.run_id]
    assert f"run {replayed.run.run_id})" in again.text


def test_a_log_from_before_the_checkpoint_says_no_run_read_it(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    ids = tenant.all_log_ids()
    configure(start_from=ids[150])
    run_pipeline()
    assert (variables.get(AUTHENTICATION_API.checkpoint_variable) or "") >= ids[-1]

    found = traced(ids[20], variables)

    assert found.verdict == "before_checkpoint"
    assert not found.messages
    assert "is from before pipeline" in found.text
    assert "the first run on record" in found.text
    assert "started reading after it" in found.text
    assert ids[20] not in webhook_sink.log_ids()


def test_the_trace_command_answers_for_a_delivered_log(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    tmp_path: Path,
) -> None:
    wire_connections(tenant, webhook_sink)
    run_pipeline()
    log_id = selected(tenant)[150]
    # Airflow reads AIRFLOW_VAR_* before its metadata DB: the command sees this test's Variables
    names = (AUTHENTICATION_API.config_variable, AUTHENTICATION_API.checkpoint_variable)
    env = {**os.environ, **{f"AIRFLOW_VAR_{n.upper()}": variables.get(n) or "" for n in names}}
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        line = [sys.executable, "-m", "auth0_log_webhooks", "trace", *args]
        return subprocess.run(line, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)

    done = command(log_id, "--pipeline", DAG_ID)

    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert text.startswith(f"Pipeline {DAG_ID} read log {log_id}"), done.stdout[:500]  # the answer alone
    assert f"Pipeline {DAG_ID} read log {log_id}" in text
    assert f"Message {webhook_id_for(selected(tenant)[100:200])}" in text
    assert "It was delivered at" in text

    refused = command("12345")
    assert refused.returncode == 2
    assert "not an Auth0 log id" in refused.stderr
