"""DAG files of a few lines: every DAG of the pipelines file, built into a DAG file's namespace.

A deployment that installed the package needs one DAG file in its DAGs folder, three lines (the
docstring names Airflow and DAGs because the DAG processor skips files without those words)::

    \"\"\"Auth0 log webhooks: the Airflow DAGs of every pipeline in the pipelines file.\"\"\"
    from auth0_log_webhooks.wiring.dag_files import build_dags
    build_dags(globals())

:func:`build_dags` adds a DAG per valid entry of the pipelines file (see
:func:`auth0_log_webhooks.pipelines.pipelines_file.pipelines_path` for which file), the replay DAG,
the alarms DAG and the daily report DAG. It logs bad entries; a second file calling
:func:`check_pipelines_file` shows them in the UI as that file's import error while the valid
pipelines keep running. The DAG files of this repository's ``dags/`` call the same functions, one
kind of DAG per file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, MutableMapping
from typing import Any

from airflow.sdk import DAG, get_parsing_context

from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines, mode_env_var, schedule_env_var
from auth0_log_webhooks.wiring.alarm_dags import alarms_dag, report_dag
from auth0_log_webhooks.wiring.pipeline_dag import pipeline_dag
from auth0_log_webhooks.wiring.replay_dag import replay_dag

log = logging.getLogger(__name__)

REPLAY_DAG_ID = "auth0_webhooks_replay"
ALARMS_DAG_ID = "auth0_log_webhooks_alarms"
REPORT_DAG_ID = "auth0_log_webhooks_daily_report"

PIPELINE_DOC = """
Each valid entry of the pipelines file becomes a DAG: on its schedule it reads the tenant's logs
since its checkpoint (Variable `<id>_checkpoint`) through its Auth0 connection, selects them
(authentication: by type and level; management: `sapi`/`fapi` by endpoint), applies its PII rules,
and POSTs them in signed batches to its webhook connection. Deliveries run as mapped tasks in its
pool, whose slots bound the concurrent webhook calls. The checkpoint advances only past logs
delivered or kept as dead letters.

Trigger with config to override settings for one run; backfill to re-deliver a date range.
`<ID>_SCHEDULE` (e.g. `AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE`) overrides an entry's schedule,
`<ID>_MODE` its mode (`cron`, or `event`: also run within seconds of new logs, with a cron safety net: the
entry's `safety_net`, else its `schedule` if it sets one, else hourly at a minute of the pipeline's own).
The pipelines file is the Airflow setting `[auth0_log_webhooks] pipelines_file`, else the
file `AUTH0_LOG_WEBHOOKS_PIPELINES` names, else the example the package ships.
"""

REPLAY_DOC = """
### Replay Auth0 log webhook dead letters

