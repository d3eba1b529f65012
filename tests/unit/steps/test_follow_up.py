"""Backlog drain: which runs start the next at once, with which params, and how they ask Airflow."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.steps import follow_up

pytestmark = pytest.mark.unit


def summary(more_to_read: bool) -> RunSummary:
    return RunSummary(
        batches=3, settled_batches=3, delivered_logs=300, dead_letters=0, checkpoint="9" * 56, more_to_read=more_to_read
    )


def test_a_run_that_stopped_at_its_cap_asks_for_the_next_run_of_its_own_dag_at_once() -> None:
    run = RunInfo(dag_id="auth0_authentication_api_webhooks", run_id="scheduled__x")
    params = {"start_from": "2026-11-01", "batch_size": 50, "log_level": None, "max_logs_per_run": 1000}

    assert follow_up.needs_follow_up(summary(True))
    request = follow_up.follow_up(run, summary(True), params)

    assert request.run_id.startswith(follow_up.RUN_ID_PREFIX)
    assert request.conf == {"batch_size": 50, "max_logs_per_run": 1000}  # never start_from: it would reread
    assert request.note == "Drains the backlog left by scheduled__x (it stopped at max_logs_per_run)."


def test_a_run_that_read_everything_does_not_ask_for_another() -> None:
    assert not follow_up.needs_follow_up(summary(False))


def test_follow_up_run_ids_are_distinct_and_sort_by_time() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    first, second = follow_up.follow_up_run_id(now), follow_up.follow_up_run_id(now + timedelta(microseconds=1))
    assert first < second


def test_an_event_mode_run_that_read_logs_written_while_it_ran_asks_for_the_next_run_and_says_why() -> None:
    run = RunInfo(dag_id="tenant_000", run_id="asset_triggered__x")
    live = RunSummary(**{**summary(False), "live": True})

    assert follow_up.needs_follow_up(live)
    request = follow_up.follow_up(run, live, {})

    assert request.run_id.startswith(follow_up.RUN_ID_PREFIX)
    assert request.note == (
        "Reads on after asset_triggered__x, which read logs written while it ran (event mode, live tenant)."
    )
