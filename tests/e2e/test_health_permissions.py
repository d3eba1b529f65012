"""The health page in Chromium, signed in as two users of different roles: each sees only the pipelines it may read,
traces a log among those only, and only the one who may change a paused pipeline's DAG gets its Resume button.

A separate ``airflow standalone`` (not the shared stack, whose users are all admins) runs with an
auth manager that grants per DAG (tests/e2e/dag_limited_auth.py: the simple auth manager, except
that a viewer may not read the Management API pipeline's DAG) and two users, ``admin`` and
``viewer``, who sign in with passwords. The page and its JSON answer are read through each user's
own browser session.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API
from dev.airflow_env import AirflowStandalone, terminate
from dev.waiting import Waiter
from tests.e2e.test_browser import SHOTS, VIEWPORT, browser, shot  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

START_LIMIT = 600.0  # seconds; a loaded machine needs minutes where an idle one needs 20 s
PASSWORDS = {"admin": "admin-" + os.urandom(6).hex(), "viewer": "viewer-" + os.urandom(6).hex()}


@dataclass
class ApiServer:
    """An ``airflow api-server`` and the URL it answers on."""

    url: str
    home: Path


@pytest.fixture(scope="module")
def per_dag_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """``airflow api-server`` with per-DAG permissions and two users who sign in.

    Not ``airflow standalone``: it forces the simple auth manager whatever is configured, so the test
    double would never be asked. The health page needs only the API server and the metadata DB.
    """
    workdir = tmp_path_factory.mktemp("roles")
    passwords = workdir / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    settings = AirflowStandalone(  # only for its environment: nothing of it is started
        workdir / "airflow",
        extra_env={
            "AIRFLOW__CORE__AUTH_MANAGER": "tests.e2e.dag_limited_auth.DagLimitedAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin,viewer:viewer",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        },
    )
    settings.home.mkdir(parents=True)
    env = settings.env()
    airflow = str(Path(settings.python).parent / "airflow")
    migrated = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, check=False)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    log_path = settings.home / "api-server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [airflow, "api-server", "--port", str(settings.port), "--host", "127.0.0.1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def answers() -> bool | None:
            assert process.poll() is None, f"airflow api-server exited; see {log_path}"
            try:
                return True if requests.get(f"{settings.url}/api/v2/monitor/health", timeout=2).ok else None
            except requests.RequestException:
                return None

        Waiter(START_LIMIT).until(f"airflow api-server to answer (see {log_path})", answers)
        yield ApiServer(settings.url, settings.home)
    finally:
        terminate(process, timeout=30)


def token(airflow: ApiServer, user: str) -> str:
    """``user``'s API token, as the UI's login form gets it."""
    answer = requests.post(
        f"{airflow.url}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def signed_in(chromium: Any, airflow: ApiServer, user: str) -> Any:
    """A browser context holding ``user``'s token in the cookie the UI sets after its login form."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": "_token", "value": token(airflow, user), "url": airflow.url}])
    return context


def health_of(context: Any, airflow: ApiServer, name: str) -> tuple[str, list[str]]:
    """The health page's text as the user sees it, and the pipeline ids of its JSON answer."""
    tab = context.new_page()
    tab.goto(f"{airflow.url}/log-webhooks-health/", wait_until="networkidle")
    shot(tab, f"health-page-{name}")
    text = tab.inner_text("body")
    answer = tab.request.get(f"{airflow.url}/log-webhooks-health/api")
    assert answer.status == 200
    return text, [pipeline["dag_id"] for pipeline in answer.json()]


def test_an_admin_sees_every_pipeline_and_a_viewer_only_those_it_may_read(
    browser: Any,  # noqa: F811
    per_dag_airflow: ApiServer,
) -> None:
    admin = signed_in(browser, per_dag_airflow, "admin")
    viewer = signed_in(browser, per_dag_airflow, "viewer")
    try:
        admin_text, admin_ids = health_of(admin, per_dag_airflow, "admin")
        viewer_text, viewer_ids = health_of(viewer, per_dag_airflow, "viewer")
    finally:
        admin.close()
        viewer.close()

    assert AUTHENTICATION_API.dag_id in admin_ids
    assert MANAGEMENT_API.dag_id in admin_ids
    assert MANAGEMENT_API.dag_id in admin_text
    assert AUTHENTICATION_API.dag_id in viewer_ids
    assert MANAGEMENT_API.dag_id not in viewer_ids
    assert MANAGEMENT_API.dag_id not in viewer_text  # nothing of it: not its section, title or numbers
    assert MANAGEMENT_API.title not in viewer_text
    assert AUTHENTICATION_API.dag_id in viewer_text


def test_without_a_sign_in_the_page_answers_nothing(per_dag_airflow: ApiServer) -> None:
    answer = requests.get(f"{per_dag_airflow.url}/log-webhooks-health/api", timeout=30)
    assert answer.status_code in (401, 403)


