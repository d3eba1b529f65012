"""Numbers in HTTP headers: ASCII-only, bounded, garbage ignored (never an exception)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.hooks.auth0 import RateLimit
from auth0_log_webhooks.http.retrying import parse_retry_after

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)
NON_ASCII_DIGITS = ["²", "¹", "٣", "߁", "\U0001d7d7", "1²", "١٢٣"]


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
def test_retry_after_with_non_ascii_digits_is_ignored_not_a_crash(value: Any) -> None:
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", NON_ASCII_DIGITS)
def test_rate_limit_headers_with_non_ascii_digits_are_ignored_not_a_crash(value: Any) -> None:
    limits = RateLimit(limit=10, remaining=3, reset=1.0)
    headers = {"x-ratelimit-limit": value, "x-ratelimit-remaining": value, "x-ratelimit-reset": value}
    limits.update(headers)  # type: ignore[arg-type]
    assert limits == RateLimit(limit=10, remaining=3, reset=1.0)  # the last good values stand


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 7\t", 7), ("-1", -1), ("9" * 19, None), ("4e3", None), ("0x10", None), ("", None), ("+5", None)],
)
def test_header_int_reads_ascii_digits_of_bounded_length(value: Any, expected: int | None) -> None:
    from auth0_log_webhooks.http.headers import header_int

    assert header_int({"n": value}, "n") == expected


def test_a_thousand_digits_are_ignored_rather_than_hitting_pythons_int_limit() -> None:
    from auth0_log_webhooks.http.headers import header_int, header_number

    assert header_int({"n": "1" * 5000}, "n") is None
    assert header_number({"n": "1" * 5000}, "n") is None
    assert parse_retry_after("1" * 5000, NOW) is None


def test_an_ignored_header_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    from auth0_log_webhooks.http import headers
    from auth0_log_webhooks.http.headers import header_int

    headers._warned.discard("x-once")
    with caplog.at_level("WARNING", logger="auth0_log_webhooks.http.headers"):
        for _ in range(3):
            header_int({"X-Once": "²"}, "X-Once")
    assert [r.getMessage() for r in caplog.records] == [
        "Ignoring header X-Once: '²' is not a value this client understands"
    ]


@given(st.text(max_size=80))
def test_retry_after_of_any_text_is_none_or_a_finite_non_negative_number(value: str) -> None:
    seconds = parse_retry_after(value, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_rate_limit_update_takes_any_headers_without_raising(limit: str, remaining: str, reset: str) -> None:
    limits = RateLimit()
    limits.update({"x-ratelimit-limit": limit, "x-ratelimit-remaining": remaining, "x-ratelimit-reset": reset})  # type: ignore[arg-type]
    for value in (limits.limit, limits.remaining):
        assert value is None or isinstance(value, int)
    assert limits.reset is None or (math.isfinite(limits.reset) and limits.reset >= 0)


@given(st.integers(0, 10**17))
def test_header_int_and_number_read_back_any_ascii_integer(n: int) -> None:
    from auth0_log_webhooks.http.headers import header_int, header_number

    assert header_int({"n": str(n)}, "n") == n
    assert header_number({"n": str(n)}, "n") == float(n)
