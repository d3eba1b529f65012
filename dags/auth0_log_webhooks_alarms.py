"""Lag and retention alarms of the Auth0 log webhook pipelines (an Apache Airflow DAG).

Every 5 minutes (env ``AUTH0_LOG_WEBHOOKS_ALARMS_SCHEDULE``, a cron expression, overrides it): how far
each pipeline's checkpoint is behind the tenant's newest log, and how long until the checkpoint's
logs leave the tenant's log retention. When an alarm fires or clears, one message goes to the
alerts webhook (Variable ``auth0_log_webhooks_alerts``, connection ``auth0_alerts_default``). See
docs/operations.md, "Watching it".
"""

import os

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.alarm_dags import alarms_dag

dag = alarms_dag(
    load_pipelines().pipelines,
    dag_id="auth0_log_webhooks_alarms",
    schedule=os.environ.get("AUTH0_LOG_WEBHOOKS_ALARMS_SCHEDULE") or "*/5 * * * *",
    doc_md=__doc__,
)
