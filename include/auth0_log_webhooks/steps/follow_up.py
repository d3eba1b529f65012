"""Backlogs drain without waiting for ticks: a run that stopped at ``max_logs_per_run`` starts the next.

In event mode a live tenant's runs follow each other the same way: a run whose fetch read a log the
pipeline did not cause, dated after the run was asked for (the summary's ``live``), starts the next at its
end, rather than leave it to the watcher's next poll and an asset-triggered run, which Airflow 3.3 can
hold back until the next parse of the DAG file (``event_mode/new_logs.py`` says why). The chain ends
with the first run that read no such log.

When a run's commit moved the checkpoint and reading had stopped at ``max_logs_per_run`` with more
logs waiting, the commit task asks Airflow for another run of the same DAG at once (the way
``TriggerDagRunOperator`` does, through the Task SDK: no metadata-DB access, no extra task). With
``max_active_runs=1`` the new run starts as soon as this one ends, and so on until a run reads less
than the cap. It works the same in cron and event mode. A run that failed (undelivered batches,
dead letters) does not drain: it fails loudly and the next tick retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.pipelines.run_params import SELECTING, SHAPING
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.task_io import FollowUpRun

log = logging.getLogger(__name__)

RUN_ID_PREFIX = "drain__"
CARRIED_PARAMS = tuple(name for name in (*SELECTING, *SHAPING) if name != "start_from")
"""Per-run overrides a follow-up keeps; ``start_from`` is not one (the follow-up reads on from the checkpoint)."""


def follow_up_conf(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params of the run that drains on: this run's overrides, without ``start_from``."""
    return {name: params[name] for name in CARRIED_PARAMS if params.get(name) is not None}


def follow_up_run_id(now: datetime | None = None) -> str:
    """A run id that says why the run exists, unique to the microsecond."""
    return f"{RUN_ID_PREFIX}{(now or datetime.now(UTC)).isoformat()}"


def needs_follow_up(summary: RunSummary) -> bool:
    """Whether the run stopped at its cap with more logs waiting after the committed checkpoint, or (event mode)
    read logs written while it ran."""
    return summary["more_to_read"] or summary.get("live", False)


def follow_up(run: RunInfo, summary: RunSummary, params: Mapping[str, Any]) -> FollowUpRun:
    """The run that reads on from where ``run`` committed, with ``run``'s per-run overrides."""
    run_id = follow_up_run_id()
    if summary["more_to_read"]:
        log.info(
            "Run %s stopped at max_logs_per_run with more logs after checkpoint %s; starting run %s now "
            "instead of waiting for the next tick.",
            run.run_id,
            summary["checkpoint"],
            run_id,
        )
        note = f"Drains the backlog left by {run.run_id} (it stopped at max_logs_per_run)."
    else:
        log.info(
            "Run %s read logs written while it ran; starting run %s now to read those after checkpoint %s, "
            "instead of waiting for the watcher's next poll.",
            run.run_id,
            run_id,
            summary["checkpoint"],
        )
        note = f"Reads on after {run.run_id}, which read logs written while it ran (event mode, live tenant)."
    return FollowUpRun(run_id=run_id, conf=follow_up_conf(params), note=note)
