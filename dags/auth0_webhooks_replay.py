"""
### Replay Auth0 log webhook dead letters (Apache Airflow)

Messages a webhook refused for good, or that ran out of attempts, are kept as dead letters (see the
pipeline's `dead_letter_url`). Trigger this DAG with config once the webhook is fixed: it re-sends
them through the pipeline's pool (`auth0_webhooks` by default) and removes each entry it delivers.
Leave `entries` empty to replay all of a pipeline's dead letters, or list entry ids
(`pipeline/webhook_id`, as the failed run's log names them). The run fails if any entry is still
refused; those stay kept.
"""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.replay_dag import replay_dag

_pipelines = load_pipelines().pipelines
if _pipelines:  # with no valid pipeline there is nothing to replay into (the check DAG file says why)
    dag = replay_dag(_pipelines, dag_id="auth0_webhooks_replay", doc_md=__doc__)
