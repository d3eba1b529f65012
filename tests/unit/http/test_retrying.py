"""The retry toolkit the Auth0 hook and the webhook sender share: backoff and Retry-After."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.http.retrying import backoff_seconds, parse_retry_after

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 5 ", 5.0),
        (format_datetime(NOW + timedelta(seconds=45), usegmt=True), 45.0),
        ("Thu, 26 Nov 2026 05:00:30 -0000", 30.0),
        (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
    ids=["seconds", "padded", "http-date", "naive-date", "past-date", "garbage", "negative", "empty", "absent"],
)
def test_parse_retry_after_reads_seconds_or_an_http_date(value: Any, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 0.5, 1), (2, 1, 2), (3, 2, 4), (9, 15, 30)])
def test_backoff_doubles_from_the_initial_wait_with_jitter_in_the_upper_half(
    attempt: int, low: float, high: int
) -> None:
    waits = [backoff_seconds(attempt, 1, 30, rng=random.Random(seed)) for seed in range(200)]
    assert low <= min(waits)
    assert max(waits) <= high
    assert max(waits) - min(waits) > (high - low) / 2  # jittered, not a constant


@given(attempt=st.integers(1, 10_000), initial=st.floats(0, 3600), maximum=st.floats(0, 3600))
def test_backoff_stays_within_half_and_all_of_its_ceiling_for_any_attempt(
    attempt: int, initial: float, maximum: float
) -> None:
    wait = backoff_seconds(attempt, initial, maximum)
    ceiling = min(maximum, initial * 2 ** min(attempt - 1, 30))
    assert ceiling / 2 <= wait <= ceiling
