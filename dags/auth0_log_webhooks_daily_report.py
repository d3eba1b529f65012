"""Auth0 log webhooks: the Airflow DAG of the daily report (auth0_log_webhooks.wiring.dag_files)."""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.dag_files import report_dags

globals().update(report_dags(load_pipelines().pipelines))
