"""Staging and dead letters on S3-compatible object storage (moto's server) through ObjectStoragePath.

The pipeline's steps run in this process against the emulator and sink with ``staging_url`` and
``dead_letter_url`` on ``s3://<conn>@bucket/...``; a store that cannot be reached fails with
:class:`StoreUnavailableError` naming the store, its connection and the setting.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.monitoring.trace import trace
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.staging import RunStaging, prune
from auth0_log_webhooks.run.store_errors import StoreUnavailableError
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from dev.airflow_env import free_port
from dev.object_store import S3Server
from dev.webhook_sink.testing import SinkHandle
from tests.builders import settled
from tests.fixture_types import Configure, DefineConnection, RunPipeline, TenantFactory, WireConnections
from tests.unit.delivery.test_dead_letters import failure
from tests.unit.run.test_staging import an_orphaned_fetch_try_stops_before_each_write_once_a_newer_try_reset_the_run

pytestmark = pytest.mark.integration

BUCKET = "auth0-staging"
CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server, one per module, with an empty bucket."""
    with S3Server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture
def store_connection(s3: S3Server, airflow_connection: DefineConnection) -> str:
    """Define the connection ``aws_store`` reaching the S3 server; return its id."""
    conn = s3.connection()
    airflow_connection(
        "aws_store", conn_type="aws", login=conn["conn_login"], password=conn["conn_password"], extra=conn["conn_extra"]
    )
    return "aws_store"


