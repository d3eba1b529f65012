"""The health page's app asks Airflow's auth manager which pipeline DAGs the signed-in user may read.

A user who may not read a pipeline's DAG sees nothing of it: not its section, its numbers, its
checkpoint or its dead letters; nothing of it is even read. The metadata DB is replaced by
in-memory stand-ins; the auth manager by one that grants DAGs per user.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from auth0_log_webhooks.delivery.dead_letters import DeadLetterSummary
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.wiring import health_app

pytestmark = pytest.mark.unit

OPEN = Pipeline(dag_id="tenant_open_logs", title="Open tenant")
SECRET = Pipeline(dag_id="tenant_secret_logs", title="Secret tenant")
CHECKPOINTS = {
    OPEN.checkpoint_variable: "900" + "20261126050000" + "0" * 39,
    SECRET.checkpoint_variable: "900" + "20261126060000" + "0" * 39,
}


@dataclass
class User:
    name: str


class GrantingAuthManager:
    """Grants GET on the DAGs listed per user name, nothing else."""

    def __init__(self, grants: dict[str, set[str]]) -> None:
        self.grants = grants
        self.asked: list[tuple[str, str]] = []

    def filter_authorized_dag_ids(self, *, dag_ids: set[str], user: User, method: str = "GET") -> set[str]:
        self.asked.append((user.name, method))
        return dag_ids & self.grants.get(user.name, set())


@pytest.fixture
def read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two pipelines in memory; returns the dag ids whose dead letters or events the app read."""
    touched: list[str] = []
    monkeypatch.setattr(
        health_app, "load_pipelines", lambda: SimpleNamespace(pipelines={OPEN.dag_id: OPEN, SECRET.dag_id: SECRET})
    )
    monkeypatch.setattr(health_app, "MetadataVariables", lambda: InMemoryVariables(dict(CHECKPOINTS)))

    def events(pipeline: Pipeline, since: datetime) -> list[tuple[datetime, Any]]:
        touched.append(pipeline.dag_id)
        return []

    def dead_letters(pipeline: Pipeline) -> DeadLetterSummary:
        touched.append(pipeline.dag_id)
        return DeadLetterSummary([f"{pipeline.dag_id}/msg_{'a' * 40}"], [])

    monkeypatch.setattr(health_app, "asset_events", events)
    monkeypatch.setattr(health_app, "dead_letters", dead_letters)
    return touched


@pytest.fixture
def signed_in(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[GrantingAuthManager, Any]]:
    """The app with the auth manager replaced; ``sign_in(name)`` returns a client signed in as that user."""
    from airflow.api_fastapi.core_api.security import get_user

    manager = GrantingAuthManager({"operator": {OPEN.dag_id, SECRET.dag_id}, "viewer": {OPEN.dag_id}})
    monkeypatch.setattr("airflow.api_fastapi.app.get_auth_manager", lambda: manager)

    def sign_in(name: str) -> TestClient:
        health_app.app.dependency_overrides[get_user] = lambda: User(name)
        return TestClient(health_app.app)

    yield manager, sign_in
    health_app.app.dependency_overrides.clear()


def test_a_user_sees_only_the_pipelines_whose_dags_they_may_read(
    read: list[str], signed_in: tuple[GrantingAuthManager, Any]
) -> None:
    manager, sign_in = signed_in
    viewer = sign_in("viewer")

    page = viewer.get("/").text
    numbers = viewer.get("/api").json()

    assert [n["dag_id"] for n in numbers] == [OPEN.dag_id]
    assert OPEN.dag_id in page
    assert SECRET.dag_id not in page
    assert "Secret tenant" not in page
    assert "06:00:00" not in page  # the hidden pipeline's checkpoint date
    assert SECRET.dag_id not in read  # nothing of it was even read
    assert manager.asked == [("viewer", "GET"), ("viewer", "GET")]


def test_a_user_who_may_read_both_sees_both_and_one_who_may_read_none_sees_none(
    read: list[str], signed_in: tuple[GrantingAuthManager, Any]
) -> None:
    _, sign_in = signed_in
    assert [n["dag_id"] for n in sign_in("operator").get("/api").json()] == [OPEN.dag_id, SECRET.dag_id]
    nobody = sign_in("stranger")
    assert nobody.get("/api").json() == []
    assert "No pipeline to show: none is defined, or your Airflow role may not read the DAG of any." in (
        nobody.get("/").text
    )


