"""``python -m auth0_log_webhooks resume PIPELINE``: one command resumes a paused pipeline."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from auth0_log_webhooks.__main__ import main
from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.wiring import resume

pytestmark = pytest.mark.unit

DAG = AUTHENTICATION_API.dag_id


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> InMemoryVariables:
    """The metadata DB's Variables, in memory: the default pipeline paused."""
    moment = datetime(2026, 12, 3, 15, tzinfo=UTC)
    state = PauseState(failing_messages=12, failing_since=moment, paused_at=moment, last_status=410)
    store = InMemoryVariables({state_variable(DAG): state.dumps()})
    monkeypatch.setattr(resume, "MetadataVariables", lambda: store)
    return store


def test_the_command_resumes_the_pipeline_and_says_what_comes_next(
    variables: InMemoryVariables, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Airflow's log handler writes to the process's stdout while a command runs: that line goes to stderr
    def noisy() -> InMemoryVariables:
        os.write(1, b"[airflow] a log line\n")
        return variables

    monkeypatch.setattr(resume, "MetadataVariables", noisy)

    assert main(["resume", DAG]) == 0

    captured = capfd.readouterr()
    assert "[airflow] a log line" in captured.err
    said = captured.out
    assert said.startswith(f"Resumed {DAG}: it was paused since 2026-12-03 15:00:00 UTC after 12 failing messages.")
    assert f"`airflow dags trigger {DAG}`" in said
    assert variables.values == {}


def test_an_unknown_pipeline_is_named_with_the_known_ones(
    variables: InMemoryVariables, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["resume", "no_such_pipeline"]) == 2

    said = capsys.readouterr().err
    assert said.startswith("Nothing resumed: unknown pipeline 'no_such_pipeline'; known: ")
    assert DAG in said
    assert state_variable(DAG) in variables.values


@pytest.mark.parametrize("args", [["resume"], ["resume", "a", "b"], ["resume", "--help"]])
def test_a_command_without_one_pipeline_prints_the_usage(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert "usage: python -m auth0_log_webhooks resume PIPELINE" in capsys.readouterr().err
