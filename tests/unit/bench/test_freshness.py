"""The freshness bench's arithmetic: percentiles, the event-mode verdict, the idle window scaled to an hour."""

from __future__ import annotations

import pytest

from bench.freshness import FreshnessResult, IdleResult, percentile

pytestmark = pytest.mark.unit


def test_percentile_is_nearest_rank() -> None:
    lags = [float(n) for n in range(1, 101)]  # 1..100 s
    assert (percentile(lags, 0.5), percentile(lags, 0.95), percentile(lags, 1.0)) == (50.0, 95.0, 100.0)
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0  # unsorted input


def fresh(lags: list[float], created: int | None = None, rate_limited: int = 0) -> FreshnessResult:
    count = len(lags) if created is None else created
    return FreshnessResult("event", count, lags, {"asset_triggered": 3}, rate_limited, 300.0)


def test_the_event_target_needs_p95_within_30_s_no_429_and_nothing_missing() -> None:
    assert fresh([10.0] * 95 + [30.0] * 5).met
    assert not fresh([10.0] * 90 + [31.0] * 10).met
    assert not fresh([10.0] * 100, rate_limited=1).met
    assert not fresh([10.0] * 99, created=100).met
    assert fresh([], created=5).p(0.95) == float("inf")


def test_an_idle_window_is_scaled_to_an_hour() -> None:
    window = IdleResult("cron", 300.0, {"scheduled": 1}, 5, 2, 1, 1)
    assert window.run_count == 1
    assert (window.per_hour(window.run_count), window.per_hour(window.requests)) == (12.0, 60.0)
