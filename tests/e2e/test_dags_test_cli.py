"""``airflow dags test <dag_id>``, the real CLI, exits 0 for every DAG of the project on a successful run.

Each DAG runs once in a subprocess, as a user (or ``astro dev run dags test``) would: its own
AIRFLOW_HOME on SQLite, the repository's dags/, connections to the local tenant emulator, webhook
sink and alerts receiver as ``AIRFLOW_CONN_*``, the config Variables as ``AIRFLOW_VAR_*``. The
pipeline DAGs carry their run deadline alert, which Airflow 3.3.2's ``dag.test()`` cannot handle
(wiring/run_deadlines.py, ``DeadlineDAG``): without the workaround they exit 1 after "Marking run
... successful".
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE
from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from dev.airflow_env import AirflowStandalone
from dev.alerts_receiver import AlertsReceiver
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle, start_emulator
from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig
from tests.e2e.conftest import auth0_connection

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AUTHORIZATION = "Bearer dags-test-credential"
MANAGEMENT_TYPES = ("sapi", "fapi")


@dataclass
class Cli:
    """The ``airflow`` command of this venv, its environment, and the servers its DAGs talk to."""

    airflow: Path
    env: dict[str, str]
    tenant: EmulatorHandle
    sink: SinkServer
    alerts: AlertsReceiver

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args`` and return what it did (never raises on a non-zero exit)."""
        return subprocess.run(
            [str(self.airflow), *args], env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )


def env_connection(entry: dict[str, Any]) -> str:
    """Turn an airflow_settings.yaml-style connection entry into an ``AIRFLOW_CONN_*`` JSON value."""
    keys = {"conn_type": "conn_type", "conn_host": "host", "conn_port": "port", "conn_login": "login"}
    keys |= {"conn_password": "password", "conn_extra": "extra"}
    return json.dumps({keys[k]: v for k, v in entry.items()})


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """A migrated AIRFLOW_HOME whose connections point at a fresh emulator, sink and alerts receiver."""
    workdir = tmp_path_factory.mktemp("dags_test")
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    tenant = start_emulator(logs=300, seed=19, **FIXED_SET)
    sink = start_sink(SinkConfig(record_path=workdir / "sink.jsonl", secrets=(secret,), authorization=AUTHORIZATION))
    alerts = AlertsReceiver()
    standalone = AirflowStandalone(workdir / "airflow")  # only for its environment: nothing is started
    env = standalone.env()
    webhook = {
        "conn_type": "auth0_webhook",
        "conn_host": f"{sink.url}/hook",
        "conn_password": AUTHORIZATION,
        "conn_extra": {"signing_secret": secret, "allow_private_network": True},
    }
    alerts_connection = {
        "conn_type": "auth0_webhook",
        "conn_host": alerts.url,
        "conn_extra": {"allow_private_network": True},
    }
    pipelines = load_pipelines().pipelines.values()
    for pipeline in pipelines:
        env[f"AIRFLOW_CONN_{pipeline.auth0_conn_id.upper()}"] = env_connection(auth0_connection(tenant))
        env[f"AIRFLOW_CONN_{pipeline.webhook_conn_id.upper()}"] = env_connection(webhook)
        config = {"staging_url": f"file://{workdir}/staging", "dead_letter_url": f"file://{workdir}/dead"}
        env[f"AIRFLOW_VAR_{pipeline.config_variable.upper()}"] = json.dumps(config)
    env["AIRFLOW_CONN_AUTH0_ALERTS_DEFAULT"] = env_connection(alerts_connection)
    env[f"AIRFLOW_VAR_{ALERTS_VARIABLE.upper()}"] = json.dumps({"notify_success": True})
    handle = Cli(Path(standalone.python).parent / "airflow", env, tenant, sink, alerts)
    try:
        migrated = handle.run("db", "migrate")
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        yield handle
    finally:
        alerts.stop()
        sink.stop()
        tenant.stop()


