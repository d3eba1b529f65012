"""The run deadline: the pipeline DAG carries an Airflow deadline alert (queued at + N minutes) whose
callback sends one readable notice to the alerts connection."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import DagSerialization

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring import run_deadlines
from auth0_log_webhooks.wiring.pipeline_dag import pipeline_dag
from tests.fakes import ScriptedAdapter, body_text

pytestmark = pytest.mark.unit

# What the scheduler passes a deadline callback as ``context`` (DAGRunResponse as JSON, and the deadline).
CONTEXT = {
    "dag_run": {
        "dag_run_id": "scheduled__2026-11-26T14:00:00+00:00",
        "dag_id": AUTHENTICATION_API.dag_id,
        "queued_at": "2026-11-26T14:00:03.512000Z",
        "state": "running",
    },
    "deadline": {"id": "0193", "deadline_time": "2026-11-26T15:00:03.512000Z"},
}


def test_the_pipeline_dag_carries_a_deadline_an_hour_after_a_run_is_queued_and_it_survives_serialization() -> None:
    dag = DagSerialization.from_dict(DagSerialization.to_dict(pipeline_dag(AUTHENTICATION_API)))
    alerts: Any = dag.deadline  # serialized: the alerts as dicts, which Airflow's types do not say
    (alert,) = alerts
    assert alert["reference"] == {"reference_type": "DagRunQueuedAtDeadline"}
    assert alert["interval"]["__data__"] == 3600.0
    callback = alert["callback"]
    assert callback["__classname__"] == "airflow.sdk.definitions.callback.AsyncCallback"  # runs in the triggerer
    path = "auth0_log_webhooks.wiring.run_deadlines.notify_overdue"
    assert callback["__data__"] == {"path": path, "kwargs": {"minutes": 60}}


def test_airflow_dags_test_runs_the_dag_without_its_deadline_alert_and_the_dag_keeps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Airflow 3.3.2's dag.test() fails on a deadline alert once the run succeeds (run_deadlines.DeadlineDAG);
    # tests/e2e/test_dags_test_cli.py runs the real `airflow dags test`.
    dag = pipeline_dag(AUTHENTICATION_API)
    seen: list[Any] = []
    monkeypatch.setattr(DAG, "test", lambda self, *args, **kwargs: seen.append(self.deadline))
    dag.test(run_conf={"log_level": 2})
    assert seen == [None]
    assert isinstance(dag.deadline, list)
    (alert,) = dag.deadline
    assert alert.interval == timedelta(minutes=60)


def test_the_pipelines_file_sets_the_deadline_or_turns_it_off(tmp_path: Path) -> None:
    entries = [
        {"id": "fast", "kind": "authentication", "webhook_connection": "w", "run_deadline_minutes": 15},
        {"id": "off", "kind": "authentication", "webhook_connection": "w", "run_deadline_minutes": None},
    ]
    path = tmp_path / "pipelines.yaml"
    path.write_text(json.dumps({"pipelines": entries}))
    pipelines = load_pipelines(path).pipelines
    deadline = pipeline_dag(pipelines["fast"]).deadline
    assert isinstance(deadline, list)
    (alert,) = deadline
    assert isinstance(alert.interval, timedelta)
    assert alert.interval.total_seconds() == 15 * 60
    assert not pipeline_dag(pipelines["off"]).deadline


def test_a_missed_deadline_sends_one_readable_notice_to_the_alerts_connection(alerts_receiver: ScriptedAdapter) -> None:
    assert asyncio.run(run_deadlines.notify_overdue(minutes=60, context=CONTEXT)) is True
    (request,) = alerts_receiver.requests
    body = json.loads(body_text(request))
    assert body["text"] == (
        f"Run deadline missed: {AUTHENTICATION_API.dag_id} run scheduled__2026-11-26T14:00:00+00:00 was queued at "
        "2026-11-26 14:00:03 UTC and is still running 60 min later. Until it ends, the checkpoint stays where it is "
        f"and no other run of {AUTHENTICATION_API.dag_id} starts. Open the run: a deliver task that keeps retrying "
        "says in its log what the webhook answers; a stuck fetch says what the tenant answers."
    )
    assert (body["event"], body["dag_id"]) == ("run_deadline_missed", AUTHENTICATION_API.dag_id)
    assert request.headers["x-auth0-log-webhooks-event"] == "run_deadline_missed"


def test_without_the_alerts_connection_the_callback_says_so_and_does_not_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert asyncio.run(run_deadlines.notify_overdue(minutes=60, context=CONTEXT)) is False
    assert "No connection auth0_alerts_default: notification not sent: Run deadline missed" in caplog.text


def test_a_run_that_failed_before_its_deadline_sends_nothing_its_failure_notice_said_why(
    alerts_receiver: ScriptedAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    failed = {**CONTEXT, "dag_run": {**CONTEXT["dag_run"], "state": "failed"}}
    caplog.set_level("INFO")
    assert asyncio.run(run_deadlines.notify_overdue(minutes=60, context=failed)) is False
    assert alerts_receiver.requests == []
    assert "ended (failed) before its deadline passed: no run deadline notice" in caplog.text


def test_a_pipeline_without_a_deadline_has_none() -> None:
    assert run_deadlines.run_deadline(Pipeline(dag_id="a", title="a", run_deadline_minutes=None)) is None
