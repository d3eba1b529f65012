"""Fetch progress: waits counted and summarised, progress lines at most every so often, never per wait."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from auth0_log_webhooks.hooks.read_progress import ReadProgress, WaitTally, tracked
from auth0_log_webhooks.log_ids import cursor_for_time

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 26, 14, 2, 11, tzinfo=UTC)


class Ticks:
    """A monotonic clock that moves 10 s each time it is read."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 10.0
        return self.now


def test_waits_are_summarised_in_one_sentence() -> None:
    tally = WaitTally()
    for _ in range(28):
        tally.add(1.0)
    tally.add(2.0, answered_429=True)
    assert tally.sentence() == "waited 29 times (30s) for Auth0's rate limit, 1 answer 429"
    assert WaitTally().sentence() == "no rate-limit waits"


def test_progress_lines_say_pages_logs_and_the_date_reached_at_most_every_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pages = [[{"log_id": cursor_for_time(AT)}] * 100 for _ in range(9)]
    progress, tally = ReadProgress(), WaitTally()
    tally.add(3.0)
    with caplog.at_level(logging.INFO, logger="auth0_log_webhooks.hooks.read_progress"):
        read = list(tracked(pages, tally, progress, every_seconds=30.0, clock=Ticks()))
    assert read == pages
    lines = [r.getMessage() for r in caplog.records]
    assert 2 <= len(lines) <= 5  # one every 30 s of a clock that moves 10 s per read, not one per page
    assert lines[-1].startswith("Read ")
    assert "up to 2026-11-26 14:02:11 UTC" in lines[-1]
    assert progress.sentence(tally) == (
        "Read 9 pages, 900 logs, up to 2026-11-26 14:02:11 UTC; "
        "waited 1 time (3s) for Auth0's rate limit, 0 answers 429."
    )