def full_shot(tab: Any, name: str) -> None:
    """Save a screenshot of the whole page as ``doors-<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"doors-{name}.png"), full_page=True)


def traced(context: Any, airflow: ApiServer, log_id: str, name: str) -> Any:
    """Type ``log_id`` into the health page's trace box as the context's user and press Trace; return the tab."""
    tab = context.new_page()
    tab.goto(f"{airflow.url}/log-webhooks-health/", wait_until="networkidle")
    tab.get_by_label("Trace a log").fill(log_id)
    tab.get_by_role("button", name="Trace", exact=True).click()
    tab.get_by_role("heading", name="Auth0 log webhooks: trace a log").wait_for()
    full_shot(tab, f"trace-{name}")
    return tab


def test_the_trace_box_answers_for_the_pipelines_the_user_may_read_only(
    browser: Any,  # noqa: F811
    per_dag_airflow: ApiServer,
) -> None:
    log_id = cursor_for_time(datetime.now(UTC) - timedelta(hours=1))
    admin = signed_in(browser, per_dag_airflow, "admin")
    viewer = signed_in(browser, per_dag_airflow, "viewer")
    try:
        admin_answer = traced(admin, per_dag_airflow, log_id, "admin")
        admin_sections = admin_answer.locator("section.trace").evaluate_all("all => all.map(s => s.id)")
        viewer_answer = traced(viewer, per_dag_airflow, log_id, "viewer")
        viewer_sections = viewer_answer.locator("section.trace").evaluate_all("all => all.map(s => s.id)")
        viewer_text = viewer_answer.inner_text("body")
    finally:
        admin.close()
        viewer.close()

    assert {AUTHENTICATION_API.dag_id, MANAGEMENT_API.dag_id} <= set(admin_sections)
    assert AUTHENTICATION_API.dag_id in viewer_sections
    assert MANAGEMENT_API.dag_id not in viewer_sections
    assert MANAGEMENT_API.dag_id not in viewer_text  # not even named


def admin_api(airflow: ApiServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    """Call Airflow's REST API as the admin."""
    headers = {"Authorization": f"Bearer {token(airflow, 'admin')}"}
    return requests.request(method, f"{airflow.url}/api/v2{path}", headers=headers, timeout=60, **kwargs)


def test_only_a_user_who_may_change_the_dag_gets_the_resume_button_and_pressing_it_resumes(
    browser: Any,  # noqa: F811
    per_dag_airflow: ApiServer,
) -> None:
    dag_id, now = AUTHENTICATION_API.dag_id, datetime.now(UTC)
    state = PauseState(
        failing_messages=3,
        failing_since=now - timedelta(hours=2),
        last_status=401,
        paused_at=now - timedelta(hours=1),
        checkpoint=cursor_for_time(now - timedelta(hours=2, minutes=5)),
    )
    name = state_variable(dag_id)
    made = admin_api(per_dag_airflow, "POST", "/variables", json={"key": name, "value": state.dumps()})
    assert made.status_code == 201, made.text
    admin = signed_in(browser, per_dag_airflow, "admin")
    viewer = signed_in(browser, per_dag_airflow, "viewer")
    try:
        # The viewer may read the pipeline, so sees that it is paused, but gets no button, and is told whom to ask.
        tab = viewer.new_page()
        tab.goto(f"{per_dag_airflow.url}/log-webhooks-health/", wait_until="networkidle")
        paused = tab.locator(f"section#{dag_id} div.paused")
        full_shot(tab, "resume-viewer")
        viewer_text = paused.inner_text()
        viewer_buttons = paused.locator("button").count()
        refused = tab.request.post(f"{per_dag_airflow.url}/log-webhooks-health/resume/{dag_id}")
        refused_status, refused_detail = refused.status, refused.json().get("detail", "")
        still_paused = admin_api(per_dag_airflow, "GET", f"/variables/{name}").status_code

        # The admin presses Resume; the page says what was done and the Variable is gone.
        tab = admin.new_page()
        tab.goto(f"{per_dag_airflow.url}/log-webhooks-health/", wait_until="networkidle")
        section = tab.locator(f"section#{dag_id}")
        section.get_by_role("button", name=f"Resume {dag_id}").click()
        section.locator("div.resumed").wait_for()
        full_shot(tab, "resume-admin")
        admin_text = section.locator("div.resumed").inner_text()
    finally:
        admin.close()
        viewer.close()
        admin_api(per_dag_airflow, "DELETE", f"/variables/{name}")

    assert viewer_text.startswith(f"Paused. {dag_id} is paused since {state.paused_at:%Y-%m-%d %H:%M:%S} UTC")
    assert "after 3 failing messages (the last: HTTP 401)" in viewer_text
    assert viewer_buttons == 0
    assert f"You may read {dag_id} but not change it, so you cannot resume it: ask someone whose Airflow role" in (
        viewer_text
    )
    assert f"python -m auth0_log_webhooks resume {dag_id}" in viewer_text
    assert refused_status == 403
    assert f"You may read {dag_id} but not change it" in refused_detail
    assert still_paused == 200
    assert f"Resumed {dag_id}: it was paused since {state.paused_at:%Y-%m-%d %H:%M:%S} UTC after 3 failing" in (
        admin_text
    )
    assert admin_api(per_dag_airflow, "GET", f"/variables/{name}").status_code == 404
