"""Two tenants, two receivers, three pipelines from one pipelines file, through the real scheduler.

The shared stack (tests/e2e/conftest.py) is tenant A and receiver A with the default
authentication pipeline. This test starts tenant B and receiver B in process and adds to the
pipelines file Airflow reads: tenant B's authentication pipeline (logins only, user names hashed)
and points the default management pipeline of tenant A (``users`` calls only) at receiver B; both
deliver to B in their own pool, signed with B's secret. A bad entry shows as an import error naming
it while every other pipeline keeps running. With receiver B down, tenant A's pipeline still
delivers; once B is back, replaying B's dead letters brings B level, each log once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time

import pytest
import yaml

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API
from auth0_log_webhooks.pipelines.pii import keyed_hash
from dev.airflow_env import connection_json
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle, start_emulator
from dev.strict import describe_unexpected
from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig
from tests.e2e.conftest import Stack, auth0_connection, wait_for_runs
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TENANT_B = "tenant_b_authentication_webhooks"
POOL_B = "receiver_b_webhooks"
LOGINS = ("s", "f")
PATH_B = "/api/v2/users"


def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def wait_for_import_error(stack: Stack, needle: str, timeout: float = 120) -> str:
    def found() -> str | None:
        for error in stack.airflow.api("GET", "/importErrors")["import_errors"]:
            if needle in error["stack_trace"]:
                return f"{error['filename']}\n{error['stack_trace']}"
        return None

    return wait_until(found, f"an import error mentioning {needle!r}", timeout=timeout, every=2)


def wait_until_no_import_errors(stack: Stack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while stack.airflow.api("GET", "/importErrors")["total_entries"]:
        assert time.monotonic() < deadline, stack.airflow.api("GET", "/importErrors")
        time.sleep(2)


def wait_until_replay_offers(stack: Stack, pipeline: str, timeout: float = 120) -> None:
    """Wait until the replay DAG, re-parsed after the file changed, offers ``pipeline``."""
    deadline = time.monotonic() + timeout
    while pipeline not in json.dumps(stack.airflow.api("GET", "/dags/auth0_webhooks_replay/details")["params"]):
        assert time.monotonic() < deadline, f"the replay DAG does not offer {pipeline}"
        time.sleep(2)


def users_calls(tenant: EmulatorHandle, after: str | None = None) -> list[str]:
    logs = [tenant.log(i) for i in tenant.all_log_ids(after)]
    return [
        log["log_id"]
        for log in logs
        if log["type"] in ("sapi", "fapi")
        and (path := log.get("details", {}).get("request", {}).get("path", "")) is not None
        and (path == PATH_B or path.startswith(PATH_B + "/"))
    ]


def logins(tenant: EmulatorHandle, after: str | None = None) -> list[str]:
    return [i for i in tenant.all_log_ids(after) if tenant.log(i)["type"] in LOGINS]


def assert_shaped_per_pipeline(
    receiver_b: SinkServer, tenant_b: EmulatorHandle, mgmt_ids: set[str], pii_key: str
) -> None:
    """Management payloads are {date, request, response, log_id} (add_log_id); tenant B's user names are hashed."""
    tenant_b_ids = set(logins(tenant_b))
    for request in receiver_b.state.requests(limit=10_000):
        for item in json.loads(request["body"]):
            if item["log_id"] in mgmt_ids:
                assert set(item) == {"date", "request", "response", "log_id"}
                assert item["request"]["path"].startswith(PATH_B)
            else:
                raw = tenant_b.log(item["log_id"])
                assert item["log_id"] in tenant_b_ids
                assert item.get("user_name") == keyed_hash(raw["user_name"], pii_key.encode())


