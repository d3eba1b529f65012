"""One real Airflow (``airflow standalone``) for the end-to-end tests, wired to an emulator and a sink."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.pipelines.pipelines_file import DEFAULT_PATH, ENV_VAR
from dev.airflow_env import AirflowStandalone, connection_json
from dev.alerts_receiver import AlertsReceiver
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle, start_emulator
from dev.strict import describe_unexpected
from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig

WEBHOOK_AUTHORIZATION = "Bearer e2e-webhook-credential"


@dataclass
class Stack:
    """The running pieces: Airflow, the tenant emulator and the sink, and the secrets in play."""

    airflow: AirflowStandalone
    tenant: EmulatorHandle
    sink: SinkServer
    signing_secret: str
    workdir: Path
    more_secrets: list[str] = field(default_factory=list)  # those of the pipelines a test adds

    @property
    def received(self) -> Path:
        """The folder where the sink stores each message it accepts, with the receiver kit (once per webhook-id)."""
        return self.workdir / "received"

    @property
    def pipelines_file(self) -> Path:
        """The pipelines file Airflow reads (a copy of the packaged default a test may extend)."""
        return self.workdir / "pipelines.yaml"

    def fresh_start(self) -> str | None:
        """Clear the sink's records and faults; return the checkpoint the next run starts after."""
        self.sink.state.clear_faults()
        self.sink.state.reset()
        return self.airflow.variable(AUTHENTICATION_API.checkpoint_variable)

    def answered(self) -> int:
        """How many deliveries the sink has answered since :meth:`fresh_start` (it records them on arrival)."""
        summary = self.sink.state.summary()
        return int(summary["requests"]) - int(summary["in_flight"])

    def selected_after(self, checkpoint: str | None) -> list[str]:
        """The log ids after ``checkpoint`` that the default filter selects (all but sapi/fapi)."""
        ids = self.tenant.all_log_ids(checkpoint)
        return [i for i in ids if self.tenant.log(i)["type"] not in ("sapi", "fapi")]

    def assert_all_delivered_since(self, checkpoint: str | None) -> dict[str, Any]:
        """Assert every selected log after ``checkpoint`` reached the sink and duplicates share a webhook-id."""
        expected = self.selected_after(checkpoint)
        received = set(self.sink.state.log_ids())
        missing = [i for i in expected if i not in received]
        assert not missing, f"{len(missing)} logs never reached the webhook, first {missing[:3]}"
        summary = self.sink.state.summary()
        assert summary["duplicates_with_same_webhook_id"], summary
        assert summary["bad_signatures"] == 0
        return summary

    def allowed_duplicates(self, dag_id: str, run_id: str, batch_size: int) -> int:
        """Return how many logs of ``run_id`` a receiver may see twice: none, unless Airflow started a task that
        sends (a delivery task, or the fetch with its delivery lane) again while its older try still ran (a reset
        after a missed scheduler heartbeat); the older try then stops before its next batch, and the new one skips
        what it settled, so at most the batch in flight goes twice, with the same webhook-id (docs/guarantees.md).
        """
        restarted = [
            ti
            for ti in self.airflow.task_instances(dag_id, run_id)
            if ti["task_id"] in ("deliver", "fetch") and ti["try_number"] > 1
        ]
        return len(restarted) * batch_size

    def configure(self, config: dict[str, Any], connections: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Apply airflow_settings.yaml, set the config Variable to ``config``, unpause the DAG once parsed.

        The connections point at the emulator and the sink; ``connections`` adds or replaces others.
        """
        self.airflow.apply_settings(
            connections={
                "auth0_default": auth0_connection(self.tenant),
                "auth0_webhook_default": {
                    "conn_type": "http",
                    "conn_host": f"{self.sink.url}/hook",
                    "conn_password": WEBHOOK_AUTHORIZATION,
                    "conn_extra": {"signing_secret": self.signing_secret, "timeout": 10, "allow_private_network": True},
                },
                **(connections or {}),
            }
        )
        self.airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(config))
        self.airflow.wait_for_dag(AUTHENTICATION_API.dag_id)
        self.airflow.unpause(AUTHENTICATION_API.dag_id)

    def unexpected_requests(self) -> str | None:
        """Describe the requests the emulator or the sink saw and do not serve (None if there were none)."""
        return describe_unexpected(
            {
                f"Auth0 tenant emulator at {self.tenant.url}": self.tenant.unmatched(),
                f"webhook sink at {self.sink.url}": self.sink.state.unexpected_requests(),
            }
        )

    def secrets(self) -> list[str]:
        """Every secret that must never show up in a task log."""
        return [self.tenant.client_secret, self.signing_secret, WEBHOOK_AUTHORIZATION.split()[1], *self.more_secrets]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move tests marked ``scans_task_logs`` after every other test: they read the logs the others' runs leave."""
    items.sort(key=lambda item: item.get_closest_marker("scans_task_logs") is not None)


def auth0_connection(tenant: EmulatorHandle) -> dict[str, Any]:
    """Return the airflow_settings.yaml entry of an ``auth0`` connection to an emulator."""
    host, port = tenant.domain.split(":")
    return {
        "conn_type": "auth0",
        "conn_host": host,
        "conn_port": int(port),
        "conn_login": tenant.client_id,
        "conn_password": tenant.client_secret,
        "conn_extra": {"scheme": "http"},
    }


def wait_for_runs(airflow: AirflowStandalone, dag_id: str, count: int, run_type: str | None = None) -> list[str]:
    """Wait until ``dag_id`` has ``count`` runs (of ``run_type``) and return their ids."""
    params = {"run_type": run_type} if run_type else None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = airflow.api("GET", f"/dags/{dag_id}/dagRuns", params=params)["dag_runs"]
        if len(runs) >= count:
            return [run["dag_run_id"] for run in runs]
        time.sleep(1)
    raise TimeoutError(f"{dag_id} did not get {count} runs")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Start Airflow with airflow_settings.yaml applied and the connections pointed at local servers.

    The tenant is a fixed set (no logs of the pipeline's own token exchanges) unless a test turns
    them on. The DAG's schedule is moved to once a day: unpausing runs yesterday's interval at once (waited
    for here), and no other scheduled run comes during the tests; backfill windows are days.

    At teardown the session fails if the emulator or the sink saw a request it does not serve:
    here every request comes from the DAG's tasks or from the tests' control calls, none on purpose.
    """
    workdir = tmp_path_factory.mktemp("e2e")
    # The shipped pipelines, with a run deadline of one minute on the main one: a run stuck that long
    # sends the deadline notice (test_notifications.py); elsewhere it goes nowhere (no alerts connection).
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    for entry in document["pipelines"]:
        if entry["id"] == AUTHENTICATION_API.dag_id:
            entry["run_deadline_minutes"] = 1
    (workdir / "pipelines.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    tenant = start_emulator(
        logs=3000, seed=11, history_days=3, client_secret="e2e-client-secret-" + os.urandom(8).hex(), **FIXED_SET
    )
    sink = start_sink(
        SinkConfig(
            record_path=workdir / "sink.jsonl",
            secrets=(secret,),
            authorization=WEBHOOK_AUTHORIZATION,
            store_dir=workdir / "received",
        )
    )
    airflow = AirflowStandalone(
        workdir / "airflow",
        extra_env={
            "AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE": "0 0 * * *",
            "AUTH0_MANAGEMENT_API_WEBHOOKS_SCHEDULE": "0 0 * * *",
            ENV_VAR: str(workdir / "pipelines.yaml"),  # test_tenants_and_receivers.py adds pipelines to it
            "AUTH0_LOG_WEBHOOKS_ALARMS_SCHEDULE": "0 0 * * *",  # checks run when a test triggers them
            # Notice a task whose process died with its scheduler within seconds, not the default 5 minutes.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            # After a crash, the restarted scheduler resets the dead one's queued and running tasks
            # once that one's heartbeat is 10 s old, checking every 15 s instead of every 5 minutes.
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
            "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "15",
        },
    )
    try:
        airflow.start()
        config = {"staging_url": f"file://{workdir}/staging", "dead_letter_url": f"file://{workdir}/dead"}
        stack = Stack(airflow, tenant, sink, secret, workdir)
        stack.configure(config)
        (first,) = wait_for_runs(airflow, AUTHENTICATION_API.dag_id, 1)
        assert airflow.wait_for_run(AUTHENTICATION_API.dag_id, first) == "success"
        yield stack
    finally:
        airflow.stop()
        sink.stop()
        tenant.stop()
    unexpected = stack.unexpected_requests()
    assert unexpected is None, unexpected


@pytest.fixture
def receiver(stack: Stack) -> Iterator[AlertsReceiver]:
    """The alerts receiver wired as auth0_alerts_default; the connection and settings are removed after."""
    alerts = AlertsReceiver()
    airflow = stack.airflow
    # Not apply_settings: re-applying the file's pools answers 409 then 422 (include_deferred) once they exist.
    airflow.api(
        "POST",
        "/connections",
        json=connection_json(
            {
                "conn_id": "auth0_alerts_default",
                "conn_type": "auth0_webhook",
                "conn_host": alerts.url,
                "conn_extra": {"allow_private_network": True},  # the receiver listens on 127.0.0.1
            }
        ),
    )
    airflow.set_variable(ALERTS_VARIABLE, json.dumps({"notify_success": True, "lag_alarm_minutes": 0.01}))
    config = airflow.variable(AUTHENTICATION_API.config_variable)
    try:
        yield alerts
    finally:
        stack.sink.state.clear_faults()
        airflow.set_variable(AUTHENTICATION_API.config_variable, config or "{}")
        airflow.api("DELETE", "/connections/auth0_alerts_default")
        airflow.api("DELETE", f"/variables/{ALERTS_VARIABLE}")
        alerts.stop()
