"""Notifications in a real Airflow: a refusing or stopped webhook raises a failure notice, the lag alarm and
the run deadline's notice at a local alerts receiver, and they clear (a success notice, the alarm cleared)
after recovery.

Shares the session's stack (tests/e2e/conftest.py). It sets the alerts connection and Variable,
sink faults and retry settings for its own runs, and puts every one of them back at the end.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.alerts_receiver import AlertsReceiver
from tests.e2e.conftest import Stack, wait_for_runs

pytestmark = pytest.mark.e2e

ALARMS_DAG = "auth0_log_webhooks_alarms"
DAG_ID = AUTHENTICATION_API.dag_id


def configure(stack: Stack, **settings: Any) -> None:
    """Merge settings into the pipeline's config Variable."""
    current = json.loads(stack.airflow.variable(AUTHENTICATION_API.config_variable) or "{}")
    stack.airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps({**current, **settings}))


def check_alarms(stack: Stack) -> None:
    """Run the alarms DAG once, as its schedule would."""
    run = stack.airflow.trigger(ALARMS_DAG)
    assert stack.airflow.wait_for_run(ALARMS_DAG, run, timeout=180) == "success"


def test_a_failing_webhook_raises_notices_and_the_lag_alarm_which_clear_after_recovery(
    stack: Stack, receiver: AlertsReceiver
) -> None:
    airflow = stack.airflow
    airflow.wait_for_dag(ALARMS_DAG)
    airflow.unpause(ALARMS_DAG)
    (first,) = wait_for_runs(airflow, ALARMS_DAG, 1)  # unpausing runs the latest interval once
    assert airflow.wait_for_run(ALARMS_DAG, first, timeout=180) == "success"

    # The webhook refuses one batch for good (400: dead-lettered; a 401/403/410 would open the circuit and
    # keep the logs for the next run instead, tests/integration/test_circuit.py): the notice says where they are.
    stack.fresh_start()
    stack.sink.state.add_faults({"status": 400})
    configure(stack, max_attempts=1)
    stack.tenant.add_logs(30)
    assert airflow.wait_for_run(DAG_ID, airflow.trigger(DAG_ID), timeout=300) == "failed"
    failure = receiver.wait_for("failure")
    first_line = failure["text"].splitlines()[1]
    assert "not delivered (HTTP 400); kept as" in first_line
    assert '"pipeline": "auth0_authentication_api_webhooks"' in failure["text"]

    check_alarms(stack)  # caught up again (the dead letters are kept): no lag alarm from here
    seen = len(receiver.notices)

    # The webhook stops answering: the next run keeps retrying, so the logs wait and lag builds up.
    stack.sink.state.clear_faults()
    stack.sink.state.add_faults({"status": 503})
    # 50 attempts (the most max_attempts allows) 2-5 s apart: minutes of retrying, longer than the alarm check.
    configure(stack, max_attempts=50, backoff_initial_seconds=2, backoff_max_seconds=5)
    stack.tenant.add_logs(30)
    time.sleep(2)  # the new logs are dated after the checkpoint's log
    answered = len(stack.sink.state.requests())
    stuck = airflow.trigger(DAG_ID)
    deadline = time.monotonic() + 120
    while len(stack.sink.state.requests()) == answered:  # the stuck run is knocking
        assert time.monotonic() < deadline, "the run never called the webhook"
        time.sleep(1)
    check_alarms(stack)
    alarm = receiver.wait_for("lag_alarm", after=seen, timeout=30)
    assert alarm["text"].startswith(f"Lag alarm: {DAG_ID} is ")

    # Still not done a minute after it was queued (the e2e pipelines file's run_deadline_minutes): the
    # scheduler finds the run's deadline missed and the triggerer runs its callback, which sends the notice.
    overdue = receiver.wait_for("run_deadline_missed", after=seen, timeout=150)
    assert overdue["text"].startswith(f"Run deadline missed: {DAG_ID} run {stuck} was queued at ")
    assert overdue["text"].endswith("a stuck fetch says what the tenant answers.")

    # Recovery: the webhook answers again; the stuck run delivers, says so, and the alarm clears.
    stack.sink.state.clear_faults()
    assert airflow.wait_for_run(DAG_ID, stuck, timeout=300) == "success"
    success = receiver.wait_for("success", after=seen)
    assert success["text"].startswith(f"{DAG_ID} run {stuck} succeeded. Delivered ")
    check_alarms(stack)
    cleared = receiver.wait_for("lag_alarm_cleared", after=seen, timeout=30)
    assert cleared["text"].startswith(f"Lag alarm cleared: {DAG_ID} is ")
