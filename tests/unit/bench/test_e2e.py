"""Benchmark 2's report: what it says of a pass whose fetch sent everything, and of one with delivery tasks."""

from __future__ import annotations

import pytest

from bench.e2e import _describe
from bench.pipeline import EndToEndResult

pytestmark = pytest.mark.unit


def result(deliver_seconds: float, commit_seconds: float) -> EndToEndResult:
    return EndToEndResult("library", 10_000, 2.0, deliver_seconds, commit_seconds, 101, 95, 9_486)


def test_a_pass_whose_fetch_sent_and_committed_everything_is_described_without_a_delivery_rate() -> None:
    said = _describe(result(0.0, 0.0))  # the in-process runner's fetch committed the run: no other phase
    assert "deliver 0.00s (9,486 selected logs, all sent by the fetch's lane while it read, 95 POSTs)" in said
    assert "commit 0.00s" in said


def test_a_pass_with_delivery_tasks_reports_their_rate() -> None:
    assert "deliver 0.50s (9,486 selected logs, 18,972 logs/s, 95 POSTs)" in _describe(result(0.5, 0.1))
