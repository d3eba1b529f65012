"""Fixtures wiring the pipeline's Airflow connections to a local emulator and sink."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from dev.runner import ReplayOutcome, RunOutcome, run_replay
from dev.runner import run_pipeline as run_in_process


@pytest.fixture
def variables(tmp_path: Path) -> InMemoryVariables:
    """The pipeline's Variables, with staging and dead letters under this test's tmp_path."""
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})


@pytest.fixture
def run_pipeline(variables: InMemoryVariables) -> Callable[..., RunOutcome]:
    """Run the Authentication API pipeline's steps in this process (dev.runner), with this test's Variables.

    Keywords go to :func:`dev.runner.run_pipeline`: ``deliver`` picks the chunks delivered, ``sleep``
    receives the sender's waits between attempts (default: none are taken, so retries never wait).
    """

    def run(params: dict[str, Any] | None = None, **kw: Any) -> RunOutcome:
        return run_in_process(AUTHENTICATION_API, variables, params, **kw)

    return run


@pytest.fixture
def configure(variables: InMemoryVariables) -> Callable[..., None]:
    """Merge settings (max_attempts, format, gzip...) into the pipeline's JSON config Variable."""

    def merge(**settings: Any) -> None:
        name = AUTHENTICATION_API.config_variable
        config = json.loads(variables.get(name) or "{}")
        variables.set(name, json.dumps({**config, **settings}))

    return merge


@pytest.fixture
def dead_letters(tmp_path: Path) -> Callable[[], list[dict[str, Any]]]:
    """Return the pipeline's dead letters (as stored, one dict per file) under tmp_path/dead."""

    def read() -> list[dict[str, Any]]:
        folder = tmp_path / "dead" / AUTHENTICATION_API.dag_id
        if not folder.exists():
            return []
        return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]

    return read


@pytest.fixture
def replay_dead_letters(variables: InMemoryVariables) -> Callable[..., ReplayOutcome]:
    """Replay the pipeline's dead letters as the auth0_webhooks_replay DAG would (dev.runner.run_replay)."""

    def run(entries: list[str] | None = None, **kw: Any) -> ReplayOutcome:
        return run_replay(AUTHENTICATION_API, variables, entries, **kw)

    return run