def test_the_search_box_traces_a_log_in_the_pipelines_the_user_may_read_only(
    read: list[str], signed_in: tuple[GrantingAuthManager, Any]
) -> None:
    _, sign_in = signed_in
    viewer = sign_in("viewer")
    log_id = "900" + "20261126040000" + "0" * 39  # before both checkpoints

    assert 'action="trace"' in viewer.get("/").text
    answer = viewer.get("/trace", params={"log_id": f" {log_id} "})

    assert answer.status_code == 200
    assert f"{OPEN.dag_id}: from before the checkpoint" in answer.text
    assert f"Log {log_id} (2026-11-26 04:00:00 UTC) is from before pipeline {OPEN.dag_id}" in answer.text
    assert SECRET.dag_id not in answer.text
    assert "06:00:00" not in answer.text  # the hidden pipeline's checkpoint date


def test_the_search_box_refuses_what_is_not_a_log_id_without_echoing_it(
    read: list[str], signed_in: tuple[GrantingAuthManager, Any]
) -> None:
    _, sign_in = signed_in
    answer = sign_in("operator").get("/trace", params={"log_id": "<script>alert(1)</script>"})

    assert answer.status_code == 400
    assert "That is not an Auth0 log id" in answer.text
    assert "<script>alert" not in answer.text
    nobody = sign_in("stranger").get("/trace", params={"log_id": "900" + "20261126040000" + "0" * 39})
    assert "No pipeline to trace: none is defined, or your Airflow role may not read the DAG of any." in nobody.text


class EditingAuthManager(GrantingAuthManager):
    """Grants GET on every listed DAG, and PUT (change, as pausing a DAG asks) on the editors' only."""

    def __init__(self, grants: dict[str, set[str]], editors: set[str]) -> None:
        super().__init__(grants)
        self.editors = editors

    def filter_authorized_dag_ids(self, *, dag_ids: set[str], user: User, method: str = "GET") -> set[str]:
        readable = super().filter_authorized_dag_ids(dag_ids=dag_ids, user=user, method=method)
        return readable if method == "GET" or user.name in self.editors else set()


def test_resume_needs_the_right_to_change_the_pipelines_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.core_api.security import get_user

    from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable

    state = PauseState(
        failing_messages=5,
        failing_since=datetime(2026, 12, 3, 14, tzinfo=UTC),
        paused_at=datetime(2026, 12, 3, 15, tzinfo=UTC),
    )
    variables = InMemoryVariables({state_variable(OPEN.dag_id): state.dumps(), **CHECKPOINTS})
    monkeypatch.setattr(health_app, "load_pipelines", lambda: SimpleNamespace(pipelines={OPEN.dag_id: OPEN}))
    monkeypatch.setattr(health_app, "MetadataVariables", lambda: variables)
    monkeypatch.setattr(health_app, "asset_events", lambda pipeline, since: [])
    monkeypatch.setattr(health_app, "dead_letters", lambda pipeline: DeadLetterSummary([], []))
    manager = EditingAuthManager({"operator": {OPEN.dag_id}, "viewer": {OPEN.dag_id}}, editors={"operator"})
    monkeypatch.setattr("airflow.api_fastapi.app.get_auth_manager", lambda: manager)

    def client(name: str) -> TestClient:
        health_app.app.dependency_overrides[get_user] = lambda: User(name)
        return TestClient(health_app.app)

    try:
        viewer_page, operator_page = client("viewer").get("/").text, client("operator").get("/").text
        refused = client("viewer").post(f"/resume/{OPEN.dag_id}")
        unknown = client("stranger").post(f"/resume/{OPEN.dag_id}")
        assert state_variable(OPEN.dag_id) in variables.values
        resumed = client("operator").post(f"/resume/{OPEN.dag_id}")
    finally:
        health_app.app.dependency_overrides.clear()

    button = f'<button class="resume" data-dag="{OPEN.dag_id}">'
    assert button in operator_page
    assert button not in viewer_page
    assert f"You may read {OPEN.dag_id} but not change it, so you cannot resume it: ask someone" in viewer_page
    assert "is paused since 2026-12-03 15:00:00 UTC after 5 failing messages" in viewer_page
    assert refused.status_code == 403
    assert "may read tenant_open_logs but not change it" in refused.json()["detail"]
    assert unknown.status_code == 404
    assert resumed.status_code == 200
    assert resumed.json()["message"].startswith("Resumed tenant_open_logs: it was paused since 2026-12-03 15:00:00 UTC")
    assert state_variable(OPEN.dag_id) not in variables.values
