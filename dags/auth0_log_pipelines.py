"""
### Auth0 log webhooks: one DAG per entry of the pipelines file (Apache Airflow)

Each valid entry of `include/pipelines.yaml` (or the file `AUTH0_LOG_WEBHOOKS_PIPELINES` names)
becomes a DAG: on its schedule it reads the tenant's logs since its checkpoint (Variable
`<id>_checkpoint`) through its Auth0 connection, selects them (authentication: by type and level;
management: `sapi`/`fapi` by endpoint), applies its PII rules, and POSTs them in signed batches to
its webhook connection. Deliveries run as mapped tasks in its pool, whose slots bound the
concurrent webhook calls. The checkpoint advances only past logs delivered or kept as dead letters.

Trigger with config to override settings for one run; backfill to re-deliver a date range.
`<ID>_SCHEDULE` (e.g. `AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE`) overrides an entry's schedule,
`<ID>_MODE` its mode (`cron`, or `event`: also run within seconds of new logs, the schedule kept as a
safety net).
Invalid entries are left out here and reported by `auth0_pipelines_file_check.py`.
"""

import os

from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines, mode_env_var, schedule_env_var
from auth0_log_webhooks.wiring.pipeline_dag import pipeline_dag

for _pipeline in load_pipelines().pipelines.values():
    globals()[_pipeline.dag_id] = pipeline_dag(
        _pipeline,
        schedule=os.environ.get(schedule_env_var(_pipeline.dag_id)),
        mode=os.environ.get(mode_env_var(_pipeline.dag_id)),
        doc_md=f"#### {_pipeline.title} (`{_pipeline.kind}` pipeline)\n{__doc__}",
    )
