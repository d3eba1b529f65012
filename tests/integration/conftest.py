"""Fixtures wiring the pipeline's Airflow connections to a local emulator and sink."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from auth0_log_webhooks.pipelines import AUTHENTICATION_API
from auth0_log_webhooks.tasks import InMemoryVariables, RunInfo


@pytest.fixture
def signing_secret() -> str:
    """A fresh Standard Webhooks secret shared by the pipeline and the sink."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def wire_connections(airflow_connection) -> Callable[..., None]:
    """Point auth0_default at an emulator and auth0_webhook_default at a sink (as AIRFLOW_CONN_*)."""

    def wire(
        tenant: Any,
        sink: Any,
        *,
        secret: str | None = None,
        authorization: str | None = None,
        timeout: float = 5,
    ) -> None:
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
        extra: dict[str, Any] = {"timeout": timeout}
        if secret:
            extra["signing_secret"] = secret
        airflow_connection(
            "auth0_webhook_default", conn_type="http", host=sink.hook_url, password=authorization, extra=extra
        )

    return wire


@pytest.fixture
def variables(tmp_path) -> InMemoryVariables:
    """The pipeline's Variables, with staging and dead letters under this test's tmp_path."""
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})


@pytest.fixture
def run_pipeline(variables) -> Callable[..., dict[str, Any]]:
    """Run fetch, every delivery chunk (or those chosen) and commit, as the DAG would, in this process.

    ``sleep`` receives the sender's waits between attempts (default: none are taken, so retries
    never wait); pass e.g. ``waits.append`` to observe them.
    """
    from auth0_log_webhooks import tasks

    counter = iter(range(1, 1_000_000))

    def run(
        params: dict[str, Any] | None = None,
        *,
        chunks: Callable[[int], bool] = lambda i: True,
        sleep: Callable[[float], None] = lambda s: None,
        **kw: Any,
    ):
        info = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id=f"manual__{next(counter)}")
        plan = tasks.fetch(AUTHENTICATION_API, info, params, variables=variables)
        chunk_list = plan.pop("chunks")
        reports = [
            tasks.deliver(AUTHENTICATION_API, info, plan, chunk, sleep=sleep)
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


@pytest.fixture
def configure(variables) -> Callable[..., None]:
    """Merge settings (max_attempts, format, gzip...) into the pipeline's JSON config Variable."""

    def merge(**settings: Any) -> None:
        name = AUTHENTICATION_API.config_variable
        config = json.loads(variables.get(name) or "{}")
        variables.set(name, json.dumps({**config, **settings}))

    return merge


@pytest.fixture
def dead_letters(tmp_path) -> Callable[[], list[dict[str, Any]]]:
    """Return the pipeline's dead letters (as stored, one dict per file) under tmp_path/dead."""

    def read() -> list[dict[str, Any]]:
        folder = tmp_path / "dead" / AUTHENTICATION_API.dag_id
        if not folder.exists():
            return []
        return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]

    return read


@pytest.fixture
def replay_dead_letters(variables) -> Callable[..., dict[str, Any]]:
    """Replay dead letters as the auth0_webhooks_replay DAG would: plan, every chunk, summarise.

    Returns ``{"plan", "reports"}`` plus ``"summary"``, or ``"error"`` holding the
    ReplayIncompleteError.
    """
    from auth0_log_webhooks import replay

    counter = iter(range(1, 1_000_000))

    def run(
        entries: list[str] | None = None,
        *,
        max_entries: int = 1000,
        max_tasks: int = 4,
        sleep: Callable[[float], None] = lambda s: None,
    ) -> dict[str, Any]:
        info = RunInfo(dag_id="auth0_webhooks_replay", run_id=f"manual__replay_{next(counter)}")
        plan = replay.plan_replay(AUTHENTICATION_API.dag_id, entries, max_entries, max_tasks, variables=variables)
        reports = [replay.replay_chunk(chunk, info, variables=variables, sleep=sleep) for chunk in plan]
        outcome: dict[str, Any] = {"plan": plan, "reports": reports}
        try:
            outcome["summary"] = replay.summarise(reports)
        except replay.ReplayIncompleteError as exc:
            outcome["error"] = exc
        return outcome

    return run
