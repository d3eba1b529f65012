"""The alarms and daily report DAGs: measure lag and retention margin, notify on changes; report daily.

The state of the alarms is the JSON Variable ``auth0_log_webhooks_alarm_state``, written after the
notices are sent, so a notice that could not be sent is tried again at the next check.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

from auth0_log_webhooks.monitoring import run_history
from auth0_log_webhooks.monitoring.alarms import (
    ALERTS_VARIABLE,
    STATE_VARIABLE,
    Measurement,
    Notice,
    evaluate,
    reconciliation_notice,
)
from auth0_log_webhooks.monitoring.run_history import Window
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.wording import duration, log_id_time, plural, when

log = logging.getLogger(__name__)

START_DATE = datetime(2026, 1, 1)


def newest_log_id(pipeline: Pipeline) -> str | None:
    """Return the id of the tenant's newest log that is not this check's own traffic (one search request).

    Getting a token writes a ``seccft`` log with the pipeline's client id: counting it, a caught-up
    pipeline would always look behind by the time since its last run.
    """
    from auth0_log_webhooks.event_mode.new_logs import foreign_logs
    from auth0_log_webhooks.hooks.auth0 import Auth0Hook
    from auth0_log_webhooks.log_ids import log_id_of

    hook = Auth0Hook(pipeline.auth0_conn_id)
    newest = foreign_logs(hook.newest_logs(), hook.client_id)
    return log_id_of(newest[0]) if newest else None


def check_alarms(
    pipelines: Mapping[str, Pipeline],
    *,
    variables: Variables | None = None,
    newest: Callable[[Pipeline], str | None] = newest_log_id,
    send: Callable[[str, Mapping[str, object]], bool] | None = None,
    now: datetime | None = None,
) -> list[Notice]:
    """Measure every pipeline, send the notices of alarms that changed, and save the new state.

    :return: the notices sent.
    :raises RuntimeError: if a notice could not be sent (the state is not saved: the next check retries).
    """
    from auth0_log_webhooks.monitoring import notices

    variables = variables or AirflowVariables()
    send = send or notices.send
    settings = notices.load_settings(variables)
    moment = now or datetime.now(UTC)
    measurements = [
        Measurement(p.dag_id, variables.get(p.checkpoint_variable), newest(p), moment, _paused_at(p, variables))
        for p in pipelines.values()
    ]
    state = json.loads(variables.get(STATE_VARIABLE) or "{}")
    new_state, changed = evaluate(state, measurements, settings)
    for m in measurements:
        log.info("%s: checkpoint %s, newest log %s", m.pipeline, m.checkpoint, m.newest)
    unsent = [n for n in changed if not send(settings.conn_id, _payload(n))]
    if unsent:
        raise RuntimeError(
            f"{len(unsent)} alarm notices could not be sent to connection {settings.conn_id} "
            f"({'; '.join(n.text for n in unsent)}); the next check sends them again"
        )
    variables.set(STATE_VARIABLE, json.dumps(new_state, sort_keys=True))
    return changed


def _paused_at(pipeline: Pipeline, variables: Variables) -> datetime | None:
    """Return when auto-pause paused the pipeline, or None."""
    from auth0_log_webhooks.delivery import auto_pause

    state, _ = auto_pause.parse_state(variables.get(auto_pause.state_variable(pipeline.dag_id)))
    return state.paused_at if state else None


def _payload(notice: Notice) -> dict[str, object]:
    return {
        "event": f"{notice.alarm}_alarm" if notice.firing else f"{notice.alarm}_alarm_cleared",
        "text": notice.text,
        "dag_id": notice.pipeline,
        "firing": notice.firing,
    }


def _watch_dag(
    dag_id: str, schedule: str, doc_md: str | None, *, retries: int, description: str, tag: str = "alarms"
) -> DAG:
    """Return a watch DAG's frame: one run at a time, no catch-up, tagged ``tag`` (alarms or reports)."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["auth0", "webhooks", tag],
        description=description,
        doc_md=doc_md,
        default_args={"owner": "auth0-log-webhooks", "retries": retries, "retry_delay": timedelta(minutes=5)},
    )


def alarms_dag(
    pipelines: Mapping[str, Pipeline], *, dag_id: str, schedule: str = "*/5 * * * *", doc_md: str | None = None
) -> DAG:
    """Return the DAG that checks the lag and retention alarms of ``pipelines``."""
    about = "Lag and retention alarms of the Auth0 log pipelines: one notice when an alarm fires or clears"
    with _watch_dag(dag_id, schedule, doc_md, retries=0, description=about) as dag:

        @task(execution_timeout=timedelta(minutes=5), show_return_value_in_logs=False)
        def check() -> int:
            """Measure lag and retention margin; notify when an alarm fires or clears."""
            return len(check_alarms(pipelines))

        check()
    return dag


def daily_text(pipeline: Pipeline, window: Window, checkpoint: str | None, waiting: int, now: datetime) -> str:
    """Return one pipeline's daily report: runs (failed ones counted and the last named), logs delivered,
    dead letters kept, replayed and waiting, the checkpoint with its age, and the day's reconciliation."""
    moment = log_id_time(checkpoint)
    age = f", {duration((now - moment).total_seconds())} ago" if moment else ""
    last = window.last_failure_text()
    return (
        f"{pipeline.dag_id}, last 24 hours: {plural(window.delivered, 'log')} delivered in {window.runs_text()}; "
        f"{window.dead_letters_text()}; {plural(waiting, 'dead letter')} waiting for replay. "
        + (f"Last failure: {last}. " if last else "")
        + f"Checkpoint at {when(checkpoint)}{age}. {window.reconciliation().sentence()}"
    )


