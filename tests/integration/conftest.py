"""Fixtures wiring the pipeline's Airflow connections to a local emulator and sink."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from auth0_log_webhooks.pipelines import AUTHENTICATION_API
from auth0_log_webhooks.tasks import RunInfo


@dataclass
class DictVariables:
    """Airflow Variables stand-in for running the steps outside a task."""

    values: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture
def signing_secret() -> str:
    """A fresh Standard Webhooks secret shared by the pipeline and the sink."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def wire_connections(airflow_connection) -> Callable[..., None]:
    """Point auth0_default at an emulator and auth0_webhook_default at a sink (as AIRFLOW_CONN_*)."""

    def wire(tenant: Any, sink: Any, *, secret: str | None = None, authorization: str | None = None) -> None:
        host, port = tenant.domain.split(":")
        airflow_connection(
            "auth0_default",
            conn_type="auth0",
            host=host,
            port=int(port),
            login=tenant.client_id,
            password=tenant.client_secret,
            extra={"scheme": "http"},
        )
        extra: dict[str, Any] = {"timeout": 5}
        if secret:
            extra["signing_secret"] = secret
        airflow_connection(
            "auth0_webhook_default", conn_type="http", host=sink.hook_url, password=authorization, extra=extra
        )

    return wire


@pytest.fixture
def variables(tmp_path) -> DictVariables:
    """The pipeline's Variables, with staging and dead letters under this test's tmp_path."""
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    import json

    return DictVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})


@pytest.fixture
def run_pipeline(variables) -> Callable[..., dict[str, Any]]:
    """Run fetch, every delivery chunk (or those chosen) and commit, as the DAG would, in this process."""
    from auth0_log_webhooks import tasks

    counter = iter(range(1, 1_000_000))

    def run(params: dict[str, Any] | None = None, *, chunks: Callable[[int], bool] = lambda i: True, **kw: Any):
        info = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id=f"manual__{next(counter)}")
        plan = tasks.fetch(AUTHENTICATION_API, info, params, variables=variables)
        chunk_list = plan.pop("chunks")
        reports = [
            tasks.deliver(AUTHENTICATION_API, info, plan, chunk, sleep=lambda s: None)
            for chunk in chunk_list
            if chunks(chunk["chunk"])
        ]
        outcome: dict[str, Any] = {"plan": plan, "chunks": chunk_list, "reports": reports}
        try:
            outcome["summary"] = tasks.commit(AUTHENTICATION_API, info, plan, variables=variables)
        except (tasks.DeliveryIncompleteError, tasks.DeadLettersKeptError) as exc:
            outcome["error"] = exc
        return outcome

    return run
