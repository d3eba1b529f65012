"""Auth0Hook against a scripted transport: tokens, paging, rate limits, retries, clear errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from auth0_log_webhooks.hooks.auth0 import (
    Auth0AuthenticationError,
    Auth0Hook,
    Auth0PermissionError,
    Auth0RateLimitError,
    Auth0UnreachableError,
    RetryPolicy,
)
from auth0_log_webhooks.log_ids import InvalidCheckpointError
from tests.builders import log_id
from tests.fakes import Answer, ScriptedAdapter, Stall, mount
from tests.fixture_types import DefineConnection

pytestmark = pytest.mark.unit

FROM = "900" + "20261126050000" + "0" * 39
TOKEN = Answer(200, {"access_token": "tok-1", "expires_in": 86400, "token_type": "Bearer", "scope": "read:logs"})


def page(*numbers: int) -> list[dict[str, Any]]:
    return [{"log_id": log_id(n), "_id": log_id(n), "type": "s"} for n in numbers]


class Clock:
    """A fake epoch clock that advances only when the hook sleeps."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    """A clock the hook sleeps on, so tests never wait and can assert the waits."""
    return Clock()


@pytest.fixture
def hook(airflow_connection: DefineConnection, clock: Clock) -> Auth0Hook:
    """A hook on connection auth0_default pointing at a fake tenant."""
    airflow_connection("auth0_default", conn_type="auth0", host="acme.eu.auth0.com", login="cid", password="csecret")
    return Auth0Hook(retry=RetryPolicy(give_up_after_seconds=60), sleep=clock.sleep, clock=clock)


def test_pages_follow_the_link_header_until_a_short_page(hook: Auth0Hook) -> None:
    next_url = f"https://acme.eu.auth0.com/api/v2/logs?from={log_id(2)}&take=2"
    adapter = mount(
        hook.get_conn(),
        ScriptedAdapter(TOKEN, Answer(200, page(1, 2), {"Link": f'<{next_url}>; rel="next"'}), Answer(200, page(3))),
    )
    pages = list(hook.iter_log_pages(FROM, take=2))
    assert [[e["log_id"] for e in p] for p in pages] == [[log_id(1), log_id(2)], [log_id(3)]]
    token_request, first, second = adapter.requests
    assert token_request.url == "https://acme.eu.auth0.com/oauth/token"
    assert "audience=https%3A%2F%2Facme.eu.auth0.com%2Fapi%2Fv2%2F" in str(token_request.body)
    assert first.url == f"https://acme.eu.auth0.com/api/v2/logs?from={FROM}&take=2"
    assert second.url == next_url
    assert first.headers["Authorization"] == "Bearer tok-1"


def test_the_token_is_reused_until_shortly_before_expiry(hook: Auth0Hook, clock: Clock) -> None:
    adapter = mount(hook.get_conn(), ScriptedAdapter(TOKEN, Answer(200, []), Answer(200, [])))
    list(hook.iter_log_pages(FROM))
    list(hook.iter_log_pages(FROM))
    assert [str(r.url).split("?")[0].rsplit("/", 1)[-1] for r in adapter.requests] == ["token", "logs", "logs"]
    clock.now += 86400 - 30
    mount(hook.get_conn(), adapter := ScriptedAdapter(TOKEN, Answer(200, [])))
    list(hook.iter_log_pages(FROM))
    assert str(adapter.requests[0].url).endswith("/oauth/token")


def test_a_401_refreshes_the_token_once(hook: Auth0Hook) -> None:
    fresh = Answer(200, {"access_token": "tok-2", "expires_in": 86400})
    expired = Answer(401, {"statusCode": 401, "error": "Unauthorized", "message": "Expired token"})
    adapter = mount(hook.get_conn(), ScriptedAdapter(TOKEN, expired, fresh, Answer(200, page(1))))
    assert len(next(hook.iter_log_pages(FROM))) == 1
    assert adapter.requests[-1].headers["Authorization"] == "Bearer tok-2"


def test_bad_credentials_name_the_connection_and_client_but_not_the_secret(hook: Auth0Hook) -> None:
    denied = Answer(401, {"error": "access_denied", "error_description": "Unauthorized"})
    mount(hook.get_conn(), ScriptedAdapter(denied))
    with pytest.raises(Auth0AuthenticationError, match=r"'auth0_default'.*'cid'.*401 access_denied") as info:
        list(hook.iter_log_pages(FROM))
    assert "csecret" not in str(info.value)


def test_a_missing_scope_says_to_grant_read_logs(hook: Auth0Hook) -> None:
    forbidden = Answer(403, {"statusCode": 403, "message": "Insufficient scope", "errorCode": "insufficient_scope"})
    mount(hook.get_conn(), ScriptedAdapter(TOKEN, forbidden))
    with pytest.raises(Auth0PermissionError, match=r"insufficient_scope.*read:logs"):
        list(hook.iter_log_pages(FROM))


def test_a_malformed_checkpoint_is_refused_before_any_request(hook: Auth0Hook) -> None:
    adapter = mount(hook.get_conn(), ScriptedAdapter())
    with pytest.raises(InvalidCheckpointError, match="'abc' is not an Auth0 log id"):
        list(hook.iter_log_pages("abc"))
    assert adapter.requests == []


def test_an_unknown_tenant_is_named_without_retrying(hook: Auth0Hook) -> None:
    error = requests.exceptions.ConnectionError("NameResolutionError: Name or service not known")
    adapter = mount(hook.get_conn(), ScriptedAdapter(Answer(raises=error)))
    with pytest.raises(Auth0UnreachableError, match=r"Unknown Auth0 tenant.*acme.eu.auth0.com"):
        list(hook.iter_log_pages(FROM))
    assert len(adapter.requests) == 1


def test_no_429_is_spent_when_remaining_reaches_zero(hook: Auth0Hook, clock: Clock) -> None:
    reset = str(int(clock.now) + 7)
    exhausted = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    full_page = Answer(
        200,
        page(1, 2),
        {**exhausted, "Link": f'<https://acme.eu.auth0.com/api/v2/logs?from={log_id(2)}&take=2>; rel="next"'},
    )
    adapter = mount(hook.get_conn(), ScriptedAdapter(TOKEN, full_page, Answer(200, page(3))))
    list(hook.iter_log_pages(FROM, take=2))
    assert clock.sleeps == [7.0]
    assert len(adapter.requests) == 3


def test_rate_limit_waits_are_counted_for_the_progress_lines_not_logged_one_by_one(
    hook: Auth0Hook, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    exhausted = {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(clock.now) + 1)}
    answers = []
    for n in range(1, 29):
        nxt = f'<https://acme.eu.auth0.com/api/v2/logs?from={log_id(n)}&take=1>; rel="next"'
        answers.append(Answer(200, page(n), {**exhausted, "X-RateLimit-Reset": str(int(clock.now) + n), "Link": nxt}))
    limited = Answer(429, {"statusCode": 429}, {"Retry-After": "2"})
    mount(hook.get_conn(), ScriptedAdapter(TOKEN, *answers, limited, Answer(200, [])))
    with caplog.at_level("INFO", logger="auth0_log_webhooks.hooks.auth0"):
        list(hook.iter_log_pages(FROM, take=1))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []
    assert (hook.waits.waits, hook.waits.rate_limited) == (29, 1)
    assert hook.waits.seconds == pytest.approx(sum(clock.sleeps))


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [({"Retry-After": "3"}, 3.0), ({"X-RateLimit-Reset": "1800000005", "X-RateLimit-Remaining": "0"}, 5.0)],
    ids=["retry-after", "reset"],
)
def test_a_429_waits_for_what_the_server_asks_then_retries(
    hook: Auth0Hook, clock: Clock, headers: dict[str, Any], expected_wait: float
) -> None:
    limited = Answer(429, {"statusCode": 429, "errorCode": "too_many_requests"}, headers)
    mount(hook.get_conn(), ScriptedAdapter(TOKEN, limited, Answer(200, page(1))))
    assert len(next(hook.iter_log_pages(FROM))) == 1
    assert expected_wait <= sum(clock.sleeps) <= expected_wait + 0.3


@pytest.mark.parametrize(
    "failure",
    [Answer(503, {"statusCode": 503}), Answer(raises=requests.exceptions.ConnectionError("reset by peer"))],
    ids=["503", "network"],
)
def test_server_and_network_errors_are_retried_with_growing_backoff(
    hook: Auth0Hook, clock: Clock, failure: Any
) -> None:
    mount(hook.get_conn(), ScriptedAdapter(TOKEN, failure, failure, failure, Answer(200, page(1))))
    assert len(next(hook.iter_log_pages(FROM))) == 1
    assert len(clock.sleeps) == 3
    assert clock.sleeps[2] > clock.sleeps[0] / 2  # jittered within [ceiling/2, ceiling], ceilings 0.5, 1, 2


def test_a_persistent_rate_limit_gives_up_with_a_clear_error(hook: Auth0Hook) -> None:
    limited = Answer(429, {"statusCode": 429}, {"Retry-After": "10"})
    mount(hook.get_conn(), ScriptedAdapter(respond=lambda r: TOKEN if str(r.url).endswith("token") else limited))
    with pytest.raises(Auth0RateLimitError, match="still rate limited after 60s"):
        list(hook.iter_log_pages(FROM))


def test_a_persistent_outage_gives_up_with_a_clear_error(hook: Auth0Hook) -> None:
    down = Answer(502, "<html>bad gateway</html>")
    mount(hook.get_conn(), ScriptedAdapter(respond=lambda r: TOKEN if str(r.url).endswith("token") else down))
    with pytest.raises(Auth0UnreachableError, match="GET /api/v2/logs: gave up after 60s: 502"):
        list(hook.iter_log_pages(FROM))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": "", "login": "a", "password": "b"}, "has no host"),
        ({"host": "acme.auth0.com", "login": "a"}, "client id as login and the client secret as password"),
        ({"host": "acme.auth0.com", "login": "a", "password": "b", "extra": {"scheme": "http"}}, "only for loopback"),
    ],
    ids=["no-host", "no-secret", "http-remote"],
)
def test_a_bad_connection_is_named(airflow_connection: DefineConnection, fields: dict[str, Any], message: str) -> None:
    airflow_connection("auth0_bad", conn_type="auth0", **fields)
    with pytest.raises(ValueError, match=f"'auth0_bad'.*{message}"):
        _ = Auth0Hook("auth0_bad").base_url


def test_http_is_accepted_for_the_local_emulator(airflow_connection: DefineConnection) -> None:
    airflow_connection(
        "auth0_local", conn_type="auth0", host="127.0.0.1", port=8099, login="a", password="b", extra={"scheme": "http"}
    )
    assert Auth0Hook("auth0_local").base_url == "http://127.0.0.1:8099"


def test_the_newest_logs_are_asked_for_by_date_descending(hook: Auth0Hook) -> None:
    adapter = mount(hook.get_conn(), ScriptedAdapter(TOKEN, Answer(200, page(7, 6))))
    assert [log["log_id"] for log in hook.newest_logs(2)] == [log_id(7), log_id(6)]
    assert "sort=date%3A-1&per_page=2&page=0" in str(adapter.requests[1].url)


def test_the_test_button_answers_within_its_total_deadline_when_the_tenant_stalls(
    hook: Auth0Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auth0_log_webhooks.hooks.auth0.TEST_SECONDS", 0.5)
    stall = Stall(Answer(200, {}))
    mount(hook.get_conn(), stall.adapter)
    answer, seconds = stall.timed(hook.test_connection)
    assert seconds < 10
    assert answer == (
        False,
        "Auth0 tenant acme.eu.auth0.com gave no complete answer within 0.5 seconds; check the domain and that the "
        "Airflow API server can reach it.",
    )


def test_the_test_button_turns_an_unexpected_error_into_a_sentence(hook: Auth0Hook) -> None:
    mount(hook.get_conn(), ScriptedAdapter(Answer(raises=RuntimeError("boom"))))
    ok, message = hook.test_connection()
    assert not ok
    assert message == (
        "Testing connection 'auth0_default' failed unexpectedly (RuntimeError); the API server's log has the details."
    )