def test_a_preview_through_dags_test_and_the_package_cli_renders_and_sends_stages_and_commits_nothing(cli: Cli) -> None:
    dag_id = next(p.dag_id for p in load_pipelines().pipelines.values() if p.kind == "authentication")
    checkpoint = f"{dag_id}_checkpoint"
    before = len(cli.sink.state.requests())

    run = cli.run("dags", "test", dag_id, "--conf", json.dumps({"preview": 2, "format": "cloudevents"}))
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-2000:]
    assert f"Preview of {dag_id}: nothing was sent, nothing was staged" in output, output[-3000:]
    assert "Message 2 of 2:" in output
    assert "Content-Type: application/cloudevents-batch+json" in output
    assert "webhook-signature: present: 1 v1 signature, one per signing secret (not shown)" in output
    assert AUTHORIZATION not in output
    assert "nothing to commit and the checkpoint stays where it is" in output  # the commit task skipped

    command = [str(cli.airflow.parent / "python"), "-m", "auth0_log_webhooks", "preview", dag_id, "--messages", "1"]
    shown = subprocess.run(command, env=cli.env, capture_output=True, text=True, timeout=600, check=False)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert f"Preview of {dag_id}: nothing was sent" in shown.stdout  # after any warning Airflow prints on import
    assert "Message 1 of 1:" in shown.stdout
    assert "Authorization: present: the Authorization of connection" in shown.stdout
    assert AUTHORIZATION not in shown.stdout + shown.stderr

    assert len(cli.sink.state.requests()) == before  # neither door sent anything
    assert cli.run("variables", "get", checkpoint).returncode != 0  # and no checkpoint was written


def test_airflow_dags_test_exits_0_for_every_dag_and_the_pipelines_deliver(cli: Cli) -> None:
    listed = cli.run("dags", "list", "--local", "--output", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    (document,) = [line for line in listed.stdout.splitlines() if line.startswith("[")]  # after Airflow's warnings
    dag_ids = sorted(dag["dag_id"] for dag in json.loads(document))
    pipelines = {p.dag_id: p for p in load_pipelines().pipelines.values()}
    assert set(pipelines) <= set(dag_ids), dag_ids
    assert len(dag_ids) >= len(pipelines) + 3, dag_ids  # alarms, daily report, replay
    # The pipelines first, so the daily report has runs to count.
    order = [d for d in dag_ids if d in pipelines] + [d for d in dag_ids if d not in pipelines]
    failed = {}
    for dag_id in order:
        result = cli.run("dags", "test", dag_id)
        if result.returncode != 0:
            failed[dag_id] = f"exit {result.returncode}: ...{(result.stdout + result.stderr)[-1500:]}"
        elif dag_id in pipelines:
            assert "without its run deadline alert" in result.stdout + result.stderr
    assert not failed, "\n\n".join(f"airflow dags test {d} -> {why}" for d, why in failed.items())

    ids = cli.tenant.all_log_ids()
    management = [i for i in ids if cli.tenant.log(i)["type"] in MANAGEMENT_TYPES]
    authentication = [i for i in ids if i not in set(management)]
    missing = set(authentication) - set(cli.sink.state.log_ids())
    assert not missing, f"{len(missing)} logs were not delivered by airflow dags test, first {sorted(missing)[:3]}"
    # A management payload is the original's {date, request, response}, without a log_id to find it by.
    assert cli.sink.state.summary()["logs_received"] == len(authentication) + len(management)
    events = [notice.get("event") for notice in cli.alerts.notices]
    assert "daily_report" in events, events


def test_json_typed_conf_is_taken_and_an_undeclared_key_is_refused_by_the_real_cli(cli: Cli) -> None:
    """``--conf`` as a user types it: JSON booleans and lists pass Airflow's param checks; a stray key stops the run."""
    dag_id = next(p.dag_id for p in load_pipelines().pipelines.values() if p.kind == "authentication")
    typed = cli.run("dags", "test", dag_id, "--conf", json.dumps({"send_as_batch": False, "log_types": ["s", "f"]}))
    assert typed.returncode == 0, (typed.stdout + typed.stderr)[-2000:]
    assert "ParamValidationError" not in typed.stdout + typed.stderr

    stray = cli.run("dags", "test", dag_id, "--conf", json.dumps({"staging_url": "file:///tmp/elsewhere"}))
    output = stray.stdout + stray.stderr
    assert "'staging_url' is never set per run" in output, output[-2000:]
    assert "stopped before reading any log" in output
