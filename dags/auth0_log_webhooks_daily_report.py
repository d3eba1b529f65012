"""Daily report of the Auth0 log webhook pipelines (an Apache Airflow DAG; the original extension's daily Slack report).

Once a day at 07:00 UTC (the environment variable ``AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR`` sets
another hour): per pipeline, over the last 24 hours, the runs (failed ones counted and the last one
named with its error), the logs delivered, the dead letters kept, replayed and still waiting, and
the checkpoint as a date. Sent to the alerts webhook (Variable ``auth0_log_webhooks_alerts``,
connection ``auth0_alerts_default``); ``"daily_report": "on_failure"`` in that Variable sends it
only when something failed. See docs/operations.md, "Daily report".
"""

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.alarm_dags import report_dag

dag = report_dag(load_pipelines().pipelines, dag_id="auth0_log_webhooks_daily_report", doc_md=__doc__)
