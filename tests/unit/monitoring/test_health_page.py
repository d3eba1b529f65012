"""The health page: the checkpoint as a date, the lag, runs over 24 hours as a chart, dead letters to replay."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.delivery.dead_letters import DeadLetter, DeadLetterSummary
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.monitoring.health_page import PipelineHealth, as_json, gather, page, rate_limited_text
from auth0_log_webhooks.monitoring.run_history import RunPoint
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, Pipeline
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)
DAG_ID = AUTHENTICATION_API.dag_id


def letter(n: int, reason: str = "permanent: HTTP 410 after 1 attempt") -> DeadLetter:
    return DeadLetter(
        pipeline=DAG_ID,
        webhook_id=f"msg_{n}",
        reason=reason,
        last_status=410,
        last_error=None,
        last_body_excerpt="",
        attempts=1,
        created_at=f"2026-11-26T14:0{n}:00+00:00",
        dag_id=DAG_ID,
        run_id=f"manual__{n}",
        log_ids=["x"] * (10 * n),
        logs=[],
    )


def kept(*letters: DeadLetter) -> DeadLetterSummary:
    return DeadLetterSummary.of(letters)


@pytest.fixture
def healths() -> list[PipelineHealth]:
    """One pipeline: a checkpoint 5 minutes old, three runs in 24 h (one older, left out), two dead letters."""
    variables = InMemoryVariables({AUTHENTICATION_API.checkpoint_variable: cursor_for_time(NOW - timedelta(minutes=5))})
    events: list[tuple[datetime, Mapping[str, Any]]] = [
        (NOW - timedelta(hours=2), {"logs_delivered": 300, "dead_letters": 0, "lag_seconds": 80.0}),
        (NOW - timedelta(minutes=10), {"logs_delivered": 22, "dead_letters": 1, "lag_seconds": 42.0, "auth0_429": 2}),
        (
            NOW - timedelta(hours=1),
            {"logs_delivered": 100, "dead_letters": 0, "lag_seconds": 60.0, "auth0_429": 1, "webhook_429": 4},
        ),
    ]
    seen: list[datetime] = []

    def recent(pipeline: Pipeline, since: datetime) -> list[tuple[datetime, Mapping[str, Any]]]:
        seen.append(since)
        return events

    result = gather(
        PIPELINES, variables=variables, events=recent, dead_letters=lambda p: kept(letter(1), letter(2)), now=NOW
    )
    assert seen == [NOW - timedelta(hours=24)]
    return result


def test_the_numbers_are_the_checkpoint_as_a_date_the_lag_the_runs_and_the_waiting_dead_letters(
    healths: list[PipelineHealth],
) -> None:
    (numbers,) = as_json(healths)
    assert numbers["checkpoint_time"] == "2026-11-26 14:55:00 UTC"
    assert numbers["checkpoint_age_seconds"] == 300.0
    assert numbers["lag_at_last_commit_seconds"] == 42.0  # the newest run's, not the last listed
    assert (numbers["runs_24h"], numbers["logs_delivered_24h"], numbers["dead_letters_waiting"]) == (3, 422, 2)
    assert numbers["replay_config"] == {"pipeline": DAG_ID, "entries": [f"{DAG_ID}/msg_2", f"{DAG_ID}/msg_1"]}
    assert numbers["last_errors"][0].startswith("2026-11-26 14:02:00 UTC: 20 logs kept, permanent: HTTP 410")
    assert (numbers["auth0_429_24h"], numbers["webhook_429_24h"]) == (3, 4)  # an event without them counts 0


def test_the_page_shows_the_429s_of_the_last_24_hours_by_source(healths: list[PipelineHealth]) -> None:
    assert re.search(
        r"429s waited out, last 24 h</div><div class=\"value\">3 from Auth0, 4 from the webhook<", page(healths, NOW)
    )
    assert rate_limited_text([RunPoint(NOW, 5, 0, auth0_429=1)]) == "1 from Auth0, none from the webhook"
    assert rate_limited_text([RunPoint(NOW, 5, 0)]) == "none"


def test_the_page_shows_a_bar_per_run_and_a_replay_button_with_its_config(healths: list[PipelineHealth]) -> None:
    html = page(healths, NOW)
    assert len(re.findall(r"<g><title>", html)) == 3
    assert "14:50 UTC: 22 logs, 1 dead letter" in html
    assert "2026-11-26 14:55:00 UTC" in html
    (conf,) = re.findall(r'data-conf="([^"]+)"', html)
    assert json.loads(conf.replace("&quot;", '"'))["pipeline"] == DAG_ID
    assert "Replay 2 dead letters" in html
    # The axis' last date ends at the chart's right edge (anchored there), never cut off by it.
    assert '<text x="720" y="174" font-size="11" text-anchor="end">2026-11-26 15:00 UTC</text>' in html


def test_an_idle_pipeline_says_so_instead_of_an_empty_chart() -> None:
    variables = InMemoryVariables()
    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: kept(), now=NOW)
    html = page(healths, NOW)
    assert "No run ended in the last 24 hours." in html
    assert "No run failed in the last 24 hours." in html
    assert "No dead letters waiting." in html
    assert "none yet" in html


def test_text_from_receivers_is_escaped() -> None:
    variables = InMemoryVariables()
    evil = letter(1, reason="<script>alert(1)</script>")
    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: kept(evil), now=NOW)
    assert "<script>alert(1)" not in page(healths, NOW)


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
EXTRA_KEYS = st.sampled_from(["logs_delivered", "dead_letters", "auth0_429", "webhook_429", "lag_seconds", "other"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extras=st.lists(st.dictionaries(EXTRA_KEYS, ANY_JSON, max_size=6) | ANY_JSON, min_size=1, max_size=4))
def test_any_asset_event_extra_renders_with_what_is_a_count_counted(extras: list[Any]) -> None:
    events = [(NOW - timedelta(minutes=n + 1), extra) for n, extra in enumerate(extras)]
    healths = gather(
        PIPELINES, variables=InMemoryVariables(), events=lambda p, s: events, dead_letters=lambda p: kept(), now=NOW
    )
    assert "<h2>" in page(healths, NOW)
    (numbers,) = as_json(healths)
    json.dumps(numbers, allow_nan=False)  # the JSON answer is valid JSON
    assert all(isinstance(run["logs"], int) and run["logs"] >= 0 for run in numbers["runs"])


def test_an_extra_with_text_where_counts_belong_counts_zero_and_still_renders() -> None:
    events: list[tuple[datetime, Mapping[str, Any]]] = [
        (NOW - timedelta(minutes=5), {"logs_delivered": "many", "dead_letters": [1], "lag_seconds": "soon"}),
        (NOW - timedelta(minutes=4), {"logs_delivered": 7, "auth0_429": True}),
    ]
    healths = gather(
        PIPELINES, variables=InMemoryVariables(), events=lambda p, s: events, dead_letters=lambda p: kept(), now=NOW
    )
    (numbers,) = as_json(healths)
    assert (numbers["runs_24h"], numbers["logs_delivered_24h"], numbers["auth0_429_24h"]) == (2, 7, 0)
    assert "7 logs in 2 runs" in page(healths, NOW)


def test_many_dead_letters_are_counted_and_replayed_as_all_without_listing_each() -> None:
    summary = DeadLetterSummary([f"{DAG_ID}/msg_{n}" for n in range(500)], [letter(1)])
    healths = gather(
        PIPELINES, variables=InMemoryVariables(), events=lambda p, s: [], dead_letters=lambda p: summary, now=NOW
    )
    (numbers,) = as_json(healths)
    assert numbers["dead_letters_waiting"] == 500
    assert numbers["replay_config"] == {"pipeline": DAG_ID}  # all of the pipeline's
    assert "500 entries<" in page(healths, NOW)


def test_a_failed_run_is_counted_and_named_on_the_page() -> None:
    from auth0_log_webhooks.contracts import ReplayReport, RunSummary
    from auth0_log_webhooks.monitoring.run_history import record_failed_run, record_replay

    variables = InMemoryVariables()
    summary = RunSummary(
        batches=1, settled_batches=1, delivered_logs=20, dead_letters=3, checkpoint=None, more_to_read=False
    )
    record_failed_run(variables, DAG_ID, "scheduled__9", "3 dead letters kept\nadvice", summary, now=NOW)
    record_replay(variables, DAG_ID, "manual__r", ReplayReport(delivered=1, still_failing=0, logs_delivered=9), now=NOW)
    events: list[tuple[datetime, Mapping[str, Any]]] = [
        (NOW - timedelta(hours=1), {"logs_delivered": 100, "dead_letters": 0})
    ]
    healths = gather(
        PIPELINES, variables=variables, events=lambda p, s: events, dead_letters=lambda p: kept(letter(1)), now=NOW
    )
    html = page(healths, NOW)
    assert "120 logs in 2 runs (1 failed)" in html
    assert "3 dead letters kept, 1 replayed" in html
    assert "Last failed run: 2026-11-26 15:00:00 UTC, run scheduled__9: 3 dead letters kept" in html
    assert "15:00 UTC: 20 logs, 3 dead letters, failed" in html
    assert html.count('<rect class="failed"') == 1  # a red cap marks the failed run's bar
    (numbers,) = as_json(healths)
    assert (numbers["failed_runs_24h"], numbers["dead_letters_kept_24h"], numbers["dead_letters_replayed_24h"]) == (
        1,
        3,
        1,
    )


def test_a_paused_pipeline_shows_since_when_why_and_a_resume_button() -> None:
    from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable

    state = PauseState(
        failing_messages=7,
        failing_since=NOW - timedelta(hours=3),
        last_status=503,
        paused_at=NOW - timedelta(hours=1),
        checkpoint=cursor_for_time(NOW - timedelta(hours=3, minutes=5)),
        notice_sent=True,
    )
    variables = InMemoryVariables({state_variable(DAG_ID): state.dumps()})

    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: kept(), now=NOW)
    html_page = page(healths, NOW)
    (numbers,) = as_json(healths)

    assert (numbers["paused"], numbers["failing_messages"]) == (True, 7)
    assert numbers["paused_since"] == "2026-11-26T14:00:00+00:00"
    assert (
        f"{DAG_ID} is paused since 2026-11-26 14:00:00 UTC after 7 failing messages (the last: HTTP 503)" in html_page
    )
    assert "it reads and sends nothing until it is resumed" in html_page
    assert f'<button class="resume" data-dag="{DAG_ID}">Resume {DAG_ID}</button>' in html_page
    assert "but not change it" not in html_page
    assert "none: no run ended" in html_page  # not "0 logs in no run"

    healths[0].may_resume = False  # a user whose role may read the DAG but not change it
    read_only = page(healths, NOW)
    assert f"{DAG_ID} is paused since 2026-11-26 14:00:00 UTC after 7 failing messages" in read_only
    assert 'class="resume"' not in read_only
    assert (
        f"You may read {DAG_ID} but not change it, so you cannot resume it: ask someone whose Airflow role may edit "
        f"the DAG {DAG_ID} to press Resume on this page or to run "
        f"<code>python -m auth0_log_webhooks resume {DAG_ID}</code>."
    ) in read_only


def test_a_failing_pipeline_that_is_not_paused_shows_its_streak_and_no_button() -> None:
    from auth0_log_webhooks.delivery.auto_pause import PauseState, state_variable

    state = PauseState(failing_messages=2, failing_since=NOW - timedelta(minutes=10))
    variables = InMemoryVariables({state_variable(DAG_ID): state.dumps()})

    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: kept(), now=NOW)
    html_page = page(healths, NOW)

    assert "2 messages in a row failed since 2026-11-26 14:50:00 UTC (the last: no answer)." in html_page
    assert 'class="resume"' not in html_page
    assert as_json(healths)[0]["paused"] is False
    assert "Paused." not in page(
        gather(
            PIPELINES, variables=InMemoryVariables(), events=lambda p, s: [], dead_letters=lambda p: kept(), now=NOW
        ),
        NOW,
    )
