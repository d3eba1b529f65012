"""Event mode through the real triggerer and scheduler: new logs arrive in seconds, an idle tenant does not loop.

The shared stack (tests/e2e/conftest.py) gets one more pipeline in its pipelines file: ``mode: event``
on tenant E, an emulator that writes a ``seccft`` log for every token exchange (as Auth0 does), and
receiver E. Its cron safety net is daily, so once the run on unpause has delivered the history, any
further run is either asset-triggered (the ``Auth0LogsTrigger`` in the triggerer saw new logs) or
not supposed to happen. Logs created after that arrive at receiver E through an ``asset_triggered``
run within seconds. Then the tenant stays idle except for token exchanges of the pipeline's client,
each writing a ``seccft`` log after the checkpoint: a watcher that fired on "a new log exists" would
start run after run; the rule is at most 12 runs an hour, i.e. at most 1 in the idle window here.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from datetime import datetime
from typing import Any

import pytest
import yaml

from dev.airflow_env import connection_json
from dev.auth0_tenant.testing import EmulatorHandle, start_emulator
from dev.strict import describe_unexpected
from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig
from tests.e2e.conftest import Stack, auth0_connection, wait_for_runs

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVENT = "event_mode_webhooks"
NEW_LOGS = 20
ARRIVAL_LIMIT_SECONDS = 60.0  # the trigger polls every 5 s; a run through the scheduler takes ~10-20 s here
IDLE_SECONDS = 90.0
IDLE_RUN_BOUND = 1  # 12 runs an hour is 0.375 runs in 90 s: at most the one a poll may have started already
OWN_EXCHANGES_WHILE_IDLE = 3


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def runs_of(stack: Stack) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = stack.airflow.api("GET", f"/dags/{EVENT}/dagRuns", params={"limit": 100})["dag_runs"]
    return runs


def add_event_pipeline(
    stack: Stack, tenant: EmulatorHandle, receiver: SinkServer, secret_e: str, original: str
) -> None:
    airflow = stack.airflow
    connections = {
        "auth0_tenant_e": auth0_connection(tenant),
        "receiver_e": {
            "conn_type": "http",
            "conn_host": f"{receiver.url}/hook",
            "conn_extra": {"signing_secret": secret_e, "timeout": 10, "allow_private_network": True},
        },
    }
    for conn_id, entry in connections.items():
        with contextlib.suppress(RuntimeError):
            airflow.api("DELETE", f"/connections/{conn_id}")
        airflow.api("POST", "/connections", json=connection_json({"conn_id": conn_id, **entry}))
    storage = {"staging_url": f"file://{stack.workdir}/staging", "dead_letter_url": f"file://{stack.workdir}/dead"}
    airflow.set_variable(f"{EVENT}_config", json.dumps(storage))
    document = yaml.safe_load(original)
    document["pipelines"].append(
        {
            "id": EVENT,
            "kind": "authentication",
            "auth0_connection": "auth0_tenant_e",
            "webhook_connection": "receiver_e",
            "pool": "auth0_webhooks",
            "schedule": "0 0 * * *",  # the safety net: no tick during the test but the one on unpause
            "mode": "event",
        }
    )
    stack.pipelines_file.write_text(yaml.safe_dump(document, sort_keys=False))


def wait_until_no_run_is_active(stack: Stack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while any(run["state"] in ("queued", "running") for run in runs_of(stack)):
        assert time.monotonic() < deadline, runs_of(stack)
        time.sleep(1)


def wait_until_polled(tenant: EmulatorHandle, polls: int = 2, timeout: float = 120) -> float:
    """Wait until someone (the watcher: no run is active) read the logs ``polls`` more times; return the wait."""
    start, base = time.monotonic(), tenant.counters()["log_requests"]
    while tenant.counters()["log_requests"] < base + polls:
        assert time.monotonic() - start < timeout, "the watcher never polled the tenant (is the trigger registered?)"
        time.sleep(1)
    return time.monotonic() - start


def arrival_seconds(tenant: EmulatorHandle, receiver: SinkServer, log_ids: list[str]) -> list[float]:
    """Seconds from each log's ``date`` to its first arrival at the receiver."""
    first: dict[str, float] = {}
    for request in receiver.state.requests(limit=10_000):
        if request["status"] == 200:
            for log_id in request["log_ids"]:
                first.setdefault(log_id, request["received_at"])
    dates = {i: datetime.fromisoformat(tenant.log(i)["date"].replace("Z", "+00:00")) for i in log_ids}
    return [first[i] - dates[i].timestamp() for i in log_ids if i in first]


