"""The health page: the checkpoint as a date, the lag, runs over 24 hours as a chart, dead letters to replay."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from auth0_log_webhooks.delivery.dead_letters import DeadLetter
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.monitoring.health_page import PipelineHealth, RunPoint, as_json, gather, page, rate_limited_text
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, Pipeline
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}

NOW = datetime(2026, 11, 26, 15, 0, 0, tzinfo=UTC)
DAG_ID = AUTHENTICATION_API.dag_id


def letter(n: int, reason: str = "permanent: HTTP 410 after 1 attempt(s)") -> DeadLetter:
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
        PIPELINES, variables=variables, events=recent, dead_letters=lambda p: [letter(1), letter(2)], now=NOW
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
    assert numbers["replay_config"] == {"pipeline": DAG_ID, "entries": [f"{DAG_ID}/msg_1", f"{DAG_ID}/msg_2"]}
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
    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: [], now=NOW)
    html = page(healths, NOW)
    assert "No run committed in the last 24 hours." in html
    assert "No dead letters waiting." in html
    assert "none yet" in html


def test_text_from_receivers_is_escaped() -> None:
    variables = InMemoryVariables()
    evil = letter(1, reason="<script>alert(1)</script>")
    healths = gather(PIPELINES, variables=variables, events=lambda p, s: [], dead_letters=lambda p: [evil], now=NOW)
    assert "<script>alert(1)" not in page(healths, NOW)
