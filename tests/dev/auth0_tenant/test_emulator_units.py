"""Unit tests of the emulator's query parser and token bucket (no HTTP)."""

from __future__ import annotations

import pytest

from dev.auth0_tenant.query import (
    And,
    DateRange,
    Not,
    Or,
    QueryError,
    Range,
    Term,
    bounds_of,
    parse,
    parse_date_interval,
)
from dev.auth0_tenant.ratelimit import TokenBucket

pytestmark = pytest.mark.dev

LOG = {
    "type": "f",
    "description": "Wrong email or password.",
    "user_name": "ana.kim3@example.com",
    "client_name": "Storefront Web",
    "connection": "github",
    "date": "2024-01-15T10:30:00.250Z",
    "log_id": "90020240115103000250000000000000000000420000000000000000",
}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("q", "matches"),
    [
        ("type:f", True),
        ("type:F", False),
        ("type:(s OR f)", True),
        ("type:s OR type:f", True),
        ("type:f AND NOT connection:github", False),
        ("type:f NOT connection:github", False),
        ("NOT type:s", True),
        ('description:"Wrong email or password."', True),
        ("description:Wrong", False),
        ("description:*password.", True),
        ("user_name:ana.*", True),
        ("f", True),
        ('"Storefront Web"', True),
        ("type:f connection:google-oauth2", False),
        ("(type:s OR type:f) AND client_name:Storefront*", True),
        ("date:2024-01-15", True),
        ("date:2024-01", True),
        ("date:[2024-01-15 TO 2024-01-15]", True),
        ("date:{2024-01-15 TO *]", False),
        ("date:[* TO 2024-01-15}", False),
        ("date:[2024-01-15T10:30:00.250Z TO 2024-01-15T10:30:00.251Z}", True),
        ("date:{2024-01-15T10:30:00.250Z TO *]", False),
        ("date:[2024-01-15T10:30 TO 2024-01-15T10:31}", True),
        ("log_id:[90020240115 TO *]", True),
        ("log_id:{* TO 90020240115}", False),
        ("", True),
    ],
)
def test_query_matches_log_when_parsed(q: str, matches: bool) -> None:
    assert parse(q).match(LOG) is matches


def test_precedence_is_not_and_or_when_mixed() -> None:
    node = parse("a OR b c NOT d")
    assert node == Or([Term(None, "a"), And([Term(None, "b"), Term(None, "c"), Not(Term(None, "d"))])])


@pytest.mark.parametrize(
    "q",
    ["type:(s", "type:s)", "bogus:x", "date:[nope TO *]", '"open', "user_name:*ab", "ip:[1 2]", "type:", "[a TO b]"],
)
def test_query_error_when_syntax_is_invalid(q: str) -> None:
    with pytest.raises(QueryError):
        parse(q)


@pytest.mark.parametrize(
    ("text", "width_ms"),
    [
        ("2024", 366 * 86_400_000),
        ("2024-02", 29 * 86_400_000),
        ("2024-02-03", 86_400_000),
        ("2024-02-03T04:05", 60_000),
        ("2024-02-03T04:05:06Z", 1000),
        ("2024-02-03T04:05:06.7", 1),
    ],
)
def test_date_interval_spans_its_precision_when_parsed(text: str, width_ms: int) -> None:
    start, end = parse_date_interval(text)
    assert end - start == width_ms


def test_bounds_come_from_top_level_and_when_ranges_present() -> None:
    bounds = bounds_of(parse("type:s AND log_id:[900a TO 900z] AND date:[2024-01-01 TO 2024-01-02}"))
    assert (bounds.min_id, bounds.max_id) == ("900a", "900z")
    assert bounds.max_ms is not None
    assert bounds.min_ms is not None
    assert bounds.max_ms - bounds.min_ms == 86_400_000
    assert bounds_of(parse("type:s OR log_id:[1 TO 2]")).min_id is None
    assert isinstance(parse("log_id:[1 TO *]"), Range)
    assert isinstance(parse("date:[2024 TO *]"), DateRange)


def test_bucket_counts_down_then_refuses_when_burst_is_used() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=10, per_minute=60, clock=clock)
    decisions = [bucket.acquire() for _ in range(11)]
    assert [d.remaining for d in decisions[:10]] == list(range(9, -1, -1))
    assert all(d.allowed for d in decisions[:10])
    assert not decisions[10].allowed
    assert decisions[9].reset_in == pytest.approx(1.0)
    assert decisions[10].reset_in == pytest.approx(1.0)
    assert decisions[0].reset_in == 0.0


def test_bucket_reset_header_is_next_token_time_when_empty() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=2, per_minute=60, clock=clock)
    bucket.acquire()
    bucket.acquire()
    clock.now += 0.25
    decision = bucket.acquire()
    assert not decision.allowed
    assert decision.reset_in == pytest.approx(0.75)
    assert decision.headers(wall_now=5000.5) == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "5002",
    }


def test_bucket_sustains_its_rate_when_requests_keep_coming() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=10, per_minute=100, clock=clock)
    allowed = 0
    for _ in range(6000):  # ten requests a second for ten minutes
        allowed += bucket.acquire().allowed
        clock.now += 0.1
    assert allowed == pytest.approx(10 + 100 * 10, abs=2)


def test_bucket_refills_to_burst_but_not_beyond_when_idle() -> None:
    clock = FakeClock()
    bucket = TokenBucket(burst=3, per_minute=60, clock=clock)
    for _ in range(3):
        bucket.acquire()
    clock.now += 3600
    assert [bucket.acquire().allowed for _ in range(4)] == [True, True, True, False]


def test_bucket_allows_everything_when_disabled() -> None:
    bucket = TokenBucket(burst=10, per_minute=0, clock=FakeClock())
    assert not bucket.enabled
    assert all(bucket.acquire().allowed for _ in range(100))
