"""Build the DAGs: a pipeline's (fetch, deliver mapped in its pool, commit) and the replay DAG.

Kept here rather than in ``dags/`` so each DAG file is a few lines and a new pipeline is a new
:class:`~auth0_log_webhooks.pipelines.Pipeline` entry. The tasks are thin: each reads its run from
the Airflow context and calls one step of :mod:`auth0_log_webhooks.steps`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, CronDataIntervalTimetable, Param, get_current_context, task
from airflow.sdk.bases.timetable import BaseTimetable
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks import advice, drain, replay, signals
from auth0_log_webhooks.contracts import Chunk, DeliveryReport, ReplayChunk, ReplayReport, RunSummary
from auth0_log_webhooks.notify import WebhookNotifier
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.run_deadlines import run_deadline
from auth0_log_webhooks.runtime import current_run
from auth0_log_webhooks.steps import commit as commit_step
from auth0_log_webhooks.steps import deliver as deliver_step
from auth0_log_webhooks.steps import fetch as fetch_step

START_DATE = datetime(2026, 1, 1)
ANSWERS_429 = "answers_429"  # the XCom key of the 429 answers fetch and each delivery waited out
DEFAULT_ARGS: dict[str, Any] = {"owner": "auth0-log-webhooks", "retries": 2, "retry_delay": timedelta(seconds=30)}


def trigger_params() -> dict[str, Param]:
    """Return the per-run overrides "Trigger DAG w/ config" offers; each left empty keeps the config Variable's value.

    Titles and descriptions are what the trigger form shows; a choice's empty option is labelled with
    what it means (``values_display``), so the form never offers a bare "null".
    """
    config = "the config Variable's value"

    def optional(kind: str, title: str, description: str, **schema: Any) -> Param:
        return Param(None, type=["null", kind], title=title, description=description, **schema)

    return {
        "start_from": optional(
            "string",
            "Start from",
            "A log id or an ISO date (2026-11-01 or 2026-11-01T12:00:00Z) to read from in this run. "
            "Empty: after the checkpoint (the last log delivered).",
        ),
        "log_types": optional(
            "string",
            "Log types",
            f"Comma-separated log type codes to deliver, e.g. s,f,fp (LOG_TYPES). Empty: {config} "
            "(by default every type but the Management API's sapi and fapi).",
        ),
        "log_level": optional(
            "integer",
            "Minimum log level",
            f"Deliver logs of this level and above: 0 debug, 1 info, 2 warning, 3 error, 4 critical "
            f"(LOG_LEVEL). Empty: {config} (by default no level filter).",
            minimum=0,
            maximum=4,
        ),
        "batch_size": optional(
            "integer",
            "Batch size",
            f"Logs per batch, 1-1000 (BATCH_SIZE). Empty: {config} (default 100).",
            minimum=1,
            maximum=1000,
        ),
        "send_as_batch": optional(
            "string",
            "Send as batch",
            f"One request per batch, or one per log (SEND_AS_BATCH). Empty: {config} (default: per batch).",
            enum=[None, "true", "false"],
            values_display={
                None: "As configured (default: one request per batch)",
                "true": "One request per batch",
                "false": "One request per log",
            },
        ),
        "format": optional(
            "string",
            "Body format",
            f"A JSON array per request, or one JSON object per line (application/x-ndjson). Empty: {config} "
            "(default: JSON array).",
            enum=[None, "json_array", "json_lines"],
            values_display={
                None: "As configured (default: JSON array)",
                "json_array": "JSON array",
                "json_lines": "JSON lines (NDJSON)",
            },
        ),
        "max_logs_per_run": optional(
            "integer",
            "Most logs in this run",
            f"Stop reading after this many logs; the next run goes on. Empty: {config} (default 100,000).",
            minimum=1,
        ),
    }


def delivered_asset(pipeline: Pipeline) -> Asset:
    """Return the asset a pipeline's committed runs update; each event's extra holds the run's counts and lag."""
    return Asset(name=f"{pipeline.dag_id}_delivered", uri=f"x-auth0-log-webhooks://{pipeline.dag_id}/delivered")


