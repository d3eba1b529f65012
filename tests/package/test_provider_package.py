"""The wheel in an Airflow it did not come with: a new virtual environment holding only Airflow and the wheel.

The wheel is built from this checkout (from its sdist, as ``make dist`` does) and installed with
``apache-airflow`` at the locked version, every package checked against the hashes in
constraints.txt (Airflow's pins plus ours), the wheel against its own. Nothing of the repository is
on the path: the DAG file and the pipelines file live in a temporary folder, as a deployment's would.
uv and its cache make the install take seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.airflow_env import free_port, terminate
from dev.auth0_tenant.testing import FIXED_SET
from tests.conftest import REPO
from tests.fixture_types import SinkFactory, TenantFactory

pytestmark = [pytest.mark.package, pytest.mark.slow]

AIRFLOW_PIN = re.compile(r"^apache-airflow==(\S+)((?: \\\n\s+--hash=sha256:[0-9a-f]+)+)", re.MULTILINE)
DAG_FILE = (
    '"""Auth0 log webhooks: the Airflow DAGs of every pipeline in the pipelines file."""\n'
    "from auth0_log_webhooks.wiring.dag_files import build_dags\n"
    "build_dags(globals())\n"
)
"""The three lines docs/installing.md tells a deployment to add."""
AUTHORIZATION = "Bearer package-test-credential"
API_SERVER_START_LIMIT = 600.0  # seconds; a loaded machine needs minutes where an idle one needs 30 s


@dataclass
class Installed:
    """A virtual environment with Airflow and the wheel, and an AIRFLOW_HOME with its DAG and pipelines files."""

    venv: Path
    home: Path
    wheel: Path

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a deployment: no variable of this repository's Airflow, venv, or path."""
        drop = ("AIRFLOW_", "AIRFLOW__", "AUTH0_", "PYTHON", "VIRTUAL_ENV")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
        env.update(
            {
                "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__AUTH0_LOG_WEBHOOKS__PIPELINES_FILE": str(self.home / "auth0_pipelines.yaml"),
            }
        )
        env.update(extra or {})
        return env

    def airflow(
        self, *args: str, extra: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """Run the venv's ``airflow`` CLI in AIRFLOW_HOME (outside the repository)."""
        return subprocess.run(
            [str(self.venv / "bin" / "airflow"), *args],
            env=self.env(extra),
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def build_wheel(out: Path) -> Path:
    """Build the sdist and, from it, the wheel with the locked setuptools; return the wheel."""
    uv = Path(sys.executable).parent / "uv"
    done = subprocess.run(
        [
            str(uv),
            "build",
            "--quiet",
            "--python",
            sys.executable,
            "--no-build-isolation",
            "--out-dir",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return wheel


def install(venv: Path, wheel: Path, requirements: Path) -> None:
    """Create ``venv`` and install only the locked apache-airflow and the wheel, every hash checked."""
    constraints = (REPO / "constraints.txt").read_text()
    pin = AIRFLOW_PIN.search(constraints)
    assert pin, "constraints.txt pins no apache-airflow with hashes"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements.write_text(
        f"apache-airflow=={pin.group(1)}{pin.group(2)}\nauth0-log-webhooks @ {wheel.as_uri()} --hash=sha256:{digest}\n"
    )
    uv = Path(sys.executable).parent / "uv"
    for command in (
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "--require-hashes",
            "-r", str(requirements), "-c", str(REPO / "constraints.txt"),
        ],
    ):  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel installed beside Airflow in a new venv, an AIRFLOW_HOME with the DAG file, a migrated DB."""
    work = tmp_path_factory.mktemp("package")
    wheel = build_wheel(work / "dist")
    install(work / "venv", wheel, work / "requirements.txt")
    home = work / "airflow_home"
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "auth0_log_webhooks_dags.py").write_text(DAG_FILE)
    (home / "auth0_pipelines.yaml").write_text(
        yaml.safe_dump({"pipelines": [{"id": AUTHENTICATION_API.dag_id, "kind": "authentication",
                                       "webhook_connection": "auth0_webhook_default"}]})
    )  # fmt: skip
    result = Installed(work / "venv", home, wheel)
    migrated = result.airflow("db", "migrate", timeout=600)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    return result


def test_the_venv_holds_the_wheel_not_this_checkout(installed: Installed) -> None:
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import auth0_log_webhooks; print(auth0_log_webhooks.__file__)"],
        env=installed.env(),
        cwd=installed.home,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.venv)


def test_airflow_lists_the_provider_with_its_connection_types(installed: Installed) -> None:
    listed = installed.airflow("providers", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    (ours,) = [p for p in json.loads(listed.stdout) if p["package_name"] == "auth0-log-webhooks"]
    assert ours["version"] == "0.2.0"
    hooks = installed.airflow("providers", "hooks", "-o", "json")
    assert hooks.returncode == 0, hooks.stderr[-3000:]
    types = {
        h["connection_type"]: h["class"] for h in json.loads(hooks.stdout) if h["package_name"] == ours["package_name"]
    }
    assert types == {
        "auth0": "auth0_log_webhooks.hooks.auth0.Auth0Hook",
        "auth0_webhook": "auth0_log_webhooks.hooks.webhook.WebhookHook",
    }
    setting = installed.airflow("config", "get-value", "auth0_log_webhooks", "pipelines_file")
    assert setting.stdout.strip() == str(installed.home / "auth0_pipelines.yaml")


def connections(tenant: Any, sink: Any, secret: str) -> dict[str, str]:
    """The pipeline's connections as AIRFLOW_CONN_* JSON, pointed at the emulator and the sink."""
    host, port = tenant.domain.split(":")
    auth0 = {
        "conn_type": "auth0", "host": host, "port": int(port), "login": tenant.client_id,
        "password": tenant.client_secret, "extra": {"scheme": "http"},
    }  # fmt: skip
    webhook = {
        "conn_type": "auth0_webhook", "host": sink.hook_url, "password": AUTHORIZATION,
        "extra": {"signing_secret": secret, "allow_private_network": "true"},
    }  # fmt: skip
    return {"AIRFLOW_CONN_AUTH0_DEFAULT": json.dumps(auth0), "AIRFLOW_CONN_AUTH0_WEBHOOK_DEFAULT": json.dumps(webhook)}


def test_the_three_line_dag_file_delivers_every_log_once(
    installed: Installed, auth0_tenant_factory: TenantFactory, webhook_sink_factory: SinkFactory
) -> None:
    tenant = auth0_tenant_factory(logs=600, seed=24, history_days=1, rate_limit_per_minute=0, **FIXED_SET)
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    sink = webhook_sink_factory(secrets=(secret,), authorization=AUTHORIZATION)
    pool = installed.airflow("pools", "set", AUTHENTICATION_API.pool, "5", "Auth0 log webhooks")
    assert pool.returncode == 0, pool.stderr[-3000:]
    env = connections(tenant, sink, secret)
    ran = installed.airflow("dags", "test", AUTHENTICATION_API.dag_id, extra=env, timeout=900)
    expected = [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]
    summary = sink.summary()
    assert len(expected) > 400  # the tenant's history, all but its sapi/fapi logs
    assert sorted(sink.log_ids()) == sorted(expected), (ran.stdout[-3000:], ran.stderr[-3000:])
    assert (summary["duplicate_log_ids"], summary["bad_signatures"]) == (0, 0), summary
    assert ran.returncode == 0, ran.stderr[-3000:]  # the deadline alert is left out under dags test (DeadlineDAG)
    checkpoint = installed.airflow("variables", "get", AUTHENTICATION_API.checkpoint_variable, extra=env)
    assert checkpoint.stdout.strip() == tenant.all_log_ids()[-1]  # committed: the run ended, not just delivered


@pytest.fixture
def api_server(installed: Installed) -> Iterator[str]:
    """``airflow api-server`` of the venv, on a free port; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (installed.home / "api-server.log").open("ab")
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "airflow"), "api-server", "--port", str(port), "--host", "127.0.0.1"],
        env=installed.env(),
        cwd=installed.home,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + API_SERVER_START_LIMIT
        while time.monotonic() < deadline:
            assert process.poll() is None, f"airflow api-server exited; see {installed.home / 'api-server.log'}"
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        else:
            log_file = installed.home / "api-server.log"
            pytest.fail(f"airflow api-server did not answer within {API_SERVER_START_LIMIT:.0f} s; see {log_file}")
        yield url
    finally:
        terminate(process, timeout=30)
        log.close()


def test_the_health_page_answers_from_the_package_plugin(installed: Installed, api_server: str) -> None:
    token = requests.get(f"{api_server}/auth/token", timeout=30)  # every user is an admin here: no credentials
    assert token.status_code == 201, token.text[:2000]
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    numbers = requests.get(f"{api_server}/log-webhooks-health/api", headers=headers, timeout=60)
    assert numbers.status_code == 200, numbers.text[:2000]
    assert [p["dag_id"] for p in numbers.json()] == [AUTHENTICATION_API.dag_id]
    page = requests.get(f"{api_server}/log-webhooks-health/", headers=headers, timeout=60)
    assert page.status_code == 200
    assert AUTHENTICATION_API.dag_id in page.text  # the entry has no title: the page names it by its id
