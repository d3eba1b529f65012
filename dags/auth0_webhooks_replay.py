"""
### Replay Auth0 log webhook dead letters (Apache Airflow)

Messages a webhook refused for good, or that ran out of attempts, are kept as dead letters (see the
pipeline's `dead_letter_url`). Trigger this DAG with config once the webhook is fixed: it re-sends
them through the same pool, `auth0_webhooks`, and removes each entry it delivers. Leave `entries`
empty to replay all of a pipeline's dead letters, or list entry ids (`pipeline/webhook_id`, as the
failed run's log names them). The run fails if any entry is still refused; those stay kept.
"""

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from auth0_log_webhooks import replay
from auth0_log_webhooks.pipelines import DEFAULT_POOL, PIPELINES
from auth0_log_webhooks.tasks import RunInfo


@dag(
    dag_id="auth0_webhooks_replay",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["auth0", "webhooks"],
    doc_md=__doc__,
    default_args={"owner": "auth0-log-webhooks", "retries": 1, "retry_delay": timedelta(seconds=30)},
    params={
        "pipeline": Param(
            "auth0_authentication_api_webhooks", type="string", enum=sorted(PIPELINES), description="whose dead letters"
        ),
        "entries": Param(None, type=["null", "array"], items={"type": "string"}, description="entry ids; empty: all"),
        "max_entries": Param(1000, type="integer", minimum=1, description="replay at most this many"),
        "max_tasks": Param(16, type="integer", minimum=1, maximum=1024, description="mapped delivery tasks"),
    },
)
def auth0_webhooks_replay() -> None:
    """Re-send kept messages, then report."""

    @task
    def choose(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Pick the dead letters to replay and split them into chunks."""
        params = params or {}
        return replay.plan_replay(params["pipeline"], params.get("entries"), params["max_entries"], params["max_tasks"])

    @task(pool=DEFAULT_POOL, map_index_template="{{ replay_label }}")
    def resend(chunk: dict[str, Any]) -> dict[str, int]:
        """Re-send one chunk of dead letters, one request at a time."""
        context = get_current_context()
        context["replay_label"] = chunk["label"]  # type: ignore[typeddict-unknown-key]
        run = RunInfo(dag_id=context["dag_run"].dag_id, run_id=context["dag_run"].run_id)
        return replay.replay_chunk(chunk, run)

    @task(trigger_rule="all_done_min_one_success", retries=0)
    def report(reports: list[dict[str, int]]) -> dict[str, int]:
        """Fail the run if any dead letter is still refused."""
        return replay.summarise(list(reports))

    report(resend.expand(chunk=choose()))


auth0_webhooks_replay()
