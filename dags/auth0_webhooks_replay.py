"""Auth0 log webhooks: the Airflow DAG that replays dead letters (auth0_log_webhooks.wiring.dag_files)."""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.dag_files import replay_dags

globals().update(replay_dags(load_pipelines().pipelines))  # none without a valid pipeline: the check file says why
