"""The run deadline: an Airflow deadline alert that notifies when a pipeline run is still not done N
minutes after it was queued.

A run stuck retrying a webhook that does not answer holds the checkpoint back and, with one active
run per pipeline, every run after it. The scheduler watches the deadline (``DAGRUN_QUEUED_AT`` plus
the pipeline's ``run_deadline_minutes``); when it passes with the run unfinished, the triggerer calls
:func:`notify_overdue`, which sends one notice to the alerts connection, as the failure notices go.
A run that succeeds before its deadline sends nothing (Airflow drops the deadline). Airflow keeps the
deadline of a run that failed and calls the callback when it passes; that run's failure notice has
already said why, so the callback sends nothing for it either.

``airflow dags test`` (``dag.test()``) runs a pipeline DAG without its deadline alert: see
:class:`DeadlineDAG`. Scheduled, triggered and backfill runs keep it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

# airflow.sdk exports these too, but its type stub (__init__.pyi) does not list them yet.
from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

from auth0_log_webhooks.pipelines.definition import Pipeline

log = logging.getLogger(__name__)

EVENT = "run_deadline_missed"
ENDED = ("success", "failed")


def run_deadline(pipeline: Pipeline) -> DeadlineAlert | None:
    """Return the pipeline's run deadline alert, or None when its ``run_deadline_minutes`` is None (off)."""
    minutes = pipeline.run_deadline_minutes
    if minutes is None:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(notify_overdue, kwargs={"minutes": minutes}),
        # The UI shows this name beside "Upcoming", also for a failed run (Airflow drops only a successful
        # run's deadline), so it says that an ended run gets no notice.
        name=f"Notice if still running {minutes:g} min after queued (none once the run has ended)",
    )


class DeadlineDAG(DAG):
    """A DAG whose deadline alerts are left out of ``dag.test()`` runs (``airflow dags test``) only.

    Airflow 3.3.2's ``dag.test()`` builds its scheduler DAG by serializing the DAG in memory, so
    that DAG's ``deadline`` holds the alert definitions (dicts), where the scheduler's DAG, read
    from the metadata DB, holds the ids of their ``deadline_alert`` rows. When the run succeeds,
    ``DagRun.update_state`` looks each entry up as an id (``DeadlineAlert.get_by_id``) and the dict
    fails as a UUID (``'dict' object has no attribute 'hex'``): ``airflow dags test`` exits 1 after
    "Marking run ... successful". A test run has no triggerer to call a deadline's callback anyway.
    """

    def test(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``dag.test()`` without the deadline alerts, then put them back on the DAG."""
        deadline = self.deadline
        if deadline:
            log.info(
                "Testing %s without its run deadline alert: Airflow 3.3.2's dag.test() fails on deadline "
                "alerts once the run succeeds. Scheduled, triggered and backfill runs keep the alert.",
                self.dag_id,
            )
        self.deadline = None
        try:
            return super().test(*args, **kwargs)
        finally:
            self.deadline = deadline


def _utc(value: Any) -> str:
    """Return an ISO timestamp (or datetime) as ``2026-11-26 14:02:11 UTC``; ``unknown`` if there is none."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "unknown"


def overdue_text(context: Mapping[str, Any], minutes: float) -> str:
    """Return the notice for a missed run deadline, from the context the scheduler gives deadline callbacks."""
    run = context.get("dag_run") or {}
    dag_id = run.get("dag_id", "?")
    run_id = run.get("dag_run_id") or run.get("run_id") or "?"
    state = run.get("state") or "unfinished"
    return (
        f"Run deadline missed: {dag_id} run {run_id} was queued at {_utc(run.get('queued_at'))} and is still "
        f"{state} {minutes:g} min later. Until it ends, the checkpoint stays where it is and no other run of "
        f"{dag_id} starts. Open the run: a deliver task that keeps retrying says in its log what the webhook "
        "answers; a stuck fetch says what the tenant answers."
    )


def send_overdue(context: Mapping[str, Any], minutes: float) -> bool:
    """Send the notice to the alerts connection; return whether the receiver took it (never raises)."""
    from auth0_log_webhooks.monitoring import notices

    try:
        settings = notices.load_settings()
    except ValueError as exc:
        log.warning("%s; run deadline notice not sent", exc)
        return False
    run = context.get("dag_run") or {}
    if run.get("state") in ENDED:
        log.info(
            "%s run %s ended (%s) before its deadline passed: no run deadline notice (a failure has its own)",
            run.get("dag_id"),
            run.get("dag_run_id"),
            run.get("state"),
        )
        return False
    return notices.send(
        settings.conn_id,
        {
            "event": EVENT,
            "text": overdue_text(context, minutes),
            "dag_id": run.get("dag_id"),
            "run_id": run.get("dag_run_id") or run.get("run_id"),
        },
    )


async def notify_overdue(minutes: float, context: Mapping[str, Any] | None = None) -> bool:
    """The deadline's callback (runs in the triggerer): send the notice from a worker thread.

    The hook's connection and Variable lookups are blocking; off the event loop they go through the
    triggerer's bridge and the loop keeps serving other triggers.
    """
    return await asyncio.to_thread(send_overdue, context or {}, minutes)
