"""The Management API pipeline's endpoint filter and payload, against the original's documented behaviour.

The original (MAW 2.1.0, shared/reference/original-auth0-extensions.md section 7) delivered only
``sapi``/``fapi``; AUTH0_API_ENDPOINTS kept a log when ``details.request.path`` contained
``/api/v2/<entry>``; each log was sent as ``{date, request, response}``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.pipelines.management_api import EndpointFilter, EndpointMatch, normalise_endpoints, reshape

pytestmark = pytest.mark.unit

PATHS = [
    "/api/v2/users",
    "/api/v2/users/auth0|1",
    "/api/v2/users/auth0|1/roles",
    "/api/v2/users-by-email",
    "/api/v2/connections/con_1",
    "/api/v2/roles",
    "/api/v2/jobs/users-exports",
    "/api/v2/tenants/settings",
]


def mgmt(path: str | None, code: str = "sapi") -> dict[str, Any]:
    log: dict[str, Any] = {"type": code, "log_id": "900", "date": "2026-11-26T10:00:00.000Z"}
    if path is not None:
        log["details"] = {"request": {"method": "get", "path": path}, "response": {"statusCode": 200, "body": {}}}
    return log


def selected(selector: EndpointFilter, paths: list[str] = PATHS) -> list[str]:
    return [p for p in paths if selector.accepts(mgmt(p))]


def test_only_management_api_operations_are_selected_whatever_the_endpoints() -> None:
    codes = ["s", "f", "sapi", "fapi", "mgmt_api_read", "seccft"]
    for selector in (EndpointFilter(), EndpointFilter(["users"])):
        assert [c for c in codes if selector.accepts(mgmt("/api/v2/users", c))] == ["sapi", "fapi"]


def test_no_endpoints_select_every_operation_even_without_a_request_path() -> None:
    assert selected(EndpointFilter()) == PATHS
    assert EndpointFilter().accepts(mgmt(None, "fapi"))


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        pytest.param(
            "segment",
            ["/api/v2/users", "/api/v2/users/auth0|1", "/api/v2/users/auth0|1/roles", "/api/v2/roles"],
            id="segment-prefix",
        ),
        pytest.param(
            "substring",
            [
                "/api/v2/users",
                "/api/v2/users/auth0|1",
                "/api/v2/users/auth0|1/roles",
                "/api/v2/users-by-email",
                "/api/v2/roles",
            ],
            id="substring-as-the-original",
        ),
    ],
)
def test_endpoints_select_calls_to_them_by_the_chosen_rule(match: EndpointMatch, expected: list[Any]) -> None:
    assert selected(EndpointFilter(["users", "roles"], match)) == expected


def test_entries_are_trimmed_unlike_the_original_where_a_space_after_a_comma_matched_nothing() -> None:
    # The original split "users, connections" into "users" and " connections"; the second never matched.
    assert selected(EndpointFilter(["users", " connections"])) == [
        "/api/v2/users",
        "/api/v2/users/auth0|1",
        "/api/v2/users/auth0|1/roles",
        "/api/v2/connections/con_1",
    ]


def test_entries_may_be_written_as_paths_and_empty_entries_are_dropped() -> None:
    assert normalise_endpoints(["/api/v2/users/", " ", "", "/connections", "users"]) == ("users", "connections")


def test_a_log_without_a_request_path_is_not_selected_when_endpoints_are_set() -> None:
    assert not EndpointFilter(["users"]).accepts(mgmt(None))
    assert not EndpointFilter(["users"]).accepts({**mgmt(None), "details": {"request": "not an object"}})


def test_the_query_string_is_not_part_of_the_path() -> None:
    assert EndpointFilter(["users"]).accepts(mgmt("/api/v2/users?q=email:x"))


def test_a_log_is_staged_as_date_request_response_and_the_log_id_which_delivery_leaves_out_by_default() -> None:
    log = mgmt("/api/v2/users")
    log |= {"ip": "203.0.113.9", "user_name": "ops@example.com", "client_id": "c1"}
    assert reshape(log) == {
        "date": "2026-11-26T10:00:00.000Z",
        "request": {"method": "get", "path": "/api/v2/users"},
        "response": {"statusCode": 200, "body": {}},
        "log_id": "900",
    }


def test_the_payload_of_a_log_without_details_has_null_request_and_response() -> None:
    assert reshape(mgmt(None, "fapi")) == {
        "date": "2026-11-26T10:00:00.000Z",
        "request": None,
        "response": None,
        "log_id": "900",
    }


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


@given(
    details=JSONISH,
    code=st.sampled_from(["sapi", "fapi", "s", "f"]),
    endpoints=st.lists(st.text(max_size=12), max_size=3),
    match=st.sampled_from(["segment", "substring"]),
)
def test_any_log_from_outside_is_filtered_and_reshaped_without_raising(
    details: Any, code: str, endpoints: list[Any], match: EndpointMatch
) -> None:
    log = {"type": code, "log_id": "900", "date": "d", "details": details}
    accepted = EndpointFilter(endpoints, match).accepts(log)
    assert accepted is False or code in ("sapi", "fapi")
    assert set(reshape(log)) == {"date", "request", "response", "log_id"}


@given(path=st.text(max_size=30), endpoint=st.from_regex(r"[a-z][a-z-]{0,10}", fullmatch=True))
def test_a_segment_match_is_always_a_substring_match(path: str, endpoint: str) -> None:
    segment, substring = EndpointFilter([endpoint], "segment"), EndpointFilter([endpoint], "substring")
    if segment.accepts(mgmt(path)):
        assert substring.accepts(mgmt(path))
