"""The daily report and the health page after failed runs and replays made the real way, over HTTP.

A run against a sink that answers 400 to everything keeps its batches as dead letters and fails;
Airflow emits no asset event for it, so a report built on asset events alone said "0 dead letters
kept ... 1 successful run". The report must count it, name it and then count the replay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from auth0_log_webhooks.delivery.dead_letters import DeadLetter, DeadLetterSummary
from auth0_log_webhooks.monitoring.health_page import as_json, gather
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, Pipeline
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from auth0_log_webhooks.steps.replay import pipeline_store
from auth0_log_webhooks.wiring.alarm_dags import send_daily_report
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import (
    ReadDeadLetters,
    ReplayDeadLetters,
    RunPipeline,
    TenantFactory,
    WireConnections,
)

pytestmark = pytest.mark.integration

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}


def test_the_report_counts_a_failed_run_its_dead_letters_and_their_replay(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    tenant = auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    events: list[tuple[datetime, Mapping[str, Any]]] = []  # the asset events of runs whose commit succeeded

    webhook_sink.add_fault(status=400)
    failed = run_pipeline()
    assert isinstance(failed.error, DeadLettersKeptError)
    assert failed.record.extras == []  # a failed commit announces nothing: no asset event
    webhook_sink.clear_faults()
    tenant.add_logs(40)
    good = run_pipeline()
    assert good.error is None
    events += [(datetime.now(UTC), extra) for extra in good.record.extras]
    kept = len(dead_letters())
    assert kept == 3

    def waiting(pipeline: Pipeline) -> list[DeadLetter]:
        return list(pipeline_store(pipeline, variables).entries(pipeline.dag_id))

    def summary(pipeline: Pipeline) -> DeadLetterSummary:
        return DeadLetterSummary.of(waiting(pipeline))

    def recent(pipeline: Pipeline, since: datetime | None = None) -> list[tuple[datetime, Mapping[str, Any]]]:
        return events

    sent: list[object] = []

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append(payload["text"])
        return True

    def report() -> str:
        return send_daily_report(PIPELINES, recent, variables=variables, send=send)

    text = report()
    assert good.summary is not None
    delivered = good.summary["delivered_logs"]
    assert f"{delivered:,} logs delivered in 2 runs (1 failed); {kept} dead letters kept, 0 replayed; " in text
    assert f"{kept} dead letters waiting for replay" in text
    assert re.search(rf"Last failure: \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC, run {failed.run.run_id}: \S", text), text
    (health,) = as_json(
        gather(PIPELINES, variables=variables, events=recent, dead_letters=lambda p: DeadLetterSummary.of(waiting(p)))
    )
    assert (health["runs_24h"], health["failed_runs_24h"], health["dead_letters_kept_24h"]) == (2, 1, kept)
    assert health["last_failure"] in text

    assert replay_dead_letters().error is None
    text = report()
    assert f"in 2 runs (1 failed); {kept} dead letters kept, {kept} replayed; 0 dead letters waiting" in text
    (health,) = as_json(
        gather(PIPELINES, variables=variables, events=recent, dead_letters=lambda p: DeadLetterSummary.of(waiting(p)))
    )
    assert health["dead_letters_replayed_24h"] == kept
    assert len(sent) == 2
