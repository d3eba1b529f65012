"""Build a pipeline's DAG: fetch, deliver mapped in its pool, commit; on a cron schedule or in event mode.

A run whose fetch leaves nothing to deliver (its delivery lane sent every batch, or nothing was selected) and
nothing to fail or start is committed by the fetch, which skips deliver and commit.

Kept here rather than in ``dags/`` so each DAG file is a few lines and a new pipeline is a new entry
of the pipelines file. A task body is one call: it reads its run from the Airflow context and calls
one step of :mod:`auth0_log_webhooks.steps` with an :class:`~auth0_log_webhooks.run.task_io.AirflowTaskIO`,
the same steps the in-process runner of tests and benchmarks calls.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, task
from airflow.sdk.bases.timetable import BaseTimetable
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule

from auth0_log_webhooks.contracts import Chunk, DeliveryReport, RunSummary
from auth0_log_webhooks.monitoring import metrics
from auth0_log_webhooks.monitoring.notices import WebhookNotifier
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import current_run
from auth0_log_webhooks.run.task_io import RUN_SUMMARY, AirflowTaskIO
from auth0_log_webhooks.wiring import trigger_form
from auth0_log_webhooks.wiring.run_deadlines import DeadlineDAG, run_deadline

START_DATE = datetime(2026, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {"owner": "auth0-log-webhooks", "retries": 2, "retry_delay": timedelta(seconds=30)}


MODES = ("cron", "event")
LAZY_STEPS = "auth0_log_webhooks.steps"
"""Imported inside the task bodies, not at parse: every parse (the dag-processor's, every task process's) would
import the steps, the webhook sender and the HTTP provider's aiohttp, about 1 CPU-second on these 2 cores."""


def description(pipeline: Pipeline, mode: str | None = None) -> str:
    """Return the one line the DAG list shows under the DAG's name: what it ships, where to, and how it starts."""
    what = "Management API logs (sapi/fapi)" if pipeline.kind == "management" else "tenant logs"
    also = ", also within seconds of new logs" if (mode or pipeline.mode) == "event" else ""
    return f"Ships Auth0 {what} after its checkpoint to the webhook of connection {pipeline.webhook_conn_id}{also}"


def pipeline_timetable(
    pipeline: Pipeline, schedule: str | None = None, mode: str | None = None
) -> BaseTimetable | Asset | None:
    """The cron schedule (None: triggered runs only); in event mode, the safety net's cron schedule *or* an event
    from the tenant-logs watcher (the watcher alone when there is no safety net). ``schedule`` overrides either.

    :raises ValueError: if ``mode`` is neither ``cron`` nor ``event``.
    """
    mode = mode or pipeline.mode
    if mode not in MODES:
        raise ValueError(f"Pipeline {pipeline.dag_id}: mode {mode!r} is neither 'cron' nor 'event'")
    expression = schedule or (pipeline.schedule if mode == "cron" else pipeline.safety_net)
    cron = CronDataIntervalTimetable(expression, timezone="UTC") if expression else None
    if mode == "cron":
        return cron
    from auth0_log_webhooks.event_mode.trigger import tenant_logs_asset

    asset = tenant_logs_asset(pipeline)
    return AssetOrTimeSchedule(timetable=cron, assets=asset) if cron else asset


