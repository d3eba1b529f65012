"""Signals: run counts and lag as Airflow metrics and as the committed run's asset event extra."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.monitoring.metrics import lag_seconds, record_rate_limited, record_run, run_extra, total

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)


class Recorder:
    """Stands in for Airflow's Stats and remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, float | None, dict[str, str] | None]] = []

    def incr(
        self, stat: str, count: int | None = None, rate: float | None = None, *, tags: dict[str, str] | None = None
    ) -> None:
        self.calls.append(("incr", stat, count, tags))

    def gauge(
        self,
        stat: str,
        value: float,
        rate: float | None = None,
        delta: bool | None = None,
        *,
        tags: dict[str, str] | None = None,
    ) -> None:
        self.calls.append(("gauge", stat, value, tags))


def summary(checkpoint: str | None, delivered: int = 300, dead: int = 1) -> RunSummary:
    return RunSummary(
        batches=3,
        settled_batches=3,
        delivered_logs=delivered,
        dead_letters=dead,
        checkpoint=checkpoint,
        more_to_read=False,
        read=delivered + 50,
        filtered=49,
        dead_lettered_logs=dead,
        unsettled_logs=0,
    )


def test_the_lag_is_how_far_the_checkpoints_log_is_behind_now() -> None:
    assert lag_seconds(cursor_for_time(NOW - timedelta(minutes=7)), NOW) == 420.0
    assert lag_seconds(None, NOW) is None


def test_a_run_emits_delivered_dead_lettered_and_lag_tagged_with_its_dag() -> None:
    recorder = Recorder()
    record_run("dag", summary(cursor_for_time(NOW - timedelta(seconds=90))), stats=lambda: recorder, now=NOW)
    tags = {"dag_id": "dag"}
    assert recorder.calls == [
        ("incr", "auth0_log_webhooks.logs_delivered", 300, tags),
        ("incr", "auth0_log_webhooks.dead_lettered", 1, tags),
        ("gauge", "auth0_log_webhooks.lag_seconds", 90.0, tags),
    ]


def test_a_backfill_run_without_a_checkpoint_emits_no_lag() -> None:
    recorder = Recorder()
    record_run("dag", summary(None), stats=lambda: recorder, now=NOW)
    assert [call[1] for call in recorder.calls] == [
        "auth0_log_webhooks.logs_delivered",
        "auth0_log_webhooks.dead_lettered",
    ]


def test_429s_are_counted_only_when_there_were_some() -> None:
    recorder = Recorder()
    record_rate_limited("dag", 0, stats=lambda: recorder)
    record_rate_limited("dag", 3, stats=lambda: recorder)
    record_rate_limited("dag", 2, metric="webhook_429", stats=lambda: recorder)
    assert recorder.calls == [
        ("incr", "auth0_log_webhooks.auth0_429", 3, {"dag_id": "dag"}),
        ("incr", "auth0_log_webhooks.webhook_429", 2, {"dag_id": "dag"}),
    ]


def test_the_asset_event_extra_holds_counts_the_checkpoint_as_a_date_and_the_lag_as_plain_json() -> None:
    checkpoint = cursor_for_time(NOW - timedelta(minutes=2))
    extra = run_extra(summary(checkpoint), auth0_429=3, webhook_429=1, run_id="manual__1", now=NOW)
    assert json.loads(json.dumps(extra)) == {
        "run_id": "manual__1",
        "logs_delivered": 300,
        "batches": 3,
        "dead_letters": 1,
        "checkpoint": checkpoint,
        "checkpoint_time": "2026-11-26T14:58:00+00:00",
        "lag_seconds": 120.0,
        "auth0_429": 3,
        "webhook_429": 1,
        "logs_read": 350,
        "logs_filtered": 49,
        "logs_dead_lettered": 1,
        "logs_unsettled": 0,
    }


def test_the_429_total_adds_a_mapped_tasks_counts_as_xcom_gives_them() -> None:
    assert (total(None), total(3), total([2, None, 5]), total([])) == (0, 3, 7, 0)
