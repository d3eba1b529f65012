"""The health page's plugin: light to load in every task process, the real app behind it in the API server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from auth0_log_webhooks.wiring import health_app, health_plugin
from auth0_log_webhooks.wiring.health_plugin import URL_PREFIX, Auth0HealthPlugin, HealthApp

pytestmark = pytest.mark.unit

HEAVY = ("fastapi", "airflow.api_fastapi.core_api.security", "auth0_log_webhooks.wiring.health_app")


def test_loading_the_plugin_as_a_task_process_does_imports_no_fastapi_app() -> None:
    # Airflow's task runner loads every entry-point plugin; the app's imports cost ~1.3 s of CPU per task.
    probe = (
        "import json, sys\n"
        "from airflow.sdk.execution_time import task_runner\n"
        "before = set(sys.modules)\n"
        "from auth0_log_webhooks.wiring.health_plugin import Auth0HealthPlugin\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules and m not in before]))\n"
    )
    code = str(Path(health_plugin.__file__).parents[2])  # this checkout's package, whichever one is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (code, os.environ.get("PYTHONPATH"))))}
    command = [sys.executable, "-c", probe]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, check=True)
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_plugins_app_is_the_health_page_behind_airflows_sign_in() -> None:
    (entry,) = Auth0HealthPlugin.fastapi_apps
    assert entry["url_prefix"] == URL_PREFIX
    served = entry["app"]
    assert isinstance(served, HealthApp)
    # The first request imports the page's app and passes it on: its routes answer, behind Airflow's token.
    answer = TestClient(served).get("/api")
    assert answer.status_code == 401, answer.text
    assert served.app is health_app.app
