"""Auth0 log webhooks: the Airflow DAG of the lag and retention alarms (auth0_log_webhooks.wiring.dag_files)."""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.dag_files import alarms_dags

globals().update(alarms_dags(load_pipelines().pipelines))
