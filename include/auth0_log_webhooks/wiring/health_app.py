"""The health page's FastAPI app, which the plugin :mod:`~auth0_log_webhooks.wiring.health_plugin` mounts.

The API server serves it at ``/log-webhooks-health/`` to signed-in users only (Airflow's own token,
the cookie the UI sets); the plugin imports this module on the page's first request, so no task
process pays for FastAPI and Airflow's API security modules. Its search box traces
a log at ``/log-webhooks-health/trace?log_id=...`` (:mod:`auth0_log_webhooks.monitoring.trace`),
among the pipelines the user may read.

Each pipeline is shown only to a user whom Airflow's auth manager lets read that pipeline's DAG
(``filter_authorized_dag_ids``, method GET): a user who may not read a DAG sees nothing of it, on the
page or in its JSON. A paused pipeline's Resume button (``POST resume/<dag_id>``) needs what Airflow
asks to pause or unpause that DAG (method PUT): the page shows the button only to those users, and
tells the others whom to ask; a request from them gets HTTP 403, and a pipeline the user may not
read is unknown (404). Dead letters are summarised from one listing, reading only the newest
:data:`~auth0_log_webhooks.monitoring.health_page.LAST_ERRORS` files per pipeline. What it shows is
gathered and rendered by :mod:`auth0_log_webhooks.monitoring.health_page`; this module only reads
Airflow's metadata (Variables, asset events), which the API server may do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import HTMLResponse

from auth0_log_webhooks.delivery.dead_letters import DeadLetterSummary
from auth0_log_webhooks.monitoring import health_page
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.wiring.metadata_variables import MetadataVariables


def asset_events(pipeline: Pipeline, since: datetime) -> list[tuple[datetime, Mapping[str, Any]]]:
    """Return the pipeline's committed-run events since ``since`` (timestamp, extra)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    from auth0_log_webhooks.monitoring.metrics import delivered_asset

    name = delivered_asset(pipeline.dag_id).name
    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.timestamp, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name, AssetEvent.timestamp >= since)
        ).all()
    return [(timestamp, extra or {}) for timestamp, extra in rows]


def dead_letters(pipeline: Pipeline) -> DeadLetterSummary:
    """Return the pipeline's dead letters waiting for replay: all counted, the newest few read."""
    from auth0_log_webhooks.steps.replay import pipeline_store

    store = pipeline_store(pipeline, MetadataVariables())
    return store.summary(pipeline.dag_id, read_at_most=health_page.LAST_ERRORS)


ReadableDags = Callable[[Iterable[str]], set[str]]
"""Which of some DAG ids the signed-in user may read."""


def readable_dags(user: GetUserDep) -> ReadableDags:
    """The DAG ids among those given that Airflow's auth manager lets ``user`` read (GET)."""
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    return lambda dag_ids: manager.filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="GET")


ReadableDagsDep = Annotated[ReadableDags, Depends(readable_dags)]


def editable_dags(user: GetUserDep) -> ReadableDags:
    """The DAG ids among those given that Airflow's auth manager lets ``user`` change (PUT, as pausing a DAG asks)."""
    from airflow.api_fastapi.app import get_auth_manager

    manager = get_auth_manager()
    return lambda dag_ids: manager.filter_authorized_dag_ids(dag_ids=set(dag_ids), user=user, method="PUT")


EditableDagsDep = Annotated[ReadableDags, Depends(editable_dags)]


def gather(readable: ReadableDags, editable: ReadableDags | None = None) -> list[health_page.PipelineHealth]:
    """Collect the health of every pipeline whose DAG the user may read, now (nothing is read for the others).

    :param editable: which DAGs the user may change; a paused pipeline shows its Resume button only to them
        (None: not asked, for the JSON answer, which has no button).
    """
    pipelines = load_pipelines().pipelines
    allowed = readable(pipelines)
    shown = {dag_id: pipeline for dag_id, pipeline in pipelines.items() if dag_id in allowed}
    healths = health_page.gather(shown, variables=MetadataVariables(), events=asset_events, dead_letters=dead_letters)
    paused = [health.dag_id for health in healths if health.pause is not None and health.pause.paused]
    if editable is not None and paused:
        may_change = editable(paused)
        for health in healths:
            health.may_resume = health.dag_id in may_change
    return healths


app = FastAPI(title="Auth0 log webhooks health")


@app.get("/", response_class=HTMLResponse)
def health_html(readable: ReadableDagsDep, editable: EditableDagsDep) -> str:
    """The health page (HTML) of the pipelines the signed-in user may read; Resume buttons where they may change."""
    return health_page.page(gather(readable, editable), datetime.now(UTC))


@app.get("/trace", response_class=HTMLResponse)
def trace_html(readable: ReadableDagsDep, log_id: str = "") -> HTMLResponse:
    """The search box's answer: what each pipeline the signed-in user may read did with ``log_id``."""
    from auth0_log_webhooks.monitoring.trace import InvalidLogIdError, trace
    from auth0_log_webhooks.wiring.trace_command import refetch

    pipelines = load_pipelines().pipelines
    allowed = readable(pipelines)
    shown = {dag_id: pipeline for dag_id, pipeline in pipelines.items() if dag_id in allowed}
    now = datetime.now(UTC)
    if not log_id.strip():
        return HTMLResponse(health_page.trace_page("", [], "Type or paste a log_id to trace.", now))
    try:
        traces = trace(log_id, shown, MetadataVariables(), fetch_log=refetch) if shown else []
    except InvalidLogIdError as exc:
        return HTMLResponse(health_page.trace_page("", [], str(exc), now), status_code=400)
    return HTMLResponse(health_page.trace_page(log_id.strip(), traces, None, now))


@app.get("/api")
def health_numbers(readable: ReadableDagsDep) -> list[dict[str, Any]]:
    """The page's numbers as JSON, for the pipelines the signed-in user may read."""
    return health_page.as_json(gather(readable))


@app.post("/resume/{dag_id}")
def resume(dag_id: str, readable: ReadableDagsDep, editable: EditableDagsDep) -> dict[str, str]:
    """Resume a paused pipeline (the Resume button): the user must be allowed to change its DAG.

    :raises HTTPException: 404 for a pipeline unknown or unreadable to the user, 403 if they may only read it.
    """
    from auth0_log_webhooks.delivery.auto_pause import resume as resume_pipeline

    pipelines = load_pipelines().pipelines
    if dag_id not in pipelines or dag_id not in readable([dag_id]):
        raise HTTPException(404, f"No pipeline {dag_id!r} that you may read.")
    if dag_id not in editable([dag_id]):
        raise HTTPException(
            403, f"You may read {dag_id} but not change it, so you cannot resume it; ask someone who may edit the DAG."
        )
    return {"message": resume_pipeline(pipelines[dag_id], MetadataVariables())}
