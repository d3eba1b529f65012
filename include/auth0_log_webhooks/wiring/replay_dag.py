"""The replay DAG: re-send a pipeline's dead letters through that pipeline's pool, one mapped task per pool."""

from __future__ import annotations

import re
from collections.abc import Mapping

from airflow.sdk import DAG, Param, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks.contracts import ReplayChunk, ReplayReport
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import current_run
from auth0_log_webhooks.run.task_io import AirflowTaskIO
from auth0_log_webhooks.wiring.pipeline_dag import DEFAULT_ARGS, START_DATE


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
        tags=["auth0", "webhooks", "replay"],
        description="Re-send a pipeline's dead letters once its webhook is fixed: trigger with the failed run's config",
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

        @task(show_return_value_in_logs=False)
        def choose() -> list[ReplayChunk]:
            """Pick the dead letters to replay and split them into chunks for their pipeline's pool."""
            from auth0_log_webhooks.steps import replay  # only the tasks need it (pipeline_dag.LAZY_STEPS)

            _, params = current_run()
            return replay.plan_replay(
                params["pipeline"], params.get("entries"), params["max_entries"], params["max_tasks"]
            )

        def resend(chunk: ReplayChunk) -> ReplayReport:
            """Re-send one chunk of dead letters, one request at a time."""
            if chunk["pool"] != get_current_context()["task"].pool:  # one resend task per pool: not this one's
                raise AirflowSkipException(f"{chunk['label']} are replayed in pool {chunk['pool']}")
            from auth0_log_webhooks.steps import replay  # only the tasks need it (pipeline_dag.LAZY_STEPS)

            run, _ = current_run()
            return replay.resend(chunk, run, AirflowTaskIO())

        @task(trigger_rule="all_done_min_one_success", retries=0, show_return_value_in_logs=False)
        def report(*per_pool: list[ReplayReport]) -> ReplayReport:
            """Fail the run if any dead letter is still refused."""
            from auth0_log_webhooks.steps import replay  # only the tasks need it (pipeline_dag.LAZY_STEPS)

            run, params = current_run()
            return replay.summarise([r for reports in per_pool for r in reports if r], params["pipeline"], run)

        chosen = choose()
        resent = [
            task(
                task_id="resend" if len(pools) == 1 else f"resend_{_task_id_part(pool)}",
                pool=pool,
                map_index_template="{{ task_label }}",
                show_return_value_in_logs=False,
            )(resend).expand(chunk=chosen)
            for pool in pools
        ]
        report(*resent)  # type: ignore[arg-type]  # TaskFlow resolves each XComArg to that pool's reports
    return dag
