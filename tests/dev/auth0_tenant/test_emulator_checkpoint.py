"""Checkpoint mode of GET /api/v2/logs (``from`` + ``take``) over real HTTP."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.dev.auth0_tenant.emulator_helpers import ZERO_CURSOR, Api

pytestmark = pytest.mark.dev

LINK = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _next_url(response: requests.Response) -> str:
    match = LINK.match(response.headers["Link"])
    assert match, response.headers["Link"]
    return match.group("url")


def test_paging_visits_every_log_once_in_order_when_following_link_headers(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=10_000)
    expected = api.tenant.all_log_ids()
    url = f"{api.tenant.url}/api/v2/logs?from={ZERO_CURSOR}&take=100"
    seen: list[str] = []
    while True:
        response = api.session.get(url, timeout=30)
        assert response.status_code == 200
        page = response.json()
        next_url = _next_url(response)
        if not page:
            assert next_url == url
            break
        seen += [log["log_id"] for log in page]
        url = next_url
    assert len(expected) == 10_000
    assert seen == expected
    assert seen == sorted(set(seen))


def test_empty_page_link_repeats_the_request_when_no_newer_logs(api: Api) -> None:
    last = api.tenant.all_log_ids()[-1]
    response = api.get("/api/v2/logs", **{"from": last, "take": 7})
    assert response.json() == []
    assert _next_url(response) == f"{api.tenant.url}/api/v2/logs?from={last}&take=7"


def test_next_link_points_after_last_returned_when_page_is_full(api: Api) -> None:
    ids = api.tenant.all_log_ids()
    response = api.get("/api/v2/logs", **{"from": ids[10], "take": 5})
    assert [log["log_id"] for log in response.json()] == ids[11:16]
    assert _next_url(response) == f"{api.tenant.url}/api/v2/logs?from={ids[15]}&take=5"


def test_take_defaults_to_50_when_absent(api: Api) -> None:
    response = api.get("/api/v2/logs", **{"from": ZERO_CURSOR})
    assert len(response.json()) == 50
    assert _next_url(response).endswith("&take=50")


def test_cursor_between_ids_is_valid_when_no_log_has_that_id(api: Api) -> None:
    ids = api.tenant.all_log_ids()
    between = str(int(ids[100]) - 1)
    assert between not in ids
    page = api.logs(**{"from": between, "take": 3})
    assert [log["log_id"] for log in page] == ids[100:103]


def test_other_parameters_are_ignored_when_from_is_present(api: Api) -> None:
    ids = api.tenant.all_log_ids()
    page = api.logs(**{"from": ids[0], "take": 3, "q": "type:nothing", "sort": "date:-1", "fields": "type"})
    assert [log["log_id"] for log in page] == ids[1:4]
    assert "date" in page[0]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        pytest.param({"from": "12345", "take": 5}, "from", id="short-from"),
        pytest.param({"from": "abc" + "0" * 53, "take": 5}, "from", id="non-digit-from"),
        pytest.param({"from": ZERO_CURSOR, "take": 101}, "take", id="take-over-100"),
        pytest.param({"from": ZERO_CURSOR, "take": 0}, "take", id="take-zero"),
        pytest.param({"from": ZERO_CURSOR, "take": "ten"}, "take", id="take-not-a-number"),
    ],
)
def test_bad_parameter_answers_400_naming_it_when_malformed(api: Api, params: dict[str, Any], parameter: str) -> None:
    response = api.get("/api/v2/logs", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert body["errorCode"] == "invalid_query_string"
    assert f"on property {parameter}" in body["message"]


def test_million_logs_page_quickly_when_tenant_is_large(api_factory: Callable[..., Api]) -> None:
    api = api_factory(logs=1_000_000)
    assert len(api.tenant.state.store.segments) == 1
    middle = api.tenant.state.store.log_id(500_000)
    page = api.logs(**{"from": middle, "take": 100})
    assert [log["log_id"] for log in page] == [api.tenant.state.store.log_id(i) for i in range(500_001, 500_101)]