def test_event_mode_delivers_new_logs_without_a_tick_and_an_idle_tenant_does_not_loop(stack: Stack) -> None:
    airflow = stack.airflow
    tenant = start_emulator(logs=300, seed=41, history_days=1, client_secret="e2e-tenant-e-" + os.urandom(8).hex())
    assert tenant.config.token_logs  # every token exchange writes a seccft log, as on Auth0
    secret_e = secret()
    receiver = start_sink(SinkConfig(record_path=stack.workdir / "receiver_e.jsonl", secrets=(secret_e,)))
    stack.more_secrets += [tenant.client_secret, secret_e]
    original = stack.pipelines_file.read_text()
    try:
        add_event_pipeline(stack, tenant, receiver, secret_e, original)
        airflow.wait_for_dag(EVENT)
        airflow.unpause(EVENT)
        first = wait_for_runs(airflow, EVENT, 1)[0]  # the daily interval before now: the history
        assert airflow.wait_for_run(EVENT, first) == "success"
        wait_until_no_run_is_active(stack)
        # A watcher registered before that run committed may have asked for one more (no checkpoint yet).
        history_runs = runs_of(stack)
        assert [run["run_type"] for run in history_runs][:1] == ["scheduled"], history_runs
        assert [run["run_type"] for run in history_runs[1:]] in ([], ["asset_triggered"]), history_runs
        selected = [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]
        assert set(selected) <= set(receiver.state.log_ids())  # the history, as any first run

        # The dag-processor registers the watcher once the DAG is unpaused; then it reads every 5 s.
        wait_until_polled(tenant)

        runs_before = len(runs_of(stack))
        new = tenant.add_logs(NEW_LOGS)
        created = time.monotonic()
        deadline = created + ARRIVAL_LIMIT_SECONDS
        while not set(new) <= set(receiver.state.log_ids()):
            assert time.monotonic() < deadline, (
                f"{len(set(new) - set(receiver.state.log_ids()))} of {NEW_LOGS} new logs not delivered "
                f"{ARRIVAL_LIMIT_SECONDS:.0f}s after they were created; runs: {runs_of(stack)}"
            )
            time.sleep(0.5)
        arrived_after = time.monotonic() - created
        # No tick: the watcher's asset event started the run that delivered them.
        new_runs = runs_of(stack)[runs_before:]
        assert [run["run_type"] for run in new_runs] == ["asset_triggered"], new_runs
        assert airflow.wait_for_run(EVENT, new_runs[0]["dag_run_id"]) == "success"
        lags = arrival_seconds(tenant, receiver, new)
        assert len(lags) == NEW_LOGS
        print(f"{NEW_LOGS} new logs arrived {arrived_after:.1f}s after creation (date to arrival max {max(lags):.1f}s)")

        # Idle, but for the pipeline client's own token exchanges: each writes a seccft log after the checkpoint.
        runs_before_idle = len(runs_of(stack))
        tokens_before = tenant.counters()["tokens_issued"]
        idle_until = time.monotonic() + IDLE_SECONDS
        for _ in range(OWN_EXCHANGES_WHILE_IDLE):
            tenant.token()
            time.sleep(IDLE_SECONDS / (OWN_EXCHANGES_WHILE_IDLE + 1))
        reads_before_wait = tenant.counters()["log_requests"]
        time.sleep(max(0.0, idle_until - time.monotonic()))
        idle_runs = runs_of(stack)[runs_before_idle:]
        checkpoint = airflow.variable(f"{EVENT}_checkpoint")
        waiting = [tenant.log(i) for i in tenant.all_log_ids(checkpoint)]
        assert sum(log["type"] == "seccft" for log in waiting) >= OWN_EXCHANGES_WHILE_IDLE, waiting
        assert len(idle_runs) <= IDLE_RUN_BOUND, idle_runs
        assert tenant.counters()["log_requests"] > reads_before_wait  # the watcher kept reading meanwhile
        print(
            f"idle {IDLE_SECONDS:.0f}s: {len(idle_runs)} runs, {tenant.counters()['tokens_issued'] - tokens_before} "
            f"token exchanges ({OWN_EXCHANGES_WHILE_IDLE} ours), {len(waiting)} own-traffic logs after the checkpoint"
        )
        assert receiver.state.summary()["bad_signatures"] == 0
    finally:
        with contextlib.suppress(RuntimeError):
            airflow.api("PATCH", f"/dags/{EVENT}", json={"is_paused": True})
        stack.pipelines_file.write_text(original)
        receiver.stop()
        tenant.stop()
    unexpected = describe_unexpected(
        {"tenant E": tenant.unmatched(), "receiver E": receiver.state.unexpected_requests()}
    )
    assert unexpected is None, unexpected
