"""Auto-pause through a real scheduler: a receiver failing past the limit pauses the pipeline with one notice,
its runs then skip and succeed without calling anyone, and after the receiver recovers, resume delivers
every log exactly once.

Shares the session's stack (tests/e2e/conftest.py). It sets the alerts connection, the limit and sink
faults for its own runs, and puts them back at the end.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

import pytest

from auth0_log_webhooks.delivery.auto_pause import state_variable
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.alerts_receiver import AlertsReceiver
from tests.e2e.conftest import Stack
from tests.e2e.test_notifications import configure

pytestmark = pytest.mark.e2e

DAG_ID = AUTHENTICATION_API.dag_id
STATE = state_variable(DAG_ID)


def forget_failures(stack: Stack) -> None:
    """Delete the auto-pause Variable if it is there (other tests' runs must not find the pipeline paused)."""
    if stack.airflow.variable(STATE) is not None:
        stack.airflow.api("DELETE", f"/variables/{STATE}")


@pytest.fixture
def unpaused(stack: Stack) -> Iterator[None]:
    """No auto-pause state before or after the test."""
    forget_failures(stack)
    yield
    forget_failures(stack)


def run(stack: Stack) -> tuple[str, str]:
    """Trigger a run of the pipeline as the UI's Trigger button does; return its id and how it ended."""
    run_id = stack.airflow.trigger(DAG_ID)
    return run_id, stack.airflow.wait_for_run(DAG_ID, run_id, timeout=600)


def test_a_receiver_failing_past_the_limit_pauses_once_and_resume_delivers_every_log_once(
    stack: Stack, receiver: AlertsReceiver, unpaused: None
) -> None:
    airflow = stack.airflow
    checkpoint = stack.fresh_start()
    configure(stack, pause_after_failures=2, batch_size=50)
    stack.tenant.add_logs(120)
    stack.sink.state.add_faults({"status": 401})  # refused: the circuit stops each run at its first message

    assert run(stack)[1] == "failed"
    assert json.loads(airflow.variable(STATE) or "{}")["failing_messages"] == 1
    seen = len(receiver.notices)
    assert run(stack)[1] == "failed"  # the second failing message reaches the limit: paused

    paused = receiver.wait_for("paused", after=seen, timeout=120)
    assert paused["text"].startswith(f"{DAG_ID} paused at ")
    assert "2 messages in a row failed since " in paused["text"]
    assert "(the last: HTTP 401), past its limit of 2 failing messages." in paused["text"]
    assert f"python -m auth0_log_webhooks resume {DAG_ID}" in paused["text"]
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == checkpoint

    # Paused: runs succeed with their tasks skipped, call neither the webhook nor Auth0, and notify nobody.
    knocked, notices = len(stack.sink.state.requests()), len(receiver.notices)
    reads = stack.tenant.counters()["log_requests"]
    for _ in range(2):
        skipped, state = run(stack)
        assert state == "success"
        states = {(ti["task_id"], ti["map_index"]): ti["state"] for ti in airflow.task_instances(DAG_ID, skipped)}
        assert (states[("fetch", -1)], states[("commit", -1)]) == ("skipped", "skipped")
    said = airflow.task_log(DAG_ID, skipped, "fetch")
    assert f"{DAG_ID} is paused since " in said
    assert "after 2 failing messages (the last: HTTP 401)" in said
    assert len(stack.sink.state.requests()) == knocked
    assert stack.tenant.counters()["log_requests"] == reads
    assert len(receiver.notices) == notices  # one notice for the pause, none per paused run
    assert [n["event"] for n in receiver.notices[seen:]].count("paused") == 1

    # The receiver recovers; clearing the Variable (Admin -> Variables, or the CLI) resumes.
    stack.sink.state.clear_faults()
    airflow.api("DELETE", f"/variables/{STATE}")
    assert run(stack)[1] == "success"

    expected = stack.selected_after(checkpoint)
    delivered = stack.sink.state.log_ids()
    assert Counter(delivered) == Counter(expected)  # every log, once
    summary = stack.sink.state.summary()
    assert summary["duplicate_log_ids"] == 0
    assert summary["statuses"]["401"] == 2  # one refused message per failing run, none while paused
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]