def pipeline_dag(
    pipeline: Pipeline, *, schedule: str | None = None, mode: str | None = None, doc_md: str | None = None
) -> DAG:
    """Return the DAG of ``pipeline``; ``schedule`` and ``mode`` override the pipeline's.

    Every task says what it did in a sentence of its own log, so none shows its return value
    (``show_return_value_in_logs=False``): Airflow would end each log with a dict of up to 2,000 characters.
    """
    with DeadlineDAG(
        dag_id=pipeline.dag_id,
        # Runs cover the period between two ticks. Scheduled and manual runs read since the
        # checkpoint; backfill runs deliver exactly the logs dated in their [start, end) and leave
        # the checkpoint alone, so a backfill over any range tiles it without gaps.
        # In event mode runs also start when the tenant has new logs (AssetOrTimeSchedule), and on the safety
        # net's cron expression (Pipeline.safety_net). Asset-triggered runs read since the checkpoint too.
        schedule=pipeline_timetable(pipeline, schedule, mode),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["auth0", "webhooks", pipeline.kind],
        description=description(pipeline, mode),
        doc_md=doc_md,
        default_args=DEFAULT_ARGS,
        # A run still not done run_deadline_minutes after it was queued: one notice (run_deadlines.py).
        deadline=run_deadline(pipeline),
    ) as dag:
        delivered = metrics.delivered_asset(pipeline.dag_id)
        committed_by_fetch = metrics.committed_by_fetch(pipeline.dag_id)

        # In the pipeline's pool like a delivery task: with deliver_while_fetching its lane makes one webhook call
        # at a time while it reads (steps/lane.py), and the pool's slots bound the calls in flight.
        # A run that leaves nothing to deliver, fail or start after its fetch is committed by the fetch, which
        # then skips deliver and commit: it emits the delivered asset's event (through its alias) and the success
        # notice (of the summary it keeps) that the commit task would (steps/commit.py, commit_in_fetch).
        @task(
            pool=pipeline.pool,
            execution_timeout=timedelta(hours=2),
            outlets=[committed_by_fetch],
            on_failure_callback=WebhookNotifier(),
            on_success_callback=WebhookNotifier("success", summary_key=RUN_SUMMARY),
            show_return_value_in_logs=False,
        )
        def fetch() -> list[Chunk]:
            """Read, select and stage the logs since the checkpoint (delivering as it stages, with the lane on);
            plan one chunk per delivery task for the batches left, or commit the run when none is left."""
            from auth0_log_webhooks.steps import fetch as fetch_step  # only the task needs it (LAZY_STEPS)

            run, params = current_run()
            return fetch_step.fetch(pipeline, run, params, AirflowTaskIO(outlet=delivered, alias=committed_by_fetch))

        @task(
            pool=pipeline.pool,
            map_index_template="{{ task_label }}",
            execution_timeout=timedelta(hours=2),
            show_return_value_in_logs=False,
        )
        def deliver(chunk: Chunk) -> DeliveryReport:
            """POST one chunk's batches to the webhook, one request at a time."""
            from auth0_log_webhooks.steps import deliver as deliver_step  # only the task needs it (LAZY_STEPS)

            run, _ = current_run()
            return deliver_step.deliver(pipeline, run, chunk, AirflowTaskIO())

        # all_done: commit runs after failed deliveries (to keep what is settled) and after a skipped
        # deliver (nothing was selected: the checkpoint still moves past the logs that were read). After
        # a failed fetch it fails too (nothing staged), so the run is never green when nothing was read.
        # It fails whenever the run left something behind: one failure notice per run, with its advice.
        @task(
            trigger_rule="all_done",
            retries=0,
            outlets=[delivered],
            on_failure_callback=WebhookNotifier(),
            on_success_callback=WebhookNotifier("success"),
            show_return_value_in_logs=False,
        )
        def commit() -> RunSummary:
            """Advance the checkpoint past what is delivered or kept; fail if anything is left. Skipped when the fetch
            committed the run itself: nothing was left for it (the fetch's log ends with the run's counts)."""
            from auth0_log_webhooks.steps import commit as commit_step  # only the task needs it (LAZY_STEPS)

            run, params = current_run()
            return commit_step.commit(pipeline, run, params, AirflowTaskIO(outlet=delivered))

        chunks = fetch()
        [chunks, deliver.expand(chunk=chunks)] >> commit()
    give_trigger_params(dag, pipeline.kind)
    return dag


def give_trigger_params(dag: DAG, kind: str) -> None:
    """Set the trigger form's params on ``dag`` once its tasks exist: only these keys may be in a run's conf (the
    fetch refuses any other, pipelines/run_params.py).

    Given after the tasks are made, not to the constructor: a task made inside ``with DAG(params=...)`` gets a deep
    copy of them, and the dag-processor, serializing each task, resolves each copy again (comparing it with the
    defaults, each resolve a check of the param's JSON Schema against its metaschema): 54 resolves a DAG, most of
    the 1.5 CPU-seconds serializing 100 pipelines took, every 30 s. A task still gets them: Airflow merges the
    DAG's params, the task's (none) and the run's conf into the params it hands the task (``process_params``);
    the trigger form, ``dags trigger --conf`` and backfill read the DAG's.
    """
    dag.params = trigger_form.trigger_params(kind)  # type: ignore[assignment]