Messages a webhook refused for good, or that ran out of attempts, are kept as dead letters (see the
pipeline's `dead_letter_url`). Trigger this DAG with config once the webhook is fixed: it re-sends
them through the pipeline's pool (`auth0_webhooks` by default) and removes each entry it delivers.
Leave `entries` empty to replay all of a pipeline's dead letters, or list entry ids
(`pipeline/webhook_id`, as the failed run's log names them). The run fails if any entry is still
refused; those stay kept.
"""

ALARMS_DOC = """
### Lag and retention alarms of the Auth0 log webhook pipelines

Every 5 minutes (env `AUTH0_LOG_WEBHOOKS_ALARMS_SCHEDULE`, a cron expression, overrides it): how far
each pipeline's checkpoint is behind the tenant's newest log, and how long until the checkpoint's
logs leave the tenant's log retention. When an alarm fires or clears, one message goes to the
alerts webhook (Variable `auth0_log_webhooks_alerts`, connection `auth0_alerts_default`). See
docs/operations.md, "Watching it".
"""

REPORT_DOC = """
### Daily report of the Auth0 log webhook pipelines (the original extension's daily Slack report)

Once a day at 07:00 UTC (the environment variable `AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR` sets
another hour): per pipeline, over the last 24 hours, the runs (failed ones counted and the last one
named with its error), the logs delivered, the dead letters kept, replayed and still waiting, and
the checkpoint as a date. Sent to the alerts webhook (Variable `auth0_log_webhooks_alerts`,
connection `auth0_alerts_default`); `"daily_report": "on_failure"` in that Variable sends it only
when something failed. See docs/operations.md, "Daily report".
"""


def wanted(dag_id: str) -> bool:
    """Return True if this parse needs DAG ``dag_id``: always, but in a task's process only the task's own DAG.

    A task process parses the DAG file to find its task (Airflow names the DAG in the parsing context);
    building every pipeline's DAG there costs each task of a file with many pipelines a DAG per pipeline.
    """
    running = get_parsing_context().dag_id
    return running is None or running == dag_id


def pipeline_dags(pipelines: Mapping[str, Pipeline]) -> dict[str, DAG]:
    """Return a DAG per pipeline by DAG id, with the ``<ID>_SCHEDULE`` and ``<ID>_MODE`` overrides applied
    (in a task's process, only the task's DAG: :func:`wanted`)."""
    return {
        pipeline.dag_id: pipeline_dag(
            pipeline,
            schedule=os.environ.get(schedule_env_var(pipeline.dag_id)),
            mode=os.environ.get(mode_env_var(pipeline.dag_id)),
            doc_md=f"#### {pipeline.title} (`{pipeline.kind}` pipeline)\n{PIPELINE_DOC}",
        )
        for pipeline in pipelines.values()
        if wanted(pipeline.dag_id)
    }


def replay_dags(pipelines: Mapping[str, Pipeline]) -> dict[str, DAG]:
    """Return the replay DAG over the pipelines, or nothing when there is no pipeline to replay into."""
    if not pipelines or not wanted(REPLAY_DAG_ID):
        return {}
    return {REPLAY_DAG_ID: replay_dag(pipelines, dag_id=REPLAY_DAG_ID, doc_md=REPLAY_DOC)}


def alarms_dags(pipelines: Mapping[str, Pipeline]) -> dict[str, DAG]:
    """Return the lag and retention alarms DAG over every pipeline."""
    if not wanted(ALARMS_DAG_ID):
        return {}
    schedule = os.environ.get("AUTH0_LOG_WEBHOOKS_ALARMS_SCHEDULE") or "*/5 * * * *"
    return {ALARMS_DAG_ID: alarms_dag(pipelines, dag_id=ALARMS_DAG_ID, schedule=schedule, doc_md=ALARMS_DOC)}


def report_dags(pipelines: Mapping[str, Pipeline]) -> dict[str, DAG]:
    """Return the daily report DAG over every pipeline."""
    if not wanted(REPORT_DAG_ID):
        return {}
    return {REPORT_DAG_ID: report_dag(pipelines, dag_id=REPORT_DAG_ID, doc_md=REPORT_DOC)}


def build_dags(namespace: MutableMapping[str, Any]) -> list[str]:
    """Add every DAG of the pipelines file to ``namespace`` (a DAG file's ``globals()``); return their ids.

    Bad entries of the file are logged (the valid ones still become DAGs); :func:`check_pipelines_file`
    in a DAG file of its own shows them in the UI.
    """
    loaded = load_pipelines()
    for error in loaded.errors:
        log.warning("pipelines file %s: %s (left out; the other pipelines still run)", loaded.path, error)
    dags = {
        **pipeline_dags(loaded.pipelines),
        **replay_dags(loaded.pipelines),
        **alarms_dags(loaded.pipelines),
        **report_dags(loaded.pipelines),
    }
    namespace.update(dags)
    return list(dags)


def check_pipelines_file() -> None:
    """Fail the calling DAG file's import, naming each bad entry of the pipelines file, if there is any.

    :raises PipelinesFileError: naming the file, each bad entry and its field.
    """
    load_pipelines().raise_errors()