def _label_map_index(key: str, label: str) -> None:
    """Give the running mapped task the label its ``map_index_template`` renders."""
    get_current_context()[key] = label  # type: ignore[literal-required]


MODES = ("cron", "event")


def pipeline_timetable(
    pipeline: Pipeline, schedule: str | None = None, mode: str | None = None
) -> BaseTimetable | Asset | None:
    """The cron schedule (None: triggered runs only); in event mode, that schedule *or* an event
    from the tenant-logs watcher (the watcher alone when there is no schedule).

    :raises ValueError: if ``mode`` is neither ``cron`` nor ``event``.
    """
    expression = schedule or pipeline.schedule
    cron = CronDataIntervalTimetable(expression, timezone="UTC") if expression else None
    mode = mode or pipeline.mode
    if mode not in MODES:
        raise ValueError(f"Pipeline {pipeline.dag_id}: mode {mode!r} is neither 'cron' nor 'event'")
    if mode == "cron":
        return cron
    from auth0_log_webhooks.triggers import tenant_logs_asset

    asset = tenant_logs_asset(pipeline)
    return AssetOrTimeSchedule(timetable=cron, assets=asset) if cron else asset


def pipeline_dag(
    pipeline: Pipeline, *, schedule: str | None = None, mode: str | None = None, doc_md: str | None = None
) -> DAG:
    """Return the DAG of ``pipeline``; ``schedule`` and ``mode`` override the pipeline's."""
    with DAG(
        dag_id=pipeline.dag_id,
        # Runs cover the period between two ticks. Scheduled and manual runs read since the
        # checkpoint; backfill runs deliver exactly the logs dated in their [start, end) and leave
        # the checkpoint alone, so a backfill over any range tiles it without gaps.
        # In event mode runs also start when the tenant has new logs (AssetOrTimeSchedule): the cron
        # expression stays as a safety net. Asset-triggered runs read since the checkpoint too.
        schedule=pipeline_timetable(pipeline, schedule, mode),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        # A management pipeline delivers sapi/fapi only: its type and level filters are not offered.
        params={k: v for k, v in trigger_params().items() if pipeline.kind != "management" or not k.startswith("log_")},
        tags=["auth0", "webhooks", pipeline.kind],
        doc_md=doc_md,
        default_args=DEFAULT_ARGS,
        # A run still not done run_deadline_minutes after it was queued: one notice (run_deadlines.py).
        deadline=run_deadline(pipeline),
    ) as dag:

        @task(execution_timeout=timedelta(hours=2), on_failure_callback=WebhookNotifier())
        def fetch() -> list[Chunk]:
            """Read, select and stage the logs since the checkpoint; plan one chunk per delivery task."""
            from auth0_log_webhooks.hooks.auth0 import Auth0Hook

            run, params = current_run()
            hook = Auth0Hook(pipeline.auth0_conn_id)
            chunks = fetch_step.fetch_logs(pipeline, run, params, hook=hook)
            get_current_context()["ti"].xcom_push(key=ANSWERS_429, value=hook.waits.rate_limited)
            return chunks

        @task(pool=pipeline.pool, map_index_template="{{ delivery_label }}", execution_timeout=timedelta(hours=2))
        def deliver(chunk: Chunk) -> DeliveryReport:
            """POST one chunk's batches to the webhook, one request at a time."""
            _label_map_index("delivery_label", chunk["label"])
            run, _ = current_run()
            report = deliver_step.deliver_chunk(pipeline, run, chunk)
            get_current_context()["ti"].xcom_push(key=ANSWERS_429, value=report["answers_429"])  # kept if red next
            advice.fail_if_chunk_kept_dead_letters(pipeline, run, chunk)  # settled, then red: no retry
            return report

        # all_done: commit runs after failed deliveries (to keep what is settled) and after a skipped
        # deliver (nothing was selected: the checkpoint still moves past the logs that were read). After
        # a failed fetch it fails too (nothing staged), so the run is never green when nothing was read.
        delivered = delivered_asset(pipeline)

        # commit fails whenever the run left something behind: one failure notice per run, with its advice
        @task(
            trigger_rule="all_done",
            retries=0,
            outlets=[delivered],
            on_failure_callback=WebhookNotifier(),
            on_success_callback=WebhookNotifier("success"),
        )
        def commit() -> RunSummary:
            """Advance the checkpoint past what is delivered or kept; fail if anything is left."""
            run, params = current_run()
            summary = commit_step.commit_checkpoint(pipeline, run)
            ti = get_current_context()["ti"]
            get_current_context()["outlet_events"][delivered].extra = signals.run_extra(
                summary,
                auth0_429=signals.total(ti.xcom_pull(task_ids="fetch", key=ANSWERS_429)),
                webhook_429=signals.total(ti.xcom_pull(task_ids="deliver", key=ANSWERS_429)),
            )
            if drain.needs_follow_up(summary):
                get_current_context()["ti"].xcom_push(key="return_value", value=summary)
                raise drain.follow_up(run, summary, params)
            return summary

        chunks = fetch()
        [chunks, deliver.expand(chunk=chunks)] >> commit()
    return dag


