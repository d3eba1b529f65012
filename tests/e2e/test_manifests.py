"""Completeness manifests through a real scheduler: the receiver kit, fed what the sink stored, proves the
receiver holds every message, and names exactly the ones the receiver lost; the trace command explains
each (the receiver answered 200 to it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from auth0_log_webhooks.delivery.manifests import chain_variable
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.receiver_kit.completeness import check, render
from auth0_log_webhooks.receiver_kit.receiving import MessageStore
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = AUTHENTICATION_API.dag_id


def trace(stack: Stack, log_id: str) -> str:
    """Run ``python -m auth0_log_webhooks trace`` where Airflow is configured; return its text on one line."""
    done = subprocess.run(
        [sys.executable, "-m", "auth0_log_webhooks", "trace", log_id, "--pipeline", DAG_ID],
        capture_output=True,
        text=True,
        timeout=300,
        env=stack.airflow.env(),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return " ".join(done.stdout.split())


def kit_check(stack: Stack) -> subprocess.CompletedProcess[str]:
    """Run the kit's command as a receiver would, the secret in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "auth0_log_webhooks.receiver_kit", "check", str(stack.received)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "WEBHOOK_SECRET": stack.signing_secret},
    )


def test_the_kit_reports_complete_then_names_exactly_the_three_messages_the_receiver_dropped(stack: Stack) -> None:
    airflow, sink = stack.airflow, stack.sink
    stack.fresh_start()
    config = airflow.variable(AUTHENTICATION_API.config_variable) or "{}"
    airflow.set_variable(
        AUTHENTICATION_API.config_variable, json.dumps({**json.loads(config), "completeness_manifests": True})
    )
    try:
        stack.tenant.add_logs(500)
        first = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, first) == "success"

        report = check(MessageStore(stack.received), [stack.signing_secret])
        assert report.complete, render(report)
        (pipeline,) = report.pipelines.values()
        assert [m.run_id for m in pipeline.manifests] == [first]
        assert pipeline.listed_logs == len(sink.state.log_ids())  # every log the run delivered, listed once

        sink.state.add_faults({"drop": True, "count": 3})  # the run's first 3 messages: 200, then lost
        stack.tenant.add_logs(1000)
        second = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, second) == "success"

        dropped = sorted(
            r["headers"]["webhook-id"] for r in sink.state.requests(limit=100_000) if r["why"] == "dropped"
        )
        assert len(dropped) == 3
        report = check(MessageStore(stack.received), [stack.signing_secret])
        (pipeline,) = report.pipelines.values()
        assert sorted(a.entry.webhook_id for a in pipeline.missing) == dropped
        assert {a.run_id for a in pipeline.missing} == {second}
        assert not pipeline.chain_breaks
        assert [m.sequence for m in pipeline.manifests] == [1, 2]

        done = kit_check(stack)
        assert done.returncode == 1, done.stderr
        assert "3 are missing" in done.stdout
        assert all(f"Missing {webhook_id}:" in done.stdout for webhook_id in dropped), done.stdout
        assert "The chain is intact." in done.stdout

        # The sender's side explains each: the message that carried its first log, answered 200 by the receiver.
        for absent in pipeline.missing:
            said = trace(stack, absent.entry.first_log_id)
            assert f"Message {absent.entry.webhook_id} (the webhook-id header) carried it in run {second}" in said, said
            assert "got HTTP 200" in said, said
            assert "It was delivered at" in said, said
    finally:
        airflow.set_variable(AUTHENTICATION_API.config_variable, config)
        airflow.api("DELETE", f"/variables/{chain_variable(DAG_ID)}")