def needs_attention(window: Window, waiting: int) -> bool:
    """Return whether a pipeline's day had something for a person to act on (the ``on_failure`` report's rule)."""
    return bool(window.failed or window.still_failing or waiting or window.reconciliation().remainder)


def send_daily_report(
    pipelines: Mapping[str, Pipeline],
    events: Callable[[Pipeline], list[tuple[datetime, Mapping[str, Any]]]],
    *,
    variables: Variables | None = None,
    send: Callable[[str, Mapping[str, object]], bool] | None = None,
    now: datetime | None = None,
) -> str:
    """Send the daily report of every pipeline as one notice, then a reconciliation alarm for each pipeline
    whose day has logs read and not accounted for; return the report's text.

    With ``"daily_report": "on_failure"`` in the alerts Variable, the report is sent only when a
    pipeline had a failed run or replay in the last 24 hours, has dead letters waiting or does not
    reconcile; otherwise nothing is sent and the returned text says so.

    :raises RuntimeError: if the report or an alarm could not be sent.
    """
    from auth0_log_webhooks.monitoring import notices
    from auth0_log_webhooks.steps.replay import pipeline_store

    variables = variables or AirflowVariables()
    settings = notices.load_settings(variables)
    moment = now or datetime.now(UTC)
    lines, attention, alarms = [], False, []
    for p in pipelines.values():
        day = run_history.window(variables, p.dag_id, events(p), moment - timedelta(hours=24))
        waiting = sum(1 for _ in pipeline_store(p, variables).entries(p.dag_id))
        attention = attention or needs_attention(day, waiting)
        lines.append(daily_text(p, day, variables.get(p.checkpoint_variable), waiting, moment))
        alarm = reconciliation_notice(p.dag_id, day.reconciliation())
        if alarm is not None:
            log.warning("%s", alarm.text)
            alarms.append(alarm)
    text = "\n".join(lines)
    if settings.daily_report == "on_failure" and not attention:
        quiet = (
            f"Not sent: no run or replay failed in the last 24 hours and no dead letter waits, and the Variable "
            f"{ALERTS_VARIABLE} sets daily_report to on_failure.\n{text}"
        )
        log.info("%s", quiet)
        return quiet
    send = send or notices.send
    if not send(settings.conn_id, {"event": "daily_report", "text": text}):
        raise RuntimeError(f"The daily report could not be sent to connection {settings.conn_id}: {text}")
    unsent = [alarm.text for alarm in alarms if not send(settings.conn_id, _payload(alarm))]
    if unsent:
        raise RuntimeError(
            f"{plural(len(unsent), 'reconciliation alarm')} could not be sent to connection {settings.conn_id} "
            f"({'; '.join(unsent)}); the report task's retry sends them again"
        )
    return text


REPORT_HOUR_ENV = "AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR"
"""The environment variable that sets the daily report's hour (UTC, 0-23; 7 when unset)."""


def report_schedule(hour: str | None) -> str:
    """Return the daily report's cron expression for ``hour`` (``7``, ``07`` or ``07:30``, UTC; 07:00 when empty).

    :raises ValueError: naming the environment variable, what it holds and what it should hold.
    """
    text = (hour or "").strip() or "7"
    h, _, m = text.partition(":")
    if h.isdigit() and 0 <= int(h) <= 23 and (not m or (m.isdigit() and len(m) == 2 and int(m) <= 59)):
        return f"{int(m or 0)} {int(h)} * * *"
    raise ValueError(
        f"{REPORT_HOUR_ENV} is {text[:40]!r}; set it to an hour of the day in UTC, 0 to 23 (e.g. 7 or 07:30), "
        "or unset it for 07:00 UTC"
    )


def report_dag(
    pipelines: Mapping[str, Pipeline], *, dag_id: str, schedule: str | None = None, doc_md: str | None = None
) -> DAG:
    """Return the DAG that sends the daily report (the original's daily Slack report).

    ``schedule`` defaults to the hour the environment variable ``AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR`` sets.

    :raises ValueError: if that environment variable is not an hour (the DAG file's import error says so).
    """
    from auth0_log_webhooks.monitoring.metrics import delivered_asset

    assets = {p.dag_id: delivered_asset(p.dag_id) for p in pipelines.values()}
    schedule = schedule or report_schedule(os.environ.get(REPORT_HOUR_ENV))
    about = "Daily report of the Auth0 log pipelines to the alerts webhook: runs, failures, logs and dead letters"
    with _watch_dag(dag_id, schedule, doc_md, retries=1, description=about, tag="reports") as dag:

        @task(inlets=list(assets.values()), show_return_value_in_logs=False)
        def report() -> str:
            """Send the last 24 hours of each pipeline to the alerts webhook."""
            from airflow.sdk import get_current_context

            inlet_events = get_current_context()["inlet_events"]
            since = (datetime.now(UTC) - timedelta(hours=24)).isoformat()

            def events(p: Pipeline) -> list[tuple[datetime, Mapping[str, Any]]]:
                return [(e.timestamp, e.extra or {}) for e in inlet_events[assets[p.dag_id]].after(since)]

            return send_daily_report(pipelines, events)

        report()
    return dag
