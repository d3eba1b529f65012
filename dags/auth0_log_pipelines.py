"""Auth0 log webhooks: one Airflow DAG per valid entry of the pipelines file (auth0_log_webhooks.wiring.dag_files).

Invalid entries are left out here and reported by `auth0_pipelines_file_check.py`.
"""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.dag_files import pipeline_dags

globals().update(pipeline_dags(load_pipelines().pipelines))
