"""The control API: faults, counters, added logs, retention, live traffic, reset, id listing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.dev.auth0_tenant.emulator_helpers import ZERO_CURSOR, Api

pytestmark = pytest.mark.dev


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param(500, {"statusCode": 500, "error": "Internal Server Error", "message": "Internal error"}, id="500"),
        pytest.param(
            503,
            {
                "statusCode": 503,
                "error": "Service Unavailable",
                "message": "Service temporarily unavailable, please retry",
            },
            id="503",
        ),
        pytest.param(
            429,
            {
                "statusCode": 429,
                "error": "Too Many Requests",
                "message": "Global limit has been reached",
                "errorCode": "too_many_requests",
            },
            id="429",
        ),
    ],
)
def test_next_requests_fail_then_recover_when_fault_injected(api: Api, status: int, expected: dict[str, Any]) -> None:
    api.tenant.fail_next(2, status)
    responses = [api.get("/api/v2/logs", per_page=1) for _ in range(3)]
    assert [r.status_code for r in responses] == [status, status, 200]
    assert responses[0].json() == expected
    if status == 429:
        assert responses[0].headers["X-RateLimit-Remaining"] == "0"
        assert int(responses[0].headers["X-RateLimit-Reset"]) >= int(time.time())
    assert api.tenant.counters()["faults_served"] == 2


def test_response_is_delayed_when_latency_fault_injected(api: Api) -> None:
    api.tenant.fail_next(1, 0, latency=0.3)
    started = time.monotonic()
    assert api.get("/api/v2/logs", per_page=1).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_applies_only_to_its_path_when_prefix_given(api: Api) -> None:
    api.tenant.fail_next(1, 503, path_prefix="/oauth/token")
    assert api.get("/api/v2/logs", per_page=1).status_code == 200
    with pytest.raises(requests.HTTPError):
        api.tenant.token()
    assert api.tenant.token()


@pytest.mark.allow_unexpected_requests
def test_counters_count_requests_when_api_is_used(api: Api) -> None:
    api.get("/api/v2/logs", per_page=1)
    api.get("/api/v2/logs/" + ZERO_CURSOR)
    api.get("/api/v2/nothing-here")
    counters = api.tenant.counters()
    assert counters == {
        "requests": 4,  # the fixture's token request, then three API calls
        "log_requests": 2,
        "rate_limited": 0,
        "tokens_issued": 1,
        "faults_served": 0,
        "unmatched": 1,
        "own_logs": 0,  # the fixture's tenant is a fixed set: no seccft log for its token
    }


def test_added_logs_are_served_after_existing_ones_when_appended(api: Api) -> None:
    before = api.tenant.all_log_ids()
    added = api.tenant.add_logs(25)
    raw = api.tenant.add_raw_logs([{"type": "f", "description": "Wrong password", "client_name": "Raw"}])
    assert api.tenant.all_log_ids() == before + added + raw
    page = api.logs(**{"from": before[-1], "take": 100})
    assert [log["log_id"] for log in page] == added + raw
    assert page[-1]["description"] == "Wrong password"
    assert page[-1]["_id"] == raw[0]
    assert api.logs(q='client_name:"Raw"') == [page[-1]]


def test_old_logs_disappear_when_past_retention(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=1000, retention_days=1)
    ids = api.tenant.all_log_ids()
    oldest = ids[0]
    api.tenant.advance_clock(12 * 3600)
    retained = api.tenant.all_log_ids()
    assert 400 < len(retained) < 600
    assert retained == ids[-len(retained) :]
    assert api.logs(**{"from": ZERO_CURSOR, "take": 1})[0]["log_id"] == retained[0]
    assert api.get(f"/api/v2/logs/{oldest}").status_code == 404
    assert api.logs(q=f"log_id:{oldest}") == []
    searched = [log["log_id"] for page in range(7) for log in api.logs(per_page=100, page=page)]
    assert sorted(searched) == retained


def test_new_logs_appear_when_live_traffic_is_on(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=100, events_per_second=20)
    start = len(api.tenant.all_log_ids())
    api.tenant.advance_clock(10)
    after = api.tenant.all_log_ids()
    assert len(after) - start >= 199
    newest = api.logs(per_page=1)[0]
    assert newest["log_id"] >= after[-1]  # real time keeps adding events meanwhile
    assert api.logs(**{"from": after[-2], "take": 1})[0]["log_id"] == after[-1]


def test_state_returns_to_start_when_reset(api: Api) -> None:
    ids = api.tenant.all_log_ids()
    api.tenant.add_logs(5)
    api.tenant.fail_next(5, 500)
    api.tenant.reset()
    assert api.tenant.all_log_ids() == ids
    assert api.tenant.counters()["requests"] == 0
    assert api.get("/api/v2/logs").status_code == 401  # tokens are gone too


def test_log_ids_stream_as_ndjson_when_asked(api: Api) -> None:
    ids = api.tenant.all_log_ids()
    response = requests.get(
        f"{api.tenant.url}/__emulator/log-ids", params={"after": ids[900], "format": "ndjson"}, timeout=10
    )
    assert [json.loads(line) for line in response.text.splitlines()] == ids[901:]
