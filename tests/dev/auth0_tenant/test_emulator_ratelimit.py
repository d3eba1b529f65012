"""Rate limiting over HTTP: the token bucket's headers, 429 body and reconfiguration."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.dev.auth0_tenant.emulator_helpers import Api

pytestmark = pytest.mark.dev

TOO_MANY = {
    "statusCode": 429,
    "error": "Too Many Requests",
    "message": "Global limit has been reached",
    "errorCode": "too_many_requests",
}


def test_burst_passes_then_429_when_bucket_is_empty(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=50, rate_limit_burst=10, rate_limit_per_minute=60)
    remaining = []
    for _ in range(10):
        response = api.get("/api/v2/logs", per_page=1)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "10"
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(9, -1, -1))
    before = time.time()
    response = api.get("/api/v2/logs", per_page=1)
    assert response.status_code == 429
    assert response.json() == TOO_MANY
    assert response.headers["X-RateLimit-Remaining"] == "0"
    reset = int(response.headers["X-RateLimit-Reset"])
    assert before < reset <= before + 2  # one token refills within a second at 60/min, rounded up
    assert api.tenant.counters()["rate_limited"] == 1


def test_request_passes_when_waiting_until_reset(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=5, rate_limit_burst=1, rate_limit_per_minute=600)
    assert api.get("/api/v2/logs").status_code == 200
    response = api.get("/api/v2/logs")
    assert response.status_code == 429
    time.sleep(max(0.0, int(response.headers["X-RateLimit-Reset"]) - time.time()) + 0.01)
    assert api.get("/api/v2/logs").status_code == 200


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        pytest.param("/api/v2/logs", {"Authorization": "Bearer nope"}, 401, id="unauthorized"),
        pytest.param("/api/v2/logs/900" + "1" * 53, None, 404, id="not-found"),
        pytest.param("/api/v2/logs?per_page=500", None, 400, id="bad-request"),
    ],
)
def test_rate_limit_headers_are_present_when_response_is_an_error(
    api_factory: Callable[..., Api], path: Any, headers: dict[str, Any] | None, status: int
) -> None:
    api = api_factory(logs=5, rate_limit_burst=5, rate_limit_per_minute=60)
    response = api.session.get(f"{api.tenant.url}{path}", headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["X-RateLimit-Remaining"] == "4"


def test_limits_change_when_reconfigured_through_control_api(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=5, rate_limit_burst=10, rate_limit_per_minute=60)
    api.tenant.set_rate_limit(burst=2, per_minute=1)
    statuses = [api.get("/api/v2/logs").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    api.tenant.set_rate_limit(burst=0, per_minute=0)
    response = api.get("/api/v2/logs")
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] != "0"  # off: a full bucket, never a reason to wait


def test_control_and_token_routes_are_not_limited_when_bucket_is_empty(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=5, rate_limit_burst=1, rate_limit_per_minute=1)
    api.get("/api/v2/logs")
    assert api.get("/api/v2/logs").status_code == 429
    assert api.tenant.token()
    assert api.tenant.counters()["rate_limited"] == 1
