"""Auto-pause in the steps: a paused run skips with its sentence, and the one notice is sent until it is taken."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from auth0_log_webhooks.delivery.auto_pause import PauseLimits, PauseState, state_variable
from auth0_log_webhooks.delivery.circuit import CircuitTally
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.task_io import PAUSED, RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.pausing import (
    PipelinePausedError,
    RunMessages,
    count_run,
    skip_commit_if_paused,
    stop_if_paused,
)

pytestmark = pytest.mark.unit

DAG = AUTHENTICATION_API.dag_id
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
CHECKPOINT = cursor_for_time(NOW - timedelta(hours=2))


class Outbox:
    """The alerts connection: records every notice, takes them only while ``up``."""

    def __init__(self, up: bool) -> None:
        self.up = up
        self.notices: list[Mapping[str, object]] = []

    def __call__(self, conn_id: str, payload: Mapping[str, object]) -> bool:
        self.notices.append(payload)
        return self.up


def failed_run(n: int) -> RunMessages:
    stamps = tuple((NOW - timedelta(minutes=n - i)).timestamp() for i in range(n))
    return RunMessages(CircuitTally(delivered=False, failures=stamps, last_status=401), PauseLimits(failures=3))


def test_the_run_that_reaches_the_limit_pauses_and_the_next_fetch_sends_a_notice_that_was_not_taken() -> None:
    variables = InMemoryVariables({AUTHENTICATION_API.checkpoint_variable: CHECKPOINT})
    down = Outbox(up=False)

    state = count_run(AUTHENTICATION_API, RunInfo(DAG, "r1"), failed_run(3), variables, send=down, now=NOW)

    assert state is not None
    assert state.paused
    assert not state.notice_sent
    (notice,) = down.notices
    assert notice["event"] == "paused"
    text = str(notice["text"])
    assert text.startswith(f"{DAG} paused at 2026-12-03 15:00:00 UTC: 3 messages in a row failed since ")
    assert "(the last: HTTP 401), past its limit of 3 failing messages." in text
    assert "The checkpoint stays at 2026-12-03 13:00:00 UTC" in text
    assert "Auth0 deletes the oldest of them at 2027-01-02 13:00:00 UTC (the tenant's retention)" in text

    up, record = Outbox(up=True), RunRecord()
    with pytest.raises(PipelinePausedError, match=rf"^{DAG} is paused since 2026-12-03 15:00:00 UTC after 3 failing"):
        stop_if_paused(AUTHENTICATION_API, record.task("fetch"), variables, send=up)
    assert len(up.notices) == 1
    assert json.loads(variables.get(state_variable(DAG)) or "{}")["notice_sent"] is True

    with pytest.raises(PipelinePausedError):
        stop_if_paused(AUTHENTICATION_API, record.task("fetch"), variables, send=up)
    assert len(up.notices) == 1  # sent once: later runs skip without a notice
    with pytest.raises(PipelinePausedError, match="is paused since"):
        skip_commit_if_paused(record.task("commit"))
    assert record.task("commit").kept("fetch", PAUSED).startswith(f"{DAG} is paused since")


def test_a_pipeline_that_is_not_paused_runs_and_its_commit_does_not_skip() -> None:
    record = RunRecord()
    streak = PauseState(failing_messages=2, failing_since=NOW)
    stop_if_paused(AUTHENTICATION_API, record.task("fetch"), InMemoryVariables(), send=Outbox(up=True))
    stop_if_paused(
        AUTHENTICATION_API,
        record.task("fetch"),
        InMemoryVariables({state_variable(DAG): streak.dumps()}),
        send=Outbox(up=True),
    )
    skip_commit_if_paused(record.task("commit"))


def test_without_limits_nothing_is_counted_or_written() -> None:
    variables = InMemoryVariables()
    messages = RunMessages(failed_run(9).tally, PauseLimits())
    assert count_run(AUTHENTICATION_API, RunInfo(DAG, "r1"), messages, variables, now=NOW) is None
    assert variables.values == {}


def test_a_variable_a_person_garbled_is_ignored_with_a_warning_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    variables = InMemoryVariables({state_variable(DAG): "paused please"})
    stop_if_paused(AUTHENTICATION_API, RunRecord().task("fetch"), variables, send=Outbox(up=True))
    assert f"Variable {state_variable(DAG)} is not an auto-pause state (it is not JSON)" in caplog.text
