"""Daily report of the Auth0 log webhook pipelines (an Apache Airflow DAG; the original extension's daily Slack report).

At 07:00 UTC: per pipeline, the logs delivered over the last 24 hours (from the asset events its
committed runs left), the dead letters kept and still waiting for replay, and the checkpoint as a
date. Sent to the alerts webhook (Variable ``auth0_log_webhooks_alerts``, connection
``auth0_alerts_default``).
"""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.alarm_dags import report_dag

dag = report_dag(load_pipelines().pipelines, dag_id="auth0_log_webhooks_daily_report", doc_md=__doc__)
