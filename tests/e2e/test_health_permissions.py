"""The health page in Chromium, signed in as two users of different roles: each sees only the pipelines it may read.

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
from pathlib import Path
from typing import Any

import pytest
import requests

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API
from dev.airflow_env import AirflowStandalone, terminate
from dev.waiting import Waiter
from tests.e2e.test_browser import VIEWPORT, browser, shot  # noqa: F401 (fixture)

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


def signed_in(chromium: Any, airflow: ApiServer, user: str) -> Any:
    """A browser context holding ``user``'s token in the cookie the UI sets after its login form."""
    answer = requests.post(
        f"{airflow.url}/auth/token", json={"username": user, "password": PASSWORDS[user]}, timeout=30
    )
    assert answer.status_code == 201, answer.text
    context = chromium.new_context(viewport=VIEWPORT)
    context.add_cookies([{"name": "_token", "value": answer.json()["access_token"], "url": airflow.url}])
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
