"""Notifications: a generic webhook notifier for task callbacks, and the sender the alarms use.

Messages are JSON ``{"text": ..., "event": ..., "dag_id": ..., "run_id": ..., "task_id": ...}``: the
``text`` key makes a Slack incoming webhook (or Mattermost, Teams workflows) show them as they are;
any other receiver gets the fields. They go to the connection named in the Variable
``auth0_log_webhooks_alerts`` (default ``auth0_alerts_default``, type ``auth0_webhook``), signed
like the logs, and marked ``x-auth0-log-webhooks-event``. Without that connection nothing is sent
and the task log says so; a notification never fails a task.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from typing import Any, cast

from airflow.sdk import BaseNotifier

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.http.redaction import excerpt
from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE, AlertSettings, parse_settings
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.wording import run_sentence

log = logging.getLogger(__name__)

EVENT_HEADER = "x-auth0-log-webhooks-event"
MAX_DETAIL_CHARS = 2000
"""The most of a failure's message a notice carries (redacted like a receiver's answer); the task log has the rest."""


def send(conn_id: str, payload: Mapping[str, Any]) -> bool:
    """POST one notification; return whether the receiver took it (2xx). Never raises: it logs why not."""
    from airflow.sdk.exceptions import AirflowNotFoundException

    from auth0_log_webhooks.hooks.webhook import WebhookHook

    body = json.dumps(payload, ensure_ascii=False, sort_keys=True)
    webhook_id = "msg_" + hashlib.sha256(body.encode()).hexdigest()[:40]
    try:
        response = WebhookHook(conn_id).post_signed(body, webhook_id, {EVENT_HEADER: str(payload.get("event", ""))})
    except AirflowNotFoundException:
        log.warning("No connection %s: notification not sent: %s", conn_id, payload.get("text"))
        return False
    except Exception as exc:  # a notification must never fail the task it reports on
        log.warning("Notification to connection %s failed (%s): %s", conn_id, type(exc).__name__, payload.get("text"))
        return False
    if not 200 <= response.status_code < 300:
        log.warning("Connection %s answered HTTP %s to a notification", conn_id, response.status_code)
        return False
    log.info("Sent %s notification to connection %s", payload.get("event"), conn_id)
    return True


def load_settings(variables: Variables | None = None) -> AlertSettings:
    """Return the alert settings (defaults if the Variable is unset)."""
    return parse_settings((variables or AirflowVariables()).get(ALERTS_VARIABLE))


def run_summary(context: Mapping[str, Any], key: str = "return_value") -> RunSummary | None:
    """Return the run's summary the task kept under ``key`` (None: it kept none)."""
    ti = context.get("ti") or context.get("task_instance")
    summary = ti.xcom_pull(task_ids=getattr(ti, "task_id", None), key=key) if ti is not None else None
    return cast(RunSummary, summary) if isinstance(summary, dict) and "delivered_logs" in summary else None


def task_text(context: Mapping[str, Any], event: str, summary_key: str = "return_value") -> str:
    """Return what a task callback reports: the run, the task, and the failure's message as it was raised; for
    a success, the run's counts from the summary the task kept under ``summary_key``."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    run_id = getattr(context.get("dag_run"), "run_id", None) or getattr(ti, "run_id", "?")
    task_id = getattr(ti, "task_id", "?")
    if event == "failure":
        error = context.get("exception")
        detail = excerpt(str(error).strip().encode(), limit=MAX_DETAIL_CHARS) if error else ""
        detail = detail or "no error message (see the task log)"
        return f"{dag_id} failed in task {task_id} of run {run_id}:\n{detail}"
    summary = run_summary(context, summary_key)
    said = run_sentence(summary) if summary is not None else ""
    return f"{dag_id} run {run_id} succeeded. {said}".strip()


class WebhookNotifier(BaseNotifier):
    """Post a task's failure (or success) to the alerts webhook: ``on_failure_callback=WebhookNotifier()``.

    :param event: ``failure`` (default) or ``success``; success notices are sent only when the
        Variable ``auth0_log_webhooks_alerts`` has ``"notify_success": true`` (the original's SLACK_SEND_SUCCESS).
    :param text: a Jinja template replacing the default text.
    :param summary_key: the XCom key under which the task keeps the run's summary; a success notice is sent
        only when it kept one (the commit task always; the fetch when it committed its run itself).
    """

    template_fields = ("text",)

    def __init__(self, event: str = "failure", text: str | None = None, summary_key: str = "return_value") -> None:
        super().__init__()
        self.event = event
        self.text = text
        self.summary_key = summary_key

    def notify(self, context: Any) -> None:
        """Send the notice (never raises; a bad or missing setting is logged)."""
        try:
            settings = load_settings()
        except ValueError as exc:
            log.warning("%s; notification not sent", exc)
            return
        if self.event == "success" and not settings.notify_success:
            return
        if self.event == "success" and run_summary(context, self.summary_key) is None:
            return  # the task committed no run (a fetch that left its run to the commit task)
        ti = context.get("ti")
        send(
            settings.conn_id,
            {
                "event": self.event,
                "text": self.text or task_text(context, self.event, self.summary_key),
                "dag_id": getattr(ti, "dag_id", None),
                "run_id": getattr(ti, "run_id", None),
                "task_id": getattr(ti, "task_id", None),
            },
        )
