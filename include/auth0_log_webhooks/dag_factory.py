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

from airflow.sdk import DAG, CronDataIntervalTimetable, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks import replay
from auth0_log_webhooks.contracts import Chunk, DeliveryReport, ReplayChunk, ReplayReport, RunSummary
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.runtime import current_run
from auth0_log_webhooks.steps import commit as commit_step
from auth0_log_webhooks.steps import deliver as deliver_step
from auth0_log_webhooks.steps import fetch as fetch_step

START_DATE = datetime(2026, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {"owner": "auth0-log-webhooks", "retries": 2, "retry_delay": timedelta(seconds=30)}


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


def _label_map_index(key: str, label: str) -> None:
    """Give the running mapped task the label its ``map_index_template`` renders."""
    get_current_context()[key] = label  # type: ignore[literal-required]


def pipeline_dag(pipeline: Pipeline, *, schedule: str | None = None, doc_md: str | None = None) -> DAG:
    """Return the DAG of ``pipeline``; ``schedule`` overrides the pipeline's cron expression (None: triggered only)."""
    with DAG(
        dag_id=pipeline.dag_id,
        # Runs cover the period between two ticks. Scheduled and manual runs read since the
        # checkpoint; backfill runs deliver exactly the logs dated in their [start, end) and leave
        # the checkpoint alone, so a backfill over any range tiles it without gaps.
        schedule=CronDataIntervalTimetable(cron, timezone="UTC") if (cron := schedule or pipeline.schedule) else None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        # A management pipeline delivers sapi/fapi only: its type and level filters are not offered.
        params={k: v for k, v in trigger_params().items() if pipeline.kind != "management" or not k.startswith("log_")},
        tags=["auth0", "webhooks", pipeline.kind],
        doc_md=doc_md,
        default_args=DEFAULT_ARGS,
    ) as dag:

        @task(execution_timeout=timedelta(hours=2))
        def fetch() -> list[Chunk]:
            """Read, select and stage the logs since the checkpoint; plan one chunk per delivery task."""
            run, params = current_run()
            return fetch_step.fetch_logs(pipeline, run, params)

        @task(pool=pipeline.pool, map_index_template="{{ delivery_label }}", execution_timeout=timedelta(hours=2))
        def deliver(chunk: Chunk) -> DeliveryReport:
            """POST one chunk's batches to the webhook, one request at a time."""
            _label_map_index("delivery_label", chunk["label"])
            run, _ = current_run()
            return deliver_step.deliver_chunk(pipeline, run, chunk)

        # all_done: commit runs after failed deliveries (to keep what is settled) and after a skipped
        # deliver (nothing was selected: the checkpoint still moves past the logs that were read). After
        # a failed fetch it fails too (nothing staged), so the run is never green when nothing was read.
        @task(trigger_rule="all_done", retries=0)
        def commit() -> RunSummary:
            """Advance the checkpoint past what is delivered or kept; fail if anything is left."""
            run, _ = current_run()
            return commit_step.commit_checkpoint(pipeline, run)

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
                sorted(pipelines)[0], type="string", enum=sorted(pipelines), description="whose dead letters"
            ),
            "entries": Param(
                None,
                type=["null", "array"],
                items={"type": "string", "pattern": r"^[A-Za-z0-9_][A-Za-z0-9_.-]*/msg_[0-9a-f]{40}$"},
                description="entry ids (<pipeline>/msg_<40 hex>, of the chosen pipeline); empty: all",
            ),
            "max_entries": Param(1000, type="integer", minimum=1, description="replay at most this many"),
            "max_tasks": Param(16, type="integer", minimum=1, maximum=1024, description="mapped delivery tasks"),
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
            return replay.replay_chunk(chunk, run)

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