@pytest.fixture
def unreachable_connection(s3: S3Server, airflow_connection: DefineConnection) -> str:
    """Define the connection ``aws_nowhere``: the right credentials, an endpoint nothing listens on."""
    conn = s3.connection(endpoint_url=f"http://127.0.0.1:{free_port()}")
    extra = {**conn["conn_extra"], "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2}}
    airflow_connection(
        "aws_nowhere", conn_type="aws", login=conn["conn_login"], password=conn["conn_password"], extra=extra
    )
    return "aws_nowhere"


def test_a_run_stages_and_keeps_dead_letters_on_s3_and_leaves_nothing_staged(
    s3: S3Server,
    store_connection: str,
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    variables: InMemoryVariables,
) -> None:
    tenant = auth0_tenant_factory(logs=600, seed=5, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    root = f"s3://{store_connection}@{BUCKET}/{time.time_ns()}"
    configure(staging_url=f"{root}/staging", dead_letter_url=f"{root}/dead")
    webhook_sink.add_fault(status=400, count=1)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    prefix = root.split(BUCKET + "/")[1]
    kept = s3.keys(BUCKET, f"{prefix}/dead/")
    assert len(kept) == 1, kept
    letter = json.loads(s3.client().get_object(Bucket=BUCKET, Key=kept[0])["Body"].read())
    selected = [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]
    assert letter["log_ids"] == selected[:100]
    assert webhook_sink.log_ids() == selected[100:]
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    assert f"Dead letters are kept in:\n{root}/dead/{AUTHENTICATION_API.dag_id}" in str(outcome.error)
    # Every batch settled (delivered or dead-lettered), so the commit removed the run's batches and ledger
    # from S3; only its plan and commit record stay (no log), so a retried commit answers the same.
    keys = s3.keys(BUCKET, f"{prefix}/staging/")
    left = {key.rsplit("/", 1)[-1] for key in keys if "/delivery-log/" not in key}
    assert left == {"plan.json", "committed.json"}
    # The delivery log stays beside the staging, on S3 too: the trace finds the dead-lettered message there.
    assert any("-sent-" in key for key in keys if "/delivery-log/" in key)
    (found,) = trace(selected[0], {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}, variables)
    assert found.verdict == "dead_letter"
    assert found.dead_letters == [f"{AUTHENTICATION_API.dag_id}/{letter['webhook_id']}"]


def _requests_logged(log_file: Path, after: int) -> list[str]:
    """The S3 requests moto's server logged after line ``after``: method and path, colours stripped."""
    lines = log_file.read_text().splitlines()[after:]
    return [m.group(1) for line in lines if (m := re.search(r'"(?:\x1b\[[0-9;]*m)*(\w+ /\S+) HTTP', line))]


def test_a_delivered_batch_costs_a_few_s3_requests_and_no_listing(
    s3: S3Server,
    store_connection: str,
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
) -> None:
    # Each existence check of a missing object cost a HEAD and a LIST, each read a HEAD and a GET, each folder
    # made a HEAD of the bucket: 14 requests a batch in the delivery task. Reads are now one GET, writes one PUT.
    tenant = auth0_tenant_factory(logs=2_000, seed=5, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    root = f"s3://{store_connection}@{BUCKET}/{time.time_ns()}"
    configure(staging_url=f"{root}/staging", dead_letter_url=f"{root}/dead", deliver_while_fetching=False)
    before = len(s3.log_file.read_text().splitlines())

    outcome = run_pipeline()

    assert outcome.error is None
    batches = -(-len(webhook_sink.log_ids()) // 100)
    assert batches >= 15
    time.sleep(0.5)  # the server logs a request after answering it
    requests = _requests_logged(s3.log_file, before)
    listings = [r for r in requests if "list-type=" in r]
    # The run's (reset, prune, the commit's reads) and one per delivery task (its chunk's ledger), not two a batch.
    assert len(listings) <= 15, listings
    # 22 a batch before, with 2 listings; 14 until a delivery task read its ledger once (4 Dec 2026), not per batch.
    # Through obstore (4 Dec, 20:24 UTC) 201 requests for 19 batches, 13 of them listings; through s3fs 202 and 14.
    assert len(requests) <= 11 * batches, len(requests)


def test_staging_round_trips_batches_plan_and_ledger_on_s3(s3: S3Server, store_connection: str) -> None:
    staging = RunStaging.for_run(f"s3://{store_connection}@{BUCKET}/roundtrip", "dag", "manual__2026-11-26T10:00:00")
    staging.reset()
    staging.write_batch(0, [{"log_id": "1", "description": "Zoë"}])
    outcome = settled("delivered", 1, [])
    staging.mark(0, outcome)
    assert staging.read_batch(0) == [{"log_id": "1", "description": "Zoë"}]
    assert staging.outcomes() == {0: outcome}
    staging.remove()
    assert s3.keys(BUCKET, "roundtrip/") == []


def test_an_orphaned_fetch_try_cannot_write_over_the_plan_of_the_try_that_reset_the_run_on_s3(
    s3: S3Server, store_connection: str
) -> None:
    """On S3 no folder disappears under the orphan's writes (a local folder's removal fails them by chance): only the
    claim stops it."""
    root = f"s3://{store_connection}@{BUCKET}/orphan-{time.time_ns()}"
    an_orphaned_fetch_try_stops_before_each_write_once_a_newer_try_reset_the_run(root)
    claims = [key.split("/", 3)[3] for key in s3.keys(BUCKET, root.split(BUCKET + "/")[1]) if "/claims/" in key]
    assert claims == ["g002/claims/fetch.json"], claims


def _assert_names_the_store(error: StoreUnavailableError, url: str, setting: str) -> None:
    message = str(error)
    assert f"The {setting} store {url}" in message, message
    assert "the connection aws_nowhere" in message, message
    # botocore's error where s3fs served (listings, removals), obstore's where it did (reads, writes), without its dump
    by_obstore = "GenericError: Generic S3 error" in message and "(Connection refused)" in message
    assert "EndpointConnectionError" in message or by_obstore, message
    assert "Debug source" not in message, message
    assert "clear the task to retry" in message, message


def test_an_unreachable_staging_store_fails_naming_the_store_connection_and_setting(
    unreachable_connection: str,
) -> None:
    root = f"s3://{unreachable_connection}@{BUCKET}/staging"
    staging = RunStaging.for_run(root, "dag", "run")
    with pytest.raises(StoreUnavailableError) as caught:
        staging.reset()
    _assert_names_the_store(caught.value, f"{root}/dag/run", "staging_url")
    with pytest.raises(StoreUnavailableError) as caught:
        staging.read_plan()
    _assert_names_the_store(caught.value, f"{root}/dag/run", "staging_url")
    with pytest.raises(StoreUnavailableError) as caught:
        prune(root, "dag", older_than=timedelta(days=7))
    _assert_names_the_store(caught.value, f"{root}/dag", "staging_url")


def test_an_unreachable_dead_letter_store_fails_naming_it_and_keeps_no_secret(
    unreachable_connection: str, s3: S3Server
) -> None:
    root = f"s3://{unreachable_connection}@{BUCKET}/dead"
    store = DeadLetterStore(root)
    with pytest.raises(StoreUnavailableError) as caught:
        store.put("pipe", failure(1), dag_id="dag", run_id="run")
    _assert_names_the_store(caught.value, root, "dead_letter_url")
    assert s3.connection()["conn_password"] not in str(caught.value)
    with pytest.raises(StoreUnavailableError) as caught:
        list(store.entries())
    _assert_names_the_store(caught.value, root, "dead_letter_url")


def test_a_missing_file_is_not_a_store_error(store_connection: str) -> None:
    staging = RunStaging.for_run(f"s3://{store_connection}@{BUCKET}/missing", "dag", "run")
    assert staging.outcome(3) is None
    with pytest.raises(FileNotFoundError):
        staging.read_batch(0)
