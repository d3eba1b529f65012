"""Build a pipeline's DAG: fetch, then deliver mapped over chunks in the pool, then commit.

Kept here rather than in ``dags/`` so each DAG file is a few lines and a new pipeline is a new
:class:`~auth0_log_webhooks.pipelines.Pipeline` entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, get_current_context, task

from auth0_log_webhooks import tasks
from auth0_log_webhooks.pipelines import Pipeline

START_DATE = datetime(2026, 1, 1)


def trigger_params() -> dict[str, Param]:
    """Return the per-run overrides offered by "Trigger DAG w/ config" (empty: use the Variable)."""

    def optional(kind: str, description: str, **schema: Any) -> Param:
        return Param(None, type=["null", kind], description=description, **schema)

    return {
        "start_from": optional("string", "Log id or ISO date to start this run from, instead of the checkpoint"),
        "log_types": optional("string", "Comma-separated log type codes (LOG_TYPES), e.g. s,f,fp"),
        "log_level": optional("integer", "Minimum level (LOG_LEVEL): 0 debug .. 4 critical", minimum=0, maximum=4),
        "batch_size": optional("integer", "Logs per batch (BATCH_SIZE)", minimum=1, maximum=1000),
        "send_as_batch": optional("boolean", "One request per batch (true) or per log (false)"),
        "format": optional("string", "json_array or json_lines", enum=[None, "json_array", "json_lines"]),
        "max_logs_per_run": optional("integer", "Stop reading after this many logs", minimum=1),
    }


def _run_info() -> tuple[tasks.RunInfo, dict[str, Any]]:
    context = get_current_context()
    dag_run = context["dag_run"]
    window = tasks.backfill_window(
        dag_run.run_type, context.get("data_interval_start"), context.get("data_interval_end")
    )
    info = tasks.RunInfo(dag_id=dag_run.dag_id, run_id=dag_run.run_id, window=window)
    return info, dict(context.get("params") or {})


def pipeline_dag(pipeline: Pipeline, *, schedule: str | None = None, doc_md: str | None = None) -> DAG:
    """Return the DAG of ``pipeline``; ``schedule`` overrides the pipeline's cron expression."""
    cron = schedule or pipeline.schedule
    with DAG(
        dag_id=pipeline.dag_id,
        # Runs cover the period between two ticks. Scheduled and manual runs read since the
        # checkpoint; backfill runs deliver exactly the logs dated in their [start, end) and leave
        # the checkpoint alone, so a backfill over any range tiles it without gaps.
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        params=trigger_params(),
        tags=["auth0", "webhooks"],
        doc_md=doc_md,
        default_args={"owner": "auth0-log-webhooks", "retries": 2, "retry_delay": timedelta(seconds=30)},
    ) as dag:

        @task(execution_timeout=timedelta(hours=2))
        def fetch() -> list[dict[str, Any]]:
            """Read, select and stage the logs since the checkpoint; return one chunk per delivery task."""
            run, params = _run_info()
            plan = tasks.fetch(pipeline, run, params)
            chunks = plan.pop("chunks")
            get_current_context()["ti"].xcom_push(key="plan", value=plan)
            return chunks

        @task(pool=pipeline.pool, map_index_template="{{ delivery_label }}", execution_timeout=timedelta(hours=2))
        def deliver(chunk: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
            """POST one chunk's batches to the webhook, one request at a time."""
            get_current_context()["delivery_label"] = chunk["label"]  # type: ignore[typeddict-unknown-key]
            run, _ = _run_info()
            return tasks.deliver(pipeline, run, plan, chunk)

        @task(trigger_rule="all_done_min_one_success", retries=0)
        def commit(plan: dict[str, Any]) -> dict[str, Any]:
            """Advance the checkpoint past what is delivered or kept; fail if anything is left."""
            run, _ = _run_info()
            return tasks.commit(pipeline, run, plan)

        chunks = fetch()
        plan = chunks["plan"]
        delivered = deliver.partial(plan=plan).expand(chunk=chunks)
        delivered >> commit(plan)
    return dag
