"""Lag and retention alarms: one notice when an alarm fires, one when it clears, none in between."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.contracts import ReplayReport, RunSummary
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.monitoring.alarms import (
    ALERTS_VARIABLE,
    STATE_VARIABLE,
    AlertSettings,
    Measurement,
    evaluate,
    parse_settings,
)
from auth0_log_webhooks.monitoring.run_history import record_failed_run, record_replay
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, Pipeline
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.wiring.alarm_dags import check_alarms, send_daily_report

pytestmark = pytest.mark.unit

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}
DAG_ID = AUTHENTICATION_API.dag_id

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)
SETTINGS = AlertSettings(lag_alarm_minutes=30, retention_days=2, retention_warning_hours=12)


def at(minutes_behind: float, newest_behind: float = 0.0) -> Measurement:
    """A measurement whose checkpoint is ``minutes_behind`` now and the newest log ``newest_behind``."""
    return Measurement(
        "pipe",
        cursor_for_time(NOW - timedelta(minutes=minutes_behind)),
        cursor_for_time(NOW - timedelta(minutes=newest_behind)),
        NOW,
    )


def test_the_lag_alarm_fires_once_with_both_dates_and_the_next_step() -> None:
    state, notices = evaluate({}, [at(45)], SETTINGS)
    (notice,) = notices
    assert (notice.alarm, notice.firing) == ("lag", True)
    assert notice.text.startswith("Lag alarm: pipe is 45 min behind the tenant's newest log (threshold 30 min).")
    assert "2026-11-26 14:15:00 UTC" in notice.text
    assert state == {"pipe": {"lag": True, "retention": False}}
    assert evaluate(state, [at(50)], SETTINGS)[1] == []  # still firing: no second notice


def test_the_lag_alarm_clears_once_after_recovery() -> None:
    state, _ = evaluate({}, [at(45)], SETTINGS)
    state, notices = evaluate(state, [at(1)], SETTINGS)
    assert [(n.alarm, n.firing) for n in notices] == [("lag", False)]
    assert notices[0].text == "Lag alarm cleared: pipe is 60s behind the tenant's newest log."
    assert evaluate(state, [at(1)], SETTINGS)[1] == []


def test_a_quiet_tenant_is_not_behind_when_its_checkpoint_is_its_newest_log() -> None:
    # No new logs for hours: the checkpoint is old, but nothing waits to be delivered.
    assert evaluate({}, [at(300, newest_behind=300)], SETTINGS)[1] == []


def test_the_retention_alarm_fires_before_the_checkpoints_logs_leave_retention() -> None:
    _, notices = evaluate({}, [at(60 * 40, newest_behind=60 * 40)], SETTINGS)  # 40 h old of 48 h kept
    (notice,) = notices
    assert (notice.alarm, notice.firing) == ("retention", True)
    assert "leave it in 8.0 h" in notice.text
    assert "2-day log retention" in notice.text


def test_a_pipeline_without_a_checkpoint_keeps_its_state() -> None:
    state = {"pipe": {"lag": True}}
    assert evaluate(state, [Measurement("pipe", None, None, NOW)], SETTINGS) == (state, [])


@given(st.lists(st.floats(min_value=0, max_value=200), min_size=1, max_size=30))
def test_notices_alternate_fire_and_clear_one_per_threshold_crossing(lags: list[Any]) -> None:
    state: dict[str, dict[str, bool]] = {}
    sent = []
    for lag in lags:
        state, notices = evaluate(state, [at(lag)], SETTINGS)
        sent += [n.firing for n in notices if n.alarm == "lag"]
    above = [lag > 30 for lag in lags]
    crossings = sum(1 for before, after in zip([False, *above], above, strict=False) if before != after)
    assert len(sent) == crossings
    assert sent == [i % 2 == 0 for i in range(len(sent))]  # fire, clear, fire, ...


def test_bad_alert_settings_name_the_variable_and_the_field() -> None:
    with pytest.raises(ValueError, match=r"auth0_log_webhooks_alerts.*lag_alarm_minutes"):
        parse_settings('{"lag_alarm_minutes": -1}')
    assert parse_settings(None) == AlertSettings()


@given(st.text(max_size=60))
def test_any_text_in_the_settings_variable_gives_settings_or_a_clear_error(raw: str) -> None:
    outcome: AlertSettings | str
    try:
        outcome = parse_settings(raw)
    except ValueError as exc:
        outcome = str(exc)
    assert isinstance(outcome, AlertSettings) or outcome.startswith("Variable auth0_log_webhooks_alerts is ")


def test_a_check_sends_each_change_once_and_saves_the_state_only_after_sending() -> None:
    variables = InMemoryVariables({AUTHENTICATION_API.checkpoint_variable: cursor_for_time(NOW - timedelta(hours=1))})
    failing, sent = [False], list[tuple[str, object]]()

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append((conn_id, payload["event"]))
        return not failing[0]

    def newest(_: Pipeline) -> str:
        return cursor_for_time(NOW)

    failing[0] = True
    with pytest.raises(RuntimeError, match="could not be sent to connection auth0_alerts_default"):
        check_alarms(PIPELINES, variables=variables, newest=newest, send=send, now=NOW)
    assert variables.get(STATE_VARIABLE) is None  # not saved: the next check sends it again
    failing[0] = False
    check_alarms(PIPELINES, variables=variables, newest=newest, send=send, now=NOW)
    check_alarms(PIPELINES, variables=variables, newest=newest, send=send, now=NOW)
    assert sent == [("auth0_alerts_default", "lag_alarm"), ("auth0_alerts_default", "lag_alarm")]
    assert json.loads(variables.get(STATE_VARIABLE) or "{}")[AUTHENTICATION_API.dag_id]["lag"] is True


def report_variables(tmp_path: Path, **alerts: object) -> InMemoryVariables:
    """A pipeline 3 minutes behind, its dead letters under tmp_path, the alert settings ``alerts``."""
    return InMemoryVariables(
        {
            AUTHENTICATION_API.checkpoint_variable: cursor_for_time(NOW - timedelta(minutes=3)),
            AUTHENTICATION_API.config_variable: json.dumps({"dead_letter_url": f"file://{tmp_path}/dead"}),
            ALERTS_VARIABLE: json.dumps(alerts),
        }
    )


REPORT_EVENTS: list[tuple[datetime, Mapping[str, Any]]] = [
    (NOW - timedelta(hours=25), {"logs_delivered": 999, "dead_letters": 9}),  # older than a day: left out
    (NOW - timedelta(hours=3), {"logs_delivered": 1200, "dead_letters": 0}),
    (NOW - timedelta(minutes=3), {"logs_delivered": 34, "dead_letters": 0}),
]


def report_events(_: Pipeline) -> list[tuple[datetime, Mapping[str, Any]]]:
    return REPORT_EVENTS


def test_the_daily_report_sums_the_last_24_hours_and_names_the_checkpoint_date(tmp_path: Path) -> None:
    variables = report_variables(tmp_path)
    sent: list[tuple[str, Mapping[str, object]]] = []

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append((conn_id, payload))
        return True

    text = send_daily_report(PIPELINES, report_events, variables=variables, send=send, now=NOW)
    assert text == (
        f"{AUTHENTICATION_API.dag_id}, last 24 hours: 1,234 logs delivered in 2 runs, all successful; "
        "0 dead letters kept, 0 replayed; 0 dead letters waiting for replay. "
        "Checkpoint at 2026-11-26 14:57:00 UTC, 3 min ago. Reconciliation: none of the 2 runs carried counts (an "
        "older version ran them); 0 logs replayed from dead letters."
    )
    assert sent == [("auth0_alerts_default", {"event": "daily_report", "text": text})]


def test_the_daily_report_counts_failed_runs_their_dead_letters_and_replays_and_names_the_last_failure(
    tmp_path: Path,
) -> None:
    variables = report_variables(tmp_path)
    summary = RunSummary(
        batches=3, settled_batches=3, delivered_logs=54, dead_letters=2, checkpoint=None, more_to_read=False
    )
    error = "2 dead letters kept (146 logs)\nthe advice"
    record_failed_run(variables, DAG_ID, "scheduled__1", error, summary, now=NOW - timedelta(hours=2))
    record_failed_run(
        variables, DAG_ID, "scheduled__2", RuntimeError("The fetch did not finish"), now=NOW - timedelta(hours=1)
    )
    replayed = ReplayReport(delivered=2, still_failing=0, logs_delivered=146)
    record_replay(variables, DAG_ID, "manual__replay", replayed, now=NOW - timedelta(minutes=30))
    text = send_daily_report(PIPELINES, report_events, variables=variables, send=lambda c, p: True, now=NOW)
    assert text == (
        f"{DAG_ID}, last 24 hours: 1,288 logs delivered in 4 runs (2 failed); 2 dead letters kept, 2 replayed; "
        "0 dead letters waiting for replay. Last failure: 2026-11-26 14:00:00 UTC, run scheduled__2: "
        "The fetch did not finish. Checkpoint at 2026-11-26 14:57:00 UTC, 3 min ago. Reconciliation of 1 run: 0 read "
        "= 0 filtered out + 0 delivered + 0 dead-lettered + 0 left for the next run, every log read is accounted for; "
        "146 logs replayed from dead letters. 3 runs of an older version carried no counts."
    )


def test_the_on_failure_report_is_sent_only_after_a_failure(tmp_path: Path) -> None:
    variables = report_variables(tmp_path, daily_report="on_failure")
    sent: list[Mapping[str, object]] = []

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append(payload)
        return True

    def report() -> str:
        return send_daily_report(PIPELINES, report_events, variables=variables, send=send, now=NOW)

    assert report().startswith("Not sent: no run or replay failed in the last 24 hours and no dead letter waits")
    assert sent == []
    record_failed_run(variables, DAG_ID, "scheduled__1", "boom", now=NOW - timedelta(hours=23))
    assert "(1 failed)" in report()
    assert len(sent) == 1


def test_an_unknown_daily_report_mode_names_the_choices() -> None:
    with pytest.raises(ValueError, match="daily_report: Input should be 'always' or 'on_failure'"):
        parse_settings('{"daily_report": "weekly"}')


def test_the_newest_log_is_the_newest_that_is_not_the_checks_own_token_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from auth0_log_webhooks.hooks.auth0 import Auth0Hook
    from auth0_log_webhooks.wiring.alarm_dags import newest_log_id

    own = {"log_id": cursor_for_time(NOW), "type": "seccft", "client_id": "me"}
    theirs = {"log_id": cursor_for_time(NOW - timedelta(minutes=1)), "type": "s", "client_id": "app"}
    monkeypatch.setattr(Auth0Hook, "newest_logs", lambda self, count=10: [own, theirs])
    monkeypatch.setattr(Auth0Hook, "client_id", "me")
    assert newest_log_id(AUTHENTICATION_API) == theirs["log_id"]


def test_the_retention_alarm_of_a_paused_pipeline_says_since_when_and_how_to_resume() -> None:
    """A paused pipeline reads nothing, so its checkpoint ages; the alarm warns before Auth0 drops its logs."""
    paused = Measurement(DAG_ID, cursor_for_time(NOW - timedelta(hours=40)), None, NOW, NOW - timedelta(hours=39))

    _, notices = evaluate({}, [paused], SETTINGS)

    (notice,) = notices
    assert (notice.alarm, notice.firing) == ("retention", True)
    assert "leave it in 8.0 h the tenant's 2-day log retention" in notice.text
    assert f"{DAG_ID} is paused since 2026-11-25 00:00:00 UTC (auto-pause): fix the webhook, then resume" in notice.text
    assert f"python -m auth0_log_webhooks resume {DAG_ID}" in notice.text
    assert "raise max_logs_per_run" not in notice.text


def test_a_check_reads_whether_each_pipeline_is_paused() -> None:
    from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable

    state = PauseState(failing_messages=5, failing_since=NOW - timedelta(days=29), paused_at=NOW - timedelta(days=29))
    variables = InMemoryVariables(
        {
            AUTHENTICATION_API.checkpoint_variable: cursor_for_time(NOW - timedelta(days=29, hours=13)),
            state_variable(DAG_ID): state.dumps(),
        }
    )
    sent: list[Mapping[str, object]] = []

    def send(conn_id: str, payload: Mapping[str, object]) -> bool:
        sent.append(payload)
        return True

    check_alarms(PIPELINES, variables=variables, newest=lambda p: None, send=send, now=NOW)

    (notice,) = sent
    assert notice["event"] == "retention_alarm"
    assert f"{DAG_ID} is paused since 2026-10-28 15:00:00 UTC (auto-pause)" in str(notice["text"])