def _task_id_part(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def replay_dag(pipelines: Mapping[str, Pipeline], *, dag_id: str, doc_md: str | None = None) -> DAG:
    """Return the DAG that re-sends a pipeline's dead letters through that pipeline's pool.

    Pools are fixed when a DAG is parsed, so there is one mapped ``resend`` task per pool the
    pipelines use (``resend`` alone when they share one); in each, the chunks of another pool's
    pipeline are skipped.
    """
    pools = sorted({p.pool for p in pipelines.values()})
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=["auth0", "webhooks"],
        doc_md=doc_md,
        default_args={**DEFAULT_ARGS, "retries": 1},
        params={
            "pipeline": Param(
                sorted(pipelines)[0],
                type="string",
                enum=sorted(pipelines),
                title="Pipeline",
                description="Whose dead letters to replay (the DAG id a failed run's replay config names).",
            ),
            "entries": Param(
                None,
                type=["null", "array"],
                items={"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*/msg_[0-9a-f]{40}$"},
                title="Entries",
                description="Entry ids (<pipeline>/msg_<40 hex>, of the chosen pipeline), as a failed run's "
                "replay config lists them. Empty: all of the pipeline's dead letters.",
            ),
            "max_entries": Param(
                1000, type="integer", minimum=1, title="Most entries", description="Replay at most this many."
            ),
            "max_tasks": Param(
                16,
                type="integer",
                minimum=1,
                maximum=1024,
                title="Delivery tasks",
                description="Mapped tasks the entries are split among (they share the pipeline's pool).",
            ),
        },
    ) as dag:

        @task
        def choose() -> list[ReplayChunk]:
            """Pick the dead letters to replay and split them into chunks for their pipeline's pool."""
            _, params = current_run()
            return replay.plan_replay(
                params["pipeline"], params.get("entries"), params["max_entries"], params["max_tasks"]
            )

        def resend(chunk: ReplayChunk) -> ReplayReport:
            """Re-send one chunk of dead letters, one request at a time."""
            _label_map_index("replay_label", chunk["label"])
            if chunk["pool"] != get_current_context()["task"].pool:
                raise AirflowSkipException(f"{chunk['label']} are replayed in pool {chunk['pool']}")
            run, _ = current_run()
            report = replay.replay_chunk(chunk, run)
            advice.fail_if_replay_left_entries(chunk, report, run)
            return report

        @task(trigger_rule="all_done_min_one_success", retries=0)
        def report(*per_pool: list[ReplayReport]) -> ReplayReport:
            """Fail the run if any dead letter is still refused."""
            return replay.summarise([r for reports in per_pool for r in reports if r])

        chosen = choose()
        resent = [
            task(
                task_id="resend" if len(pools) == 1 else f"resend_{_task_id_part(pool)}",
                pool=pool,
                map_index_template="{{ replay_label }}",
            )(resend).expand(chunk=chosen)
            for pool in pools
        ]
        report(*resent)  # type: ignore[arg-type]  # TaskFlow resolves each XComArg to that pool's reports
    return dag
