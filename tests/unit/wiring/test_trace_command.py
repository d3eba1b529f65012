"""The trace command's door: its arguments, its exit status and what it prints."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.wiring import trace_command
from tests.builders import log_id

pytestmark = pytest.mark.unit


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InMemoryVariables:
    """One pipeline whose checkpoint is log 10, its staging under tmp_path."""
    monkeypatch.setattr(
        trace_command,
        "load_pipelines",
        lambda: SimpleNamespace(pipelines={AUTHENTICATION_API.dag_id: AUTHENTICATION_API}),
    )
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables(
        {AUTHENTICATION_API.config_variable: json.dumps(config), AUTHENTICATION_API.checkpoint_variable: log_id(10)}
    )


def test_it_prints_a_paragraph_per_pipeline_and_exits_0(
    store: InMemoryVariables, capsys: pytest.CaptureFixture[str]
) -> None:
    assert trace_command.main([log_id(50)], variables=store) == 0
    printed = capsys.readouterr().out
    assert f"is after pipeline {AUTHENTICATION_API.dag_id}'s checkpoint" in " ".join(printed.split())
    assert all(len(line) <= trace_command.WIDTH for line in printed.splitlines() if " " in line.strip())


def test_an_unknown_pipeline_is_named_with_the_known_ones_and_exits_2(
    store: InMemoryVariables, capsys: pytest.CaptureFixture[str]
) -> None:
    assert trace_command.main([log_id(50), "--pipeline", "nope"], variables=store) == 2
    said = capsys.readouterr().err
    assert "There is no pipeline 'nope' in the pipelines file" in said
    assert AUTHENTICATION_API.dag_id in said


def test_what_is_not_a_log_id_exits_2_saying_what_one_is(
    store: InMemoryVariables, capsys: pytest.CaptureFixture[str]
) -> None:
    assert trace_command.main(["jane@example.com"], variables=store) == 2
    said = capsys.readouterr().err
    assert "56 digits starting with 900" in said
    assert "jane" not in said
