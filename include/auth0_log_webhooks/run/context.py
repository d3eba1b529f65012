"""Where a step runs: its DAG run, its backfill window and its settings.

Inside Airflow, :func:`current_run` reads the task's context; outside Airflow (tests, benchmarks)
a step gets a :class:`RunInfo` built by the caller and
:class:`~auth0_log_webhooks.run.variables.InMemoryVariables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from auth0_log_webhooks.pipelines.config import PipelineConfig, parse_variable, resolve_config
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.run_params import check_run_params
from auth0_log_webhooks.run.variables import Variables


@dataclass(frozen=True)
class RunInfo:
    """What a step needs to know about its DAG run: its ids, a backfill's ``[start, end)`` window, and
    the running task's try number (a fetch's try number names its staging generation)."""

    dag_id: str
    run_id: str
    window: tuple[datetime, datetime] | None = None
    try_number: int = 1
    started: datetime | None = None
    """From when a log counts as written while the run waited or ran (:func:`live_since`; None outside a task)."""


def backfill_window(run_type: object, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
    """Return a backfill run's ``[start, end)`` window; None for every other run (they use the checkpoint).

    ``run_type`` may be the Task SDK's ``DagRunType`` enum (whose ``str()`` is not its value) or a string.
    """
    kind = getattr(run_type, "value", run_type)
    if kind == "backfill" and start is not None and end is not None and start < end:
        return start, end
    return None


def live_since(run_type: object, run_after: object, start_date: object) -> datetime | None:
    """From when a log read by the run counts as written while the run waited or ran (event mode's follow-ups).

    A run that was asked for (by a run before it, the watcher's asset event, a user) counts from when it was asked
    (``run_after``): its fetch starts within a second of the run, too soon after the start for a tenant writing a
    few logs a second to show one (bench 12 saw chains break so). A scheduled run counts from its start, as its
    ``run_after`` is the tick, which older logs follow. None when Airflow gave neither.
    """
    kind = getattr(run_type, "value", run_type)
    if kind != "scheduled" and isinstance(run_after, datetime):
        return run_after
    return start_date if isinstance(start_date, datetime) else None


def current_run() -> tuple[RunInfo, dict[str, Any]]:
    """Return the running task's DAG run and its params (inside an Airflow task only)."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    dag_run = context["dag_run"]
    window = backfill_window(dag_run.run_type, context.get("data_interval_start"), context.get("data_interval_end"))
    try_number = int(getattr(context.get("ti"), "try_number", None) or 1)
    started = live_since(dag_run.run_type, getattr(dag_run, "run_after", None), getattr(dag_run, "start_date", None))
    run = RunInfo(
        dag_id=dag_run.dag_id,
        run_id=dag_run.run_id,
        window=window,
        try_number=try_number,
        started=started if isinstance(started, datetime) else None,
    )
    return run, dict(context.get("params") or {})


def load_config(pipeline: Pipeline, params: Mapping[str, Any] | None, variables: Variables) -> PipelineConfig:
    """Return the run's settings: the pipelines file's, its config Variable over them, the run's params over both.

    Only the params the pipeline's DAG declares may override a setting (``pipelines/run_params.py``).

    :raises UndeclaredParamError: if the params hold a key the DAG does not declare.
    :raises ConfigError: naming the Variable (or the params) and every bad field.
    """
    check_run_params(params, pipeline.kind, pipeline.dag_id, pipeline.config_variable)
    variable = parse_variable(variables.get(pipeline.config_variable), pipeline.config_variable)
    return resolve_config({**pipeline.settings, **variable}, params, pipeline.config_variable)
