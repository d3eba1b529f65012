"""
### Auth0 Authentication API webhooks (Apache Airflow)

Every 5 minutes, reads the tenant's logs since the last checkpoint (Variable
`auth0_authentication_api_webhooks_checkpoint`) through connection `auth0_default`, keeps every
event but Management API operations (or what `auth0_authentication_api_webhooks_config` selects),
and POSTs them in signed batches to connection `auth0_webhook_default`. Deliveries run as mapped
tasks in pool `auth0_webhooks`: its slots bound the concurrent webhook calls. The checkpoint
advances only past logs that were delivered or kept as dead letters.

Trigger with config to override settings for one run; backfill to re-deliver a date range.
Set `AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE` (a cron expression) to change the schedule, and
`AUTH0_AUTHENTICATION_API_WEBHOOKS_MODE=event` to also run within seconds of new logs (the schedule
stays as a safety net).
"""

import os

from auth0_log_webhooks.dag_factory import pipeline_dag
from auth0_log_webhooks.pipelines import AUTHENTICATION_API

dag = pipeline_dag(
    AUTHENTICATION_API,
    schedule=os.environ.get("AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE"),
    mode=os.environ.get("AUTH0_AUTHENTICATION_API_WEBHOOKS_MODE"),
    doc_md=__doc__,
)
