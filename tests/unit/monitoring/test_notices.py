"""The webhook notifier: Slack-compatible JSON, signed, sent to the alerts connection; never fails a task."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from auth0_log_webhooks.hooks.webhook import WebhookHook
from auth0_log_webhooks.monitoring import notices
from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE
from auth0_log_webhooks.run.task_io import RUN_SUMMARY
from auth0_log_webhooks.run.variables import InMemoryVariables
from tests.conftest import ALERTS_URL
from tests.fakes import Answer, ScriptedAdapter, body_text, mount
from tests.fixture_types import DefineConnection

pytestmark = pytest.mark.unit

URL = ALERTS_URL


def context(
    error: Exception | None = None, summary: Any = None, *, task_id: str = "commit", key: str = "return_value"
) -> dict[str, Any]:
    """A task's callback context whose task kept ``summary`` under ``key``."""

    def xcom_pull(task_ids: str, key: str = "return_value") -> Any:
        return summary if (task_ids, key) == (task_id, kept_under) else None

    kept_under = key
    ti = SimpleNamespace(dag_id="dag", run_id="manual__1", task_id=task_id, xcom_pull=xcom_pull)
    return {"ti": ti, "dag_run": SimpleNamespace(run_id="manual__1"), "exception": error}


def test_a_failure_notice_carries_the_tasks_error_as_raised(alerts_receiver: ScriptedAdapter) -> None:
    error = RuntimeError("78 logs not delivered: the webhook answered HTTP 410\nNext step: ...")
    notices.WebhookNotifier().notify(context(error))
    (request,) = alerts_receiver.requests
    body = json.loads(body_text(request))
    assert body["text"] == (
        "dag failed in task commit of run manual__1:\n"
        "78 logs not delivered: the webhook answered HTTP 410\nNext step: ..."
    )
    assert (body["event"], body["dag_id"], body["task_id"]) == ("failure", "dag", "commit")
    assert request.headers["x-auth0-log-webhooks-event"] == "failure"
    assert request.headers["webhook-id"].startswith("msg_")


def test_a_failure_notice_is_bounded_and_redacted_whatever_the_error_held() -> None:
    error = ValueError("Auth0 said: " + "x" * 1_000_000 + " token=abcdef123456")
    text = notices.task_text(context(ValueError("retry at postgres://app:hunter22@db/x")), "failure")
    assert "hunter22" not in text
    assert len(notices.task_text(context(error), "failure")) < notices.MAX_DETAIL_CHARS + 200


def test_success_notices_are_sent_only_when_the_settings_ask_for_them(
    alerts_receiver: ScriptedAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = {"batches": 1, "settled_batches": 1, "delivered_logs": 5, "dead_letters": 0, "checkpoint": None}
    settings: dict[str, str] = {}
    monkeypatch.setattr(notices, "AirflowVariables", lambda: InMemoryVariables(settings))
    notices.WebhookNotifier("success").notify(context(summary=summary))
    assert alerts_receiver.requests == []
    settings[ALERTS_VARIABLE] = '{"notify_success": true}'
    notices.WebhookNotifier("success").notify(context(summary=summary))
    (request,) = alerts_receiver.requests
    assert (
        json.loads(body_text(request))["text"] == "dag run manual__1 succeeded. Delivered 5 logs; 1 of 1 batch settled."
    )


def test_a_fetch_sends_a_success_notice_only_for_a_run_it_committed_itself(
    alerts_receiver: ScriptedAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = InMemoryVariables({ALERTS_VARIABLE: '{"notify_success": true}'})
    monkeypatch.setattr(notices, "AirflowVariables", lambda: settings)
    notifier = notices.WebhookNotifier("success", summary_key=RUN_SUMMARY)
    notifier.notify(context(summary=None, task_id="fetch", key=RUN_SUMMARY))  # it left the run to the commit task
    notifier.notify(context(summary=[], task_id="fetch"))  # its return value (no chunk) is not a summary
    assert alerts_receiver.requests == []
    summary = {"batches": 3, "settled_batches": 3, "delivered_logs": 250, "dead_letters": 0, "checkpoint": None}
    notifier.notify(context(summary=summary, task_id="fetch", key=RUN_SUMMARY))
    (request,) = alerts_receiver.requests
    body = json.loads(body_text(request))
    assert body["text"] == "dag run manual__1 succeeded. Delivered 250 logs; 3 of 3 batches settled."
    assert (body["event"], body["task_id"]) == ("success", "fetch")


def test_without_the_alerts_connection_nothing_is_sent_and_the_log_says_so(caplog: pytest.LogCaptureFixture) -> None:
    assert notices.send("no_such_connection", {"event": "failure", "text": "boom"}) is False
    assert "No connection no_such_connection: notification not sent: boom" in caplog.text


def test_a_refusing_receiver_is_logged_not_raised(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    airflow_connection("alerts", conn_type="auth0_webhook", host=URL)
    session = WebhookHook("alerts").get_conn()
    mount(session, ScriptedAdapter(Answer(500)))
    monkeypatch.setattr(WebhookHook, "get_conn", lambda self, *args, **kwargs: session)
    assert notices.send("alerts", {"event": "failure", "text": "boom"}) is False
    assert "answered HTTP 500" in caplog.text