def add_tenant_b_and_receiver_b(
    stack: Stack,
    tenant_b: EmulatorHandle,
    receiver_b: SinkServer,
    secret_b: str,
    pii_key: str,
    original: str,
    start_a: str | None,
) -> None:
    """Create B's connections, pool and Variables, and add its pipelines (and a broken one) to the file.

    The management pipeline starts after ``start_a``: tenant A holds the 100,000 logs of earlier tests.
    """
    airflow = stack.airflow
    connections = {
        "auth0_tenant_b": auth0_connection(tenant_b),
        "receiver_b": {
            "conn_type": "http",
            "conn_host": f"{receiver_b.url}/hook",
            "conn_extra": {"signing_secret": secret_b, "timeout": 10, "allow_private_network": True},
        },
        MANAGEMENT_API.webhook_conn_id: {
            "conn_type": "http",
            "conn_host": f"{receiver_b.url}/hook",
            "conn_extra": {"signing_secret": secret_b, "timeout": 10, "allow_private_network": True},
        },
        "pii_hash_key": {"conn_type": "generic", "conn_password": pii_key},
    }
    for conn_id, entry in connections.items():  # auth0_mgmt_webhook_default replaces the settings' placeholder
        with contextlib.suppress(RuntimeError):
            airflow.api("DELETE", f"/connections/{conn_id}")
        airflow.api("POST", "/connections", json=connection_json({"conn_id": conn_id, **entry}))
    airflow.api("POST", "/pools", json={"name": POOL_B, "slots": 2, "description": "receiver B"})
    storage = {"staging_url": f"file://{stack.workdir}/staging", "dead_letter_url": f"file://{stack.workdir}/dead"}
    down_fast = {"max_attempts": 2, "backoff_initial_seconds": 0.1, "backoff_max_seconds": 0.2}
    airflow.set_variable(f"{TENANT_B}_config", json.dumps({**storage, **down_fast}))
    # add_log_id: receiver B tells the management pipeline's payloads from tenant B's logs by their log_id.
    management_config = {**storage, **down_fast, "start_from": start_a, "add_log_id": True}
    airflow.set_variable(MANAGEMENT_API.config_variable, json.dumps(management_config))
    document = yaml.safe_load(original)
    management = next(p for p in document["pipelines"] if p["id"] == MANAGEMENT_API.dag_id)
    management |= {"pool": POOL_B, "filters": {"api_endpoints": ["users"]}}
    document["pipelines"] += [
        {
            "id": TENANT_B,
            "kind": "authentication",
            "auth0_connection": "auth0_tenant_b",
            "webhook_connection": "receiver_b",
            "pool": POOL_B,
            "schedule": "0 0 * * *",
            "filters": {"log_types": list(LOGINS)},
            "pii": {"hash_key_connection": "pii_hash_key", "fields": [{"path": "**.user_name", "method": "hash"}]},
        },
        {"id": "broken_pipeline", "kind": "authentication", "webhook_connection": "x", "schedule": "every hour"},
    ]
    stack.pipelines_file.write_text(yaml.safe_dump(document, sort_keys=False))


