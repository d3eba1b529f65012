"""A distributed Airflow (PostgreSQL, Celery on Redis, two workers) with staging on S3 (moto), for the whole session.

Besides the emulator and the sink of the e2e layer, the session starts moto's S3 server and a
:class:`~dev.airflow_cluster.ClusterStack`; the pipeline's ``staging_url`` and ``dead_letter_url``
point at a bucket there through the connection ``aws_staging``: nothing of the pipeline's data goes
through a local folder, but in the test of the shared-folder alternative.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.airflow_cluster import ClusterStack
from dev.auth0_tenant.testing import FIXED_SET, start_emulator
from dev.object_store import S3Server
from dev.webhook_sink.app import start_sink
from dev.webhook_sink.config import SinkConfig
from tests.e2e.conftest import WEBHOOK_AUTHORIZATION, Stack, wait_for_runs

BUCKET = "auth0-webhooks"
STORE_CONN_ID = "aws_staging"
STAGING_URL = f"s3://{STORE_CONN_ID}@{BUCKET}/staging"
DEAD_LETTER_URL = f"s3://{STORE_CONN_ID}@{BUCKET}/dead_letters"
DAG_ID = AUTHENTICATION_API.dag_id
SPREAD = {"min_batches_per_task": 1, "max_delivery_tasks": 16}  # the tests' small runs get 16 tasks to spread


@dataclass
class DistributedStack(Stack):
    """The e2e stack on a :class:`ClusterStack`, with its S3 server."""

    s3: S3Server | None = None

    @property
    def object_store(self) -> S3Server:
        """The S3 server the session started (``s3`` is None only before that)."""
        assert self.s3 is not None
        return self.s3

    @property
    def cluster(self) -> ClusterStack:
        """The Airflow cluster (``airflow`` typed as what it is here)."""
        assert isinstance(self.airflow, ClusterStack)
        return self.airflow

    def workers_of(self, run_id: str, task_id: str | None = None) -> dict[str, str]:
        """Return ``task_id[map_index]`` -> the worker that ran its last try, for the run's finished tasks."""
        return {
            f"{ti['task_id']}[{ti['map_index']}]": ti["hostname"]
            for ti in self.airflow.task_instances(DAG_ID, run_id)
            if ti.get("hostname") and task_id in (None, ti["task_id"])
        }


@pytest.fixture(scope="session")
def distributed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DistributedStack]:
    """Start S3, the emulator, the sink and the cluster; run the scheduled first run; stop and clean up after.

    The schedule is daily, so unpausing runs yesterday's interval at once and no other scheduled run
    comes during the tests. The session fails if the emulator or sink saw a request they do not serve.
    """
    workdir = tmp_path_factory.mktemp("e2e-distributed")
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    tenant = start_emulator(
        logs=2000, seed=13, history_days=3, client_secret="dist-secret-" + os.urandom(8).hex(), **FIXED_SET
    )
    sink = start_sink(
        SinkConfig(record_path=workdir / "sink.jsonl", secrets=(secret,), authorization=WEBHOOK_AUTHORIZATION)
    )
    s3 = S3Server(workdir / "moto.log")
    daily = "0 0 * * *"
    schedules = {"AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE": daily, "AUTH0_MANAGEMENT_API_WEBHOOKS_SCHEDULE": daily}
    cluster = ClusterStack(workdir / "airflow", extra_env=schedules)
    try:
        s3.start()
        s3.create_bucket(BUCKET)
        cluster.start()
        stack = DistributedStack(cluster, tenant, sink, secret, workdir, s3=s3)
        stack.configure(
            {"staging_url": STAGING_URL, "dead_letter_url": DEAD_LETTER_URL, **SPREAD},
            connections={STORE_CONN_ID: s3.connection()},
        )
        (first,) = wait_for_runs(cluster, DAG_ID, 1)
        assert cluster.wait_for_run(DAG_ID, first) == "success"
        yield stack
    finally:
        cluster.stop()
        s3.stop()
        sink.stop()
        tenant.stop()
    unexpected = stack.unexpected_requests()
    assert unexpected is None, unexpected