def test_two_tenants_two_receivers_each_gets_its_logs_once_and_one_down_does_not_stop_the_other(stack: Stack) -> None:
    airflow = stack.airflow
    tenant_b = start_emulator(logs=600, seed=29, history_days=1, rate_limit_per_minute=0, **FIXED_SET)
    secret_b, pii_key = secret(), "pii-key-" + os.urandom(16).hex()
    receiver_b = start_sink(SinkConfig(record_path=stack.workdir / "receiver_b.jsonl", secrets=(secret_b,)))
    stack.more_secrets += [tenant_b.client_secret, secret_b, pii_key]
    original = stack.pipelines_file.read_text()
    checkpoint_a = stack.fresh_start()
    try:
        add_tenant_b_and_receiver_b(stack, tenant_b, receiver_b, secret_b, pii_key, original, checkpoint_a)

        # The bad entry is an import error naming it and its field; the good ones are (still) DAGs.
        error = wait_for_import_error(stack, "broken_pipeline")
        assert "auth0_pipelines_file_check.py" in error
        assert "entry 4 ('broken_pipeline'): schedule: 'every hour' is not a cron expression" in error
        airflow.wait_for_dag(TENANT_B)
        for dag_id in (TENANT_B, MANAGEMENT_API.dag_id, AUTHENTICATION_API.dag_id):
            assert airflow.api("GET", f"/dags/{dag_id}")["is_stale"] is False

        # Receiver B up: unpausing runs both of its pipelines' latest interval; each delivers its history.
        stack.tenant.add_logs(1000)  # about 14 calls to /api/v2/users among them
        mgmt_before = users_calls(stack.tenant, checkpoint_a)
        assert mgmt_before
        for dag_id in (TENANT_B, MANAGEMENT_API.dag_id):
            airflow.unpause(dag_id)
        first_runs = {dag_id: wait_for_runs(airflow, dag_id, 1)[0] for dag_id in (TENANT_B, MANAGEMENT_API.dag_id)}
        for dag_id, run_id in first_runs.items():
            assert airflow.wait_for_run(dag_id, run_id) == "success", dag_id
        expected_b = logins(tenant_b) + mgmt_before
        assert sorted(receiver_b.state.log_ids()) == sorted(expected_b)
        summary_b = receiver_b.state.summary()
        assert (summary_b["duplicate_log_ids"], summary_b["bad_signatures"]) == (0, 0)
        assert stack.sink.state.log_ids() == []  # receiver A got nothing of B's pipelines

        # What B received is shaped per pipeline: management payloads, hashed user names.
        assert_shaped_per_pipeline(receiver_b, tenant_b, set(mgmt_before), pii_key)

        # Receiver B down: tenant A's pipeline to receiver A still delivers everything, on its own.
        receiver_b.state.add_faults({"status": 503})
        stack.tenant.add_logs(1000)
        tenant_b.add_logs(200)
        runs = {dag_id: airflow.trigger(dag_id) for dag_id in (TENANT_B, MANAGEMENT_API.dag_id)}
        run_a = airflow.trigger(AUTHENTICATION_API.dag_id)
        assert airflow.wait_for_run(AUTHENTICATION_API.dag_id, run_a) == "success"
        assert stack.assert_all_delivered_since(checkpoint_a)["duplicate_log_ids"] == 0
        for dag_id, run_id in runs.items():  # B's runs keep what B refused as dead letters and fail saying so
            assert airflow.wait_for_run(dag_id, run_id) == "failed", dag_id

        # Receiver B back: replaying each pipeline's dead letters brings B level, each log exactly once.
        receiver_b.state.clear_faults()
        wait_until_replay_offers(stack, TENANT_B)
        airflow.unpause("auth0_webhooks_replay")  # paused at creation, like every DAG here: its runs would wait
        for dag_id in (TENANT_B, MANAGEMENT_API.dag_id):
            replay = airflow.trigger("auth0_webhooks_replay", {"pipeline": dag_id})
            assert airflow.wait_for_run("auth0_webhooks_replay", replay) == "success", dag_id
        expected_b = logins(tenant_b) + users_calls(stack.tenant, checkpoint_a)
        received = receiver_b.state.log_ids()
        assert sorted(received) == sorted(expected_b)
        summary_b = receiver_b.state.summary()
        assert summary_b["bad_signatures"] == 0
        assert summary_b["unique_log_ids"] == len(expected_b)
        # Attempts refused with 503 are recorded but not received; every log reached B once.
        assert summary_b["duplicate_log_ids"] == 0
    finally:
        stack.pipelines_file.write_text(original)
        for dag_id in (TENANT_B, MANAGEMENT_API.dag_id):
            with contextlib.suppress(RuntimeError):
                airflow.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})
        receiver_b.stop()
        tenant_b.stop()
    wait_until_no_import_errors(stack)
    unexpected = describe_unexpected(
        {"tenant B emulator": tenant_b.unmatched(), "receiver B": receiver_b.state.unexpected_requests()}
    )
    assert unexpected is None, unexpected
