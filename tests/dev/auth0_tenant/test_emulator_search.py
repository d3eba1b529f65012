"""Search mode of GET /api/v2/logs (``q``, paging, sort, fields, totals) and GET /api/v2/logs/{id}."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dev.auth0_tenant.testing import start_emulator
from tests.dev.auth0_tenant.emulator_helpers import Api, connect

pytestmark = pytest.mark.dev

Log = dict[str, Any]
QueryCase = Callable[[list[Log]], tuple[str, Callable[[Log], bool]]]


SearchApi = tuple[Api, list[Log]]
"""The ``search_api`` fixture: a client of a 5,000-log tenant, and every log it holds."""


@pytest.fixture(scope="module")
def search_api() -> Iterator[SearchApi]:
    """One 5,000-log tenant for the module (searches only read), plus every log for brute force."""
    tenant = start_emulator(logs=5000, seed=11, rate_limit_per_minute=0)
    client = connect(tenant)
    store = tenant.state.store
    yield client, [store.get(i) for i in range(store.total)]
    client.close()
    tenant.stop()


def _search_all(api: Api, q: str) -> list[str]:
    ids: list[str] = []
    for page in range(10):
        batch = api.logs(q=q, page=page, per_page=100)
        ids += [log["log_id"] for log in batch]
        if len(batch) < 100:
            break
    return ids


def _by_type(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return "type:(s OR f)", lambda log: log["type"] in ("s", "f")


def _not(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return (
        'type:seccft AND NOT client_name:"Log Exporter (M2M)"',
        lambda log: log["type"] == "seccft" and log.get("client_name") != "Log Exporter (M2M)",
    )


def _phrase(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return 'description:"Wrong email or password."', lambda log: log["description"] == "Wrong email or password."


def _implicit_and(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return "type:f connection:github", lambda log: log["type"] == "f" and log.get("connection") == "github"


def _date_range_mixed(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    low, high = logs[1000]["date"], logs[1800]["date"]
    return f"date:[{low} TO {high}}}", lambda log: low <= log["date"] < high


def _date_day_open(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    day = logs[-1]["date"][:10]
    return f"date:[{day} TO *] AND type:sapi", lambda log: log["date"] >= day and log["type"] == "sapi"


def _log_id_range(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    low, high = logs[2000]["log_id"], logs[2600]["log_id"]
    return f"log_id:{{{low} TO {high}]", lambda log: low < log["log_id"] <= high


def _wildcard(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return (
        "user_name:ana.* OR description:*password.",
        lambda log: log.get("user_name", "").startswith("ana.") or log["description"].endswith("password."),
    )


def _bare_term(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    fields = ("client_name", "connection", "description", "ip", "log_id", "type", "user_name")
    return "fp", lambda log: any(log.get(name) == "fp" for name in fields)


def _grouped(logs: list[Log]) -> tuple[str, Callable[[Log], bool]]:
    return (
        "(type:fu OR type:fp) AND NOT strategy:auth0",
        lambda log: log["type"] in ("fu", "fp") and log.get("strategy") != "auth0",
    )


@pytest.mark.parametrize(
    "case",
    [
        _by_type,
        _not,
        _phrase,
        _implicit_and,
        _date_range_mixed,
        _date_day_open,
        _log_id_range,
        _wildcard,
        _bare_term,
        _grouped,
    ],
    ids=lambda case: case.__name__.strip("_"),
)
def test_results_equal_brute_force_filter_when_querying(search_api: SearchApi, case: QueryCase) -> None:
    api, logs = search_api
    q, predicate = case(logs)
    expected = sorted((log["log_id"] for log in logs if predicate(log)), reverse=True)[:1000]
    assert expected, f"query {q!r} should match something"
    assert _search_all(api, q) == expected


def test_search_alias_works_when_q_is_absent(search_api: SearchApi) -> None:
    api, _ = search_api
    assert api.logs(search="type:sapi", per_page=20) == api.logs(q="type:sapi", per_page=20)


@pytest.mark.parametrize(
    ("page", "status"),
    [pytest.param(9, 200, id="page-9-last-allowed"), pytest.param(10, 400, id="page-10-past-1000")],
)
def test_search_stops_at_1000_results_when_paging_deep(search_api: SearchApi, page: int, status: int) -> None:
    api, _ = search_api
    response = api.get("/api/v2/logs", page=page, per_page=100)
    assert response.status_code == status
    if status == 400:
        assert response.json() == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": "Requesting page 11 exceeds the allowed maximum of 1000 records: please consider "
            "searching by checkpoint "
            "https://auth0.com/docs/logs/retrieve-log-events-using-mgmt-api#retrieve-logs-by-checkpoint",
            "errorCode": "invalid_paging",
        }
    else:
        assert len(response.json()) == 100


def test_default_order_is_descending_log_id_when_sort_absent(search_api: SearchApi) -> None:
    api, logs = search_api
    page = api.logs(per_page=30)
    assert [log["log_id"] for log in page] == [log["log_id"] for log in reversed(logs[-30:])]


@pytest.mark.parametrize("page_number", [0, 2, 9])
@pytest.mark.parametrize("direction", [1, -1])
def test_results_are_ordered_by_date_when_sorting_on_date(
    search_api: SearchApi, direction: int, page_number: int
) -> None:
    api, logs = search_api
    page = api.logs(q="type:s", sort=f"date:{direction}", per_page=100, page=page_number)
    matching = sorted((log for log in logs if log["type"] == "s"), key=lambda log: (log["date"], log["log_id"]))
    if direction == -1:
        matching.reverse()
    window = matching[page_number * 100 : page_number * 100 + 100]
    assert [log["log_id"] for log in page] == [log["log_id"] for log in window]


def test_envelope_reports_page_when_include_totals(search_api: SearchApi) -> None:
    api, _ = search_api
    body = api.logs(q="type:s", page=3, per_page=25, include_totals="true")
    assert set(body) == {"start", "limit", "length", "total", "logs"}
    assert (body["start"], body["limit"], body["length"], body["total"]) == (75, 25, 25, 25)
    assert body["logs"] == api.logs(q="type:s", page=3, per_page=25)


@pytest.mark.parametrize(
    ("include", "check"),
    [
        pytest.param("true", lambda log: set(log) == {"log_id", "type"}, id="include"),
        pytest.param("false", lambda log: not {"log_id", "type"} & set(log) and "date" in log, id="exclude"),
    ],
)
def test_only_selected_fields_return_when_fields_given(search_api: SearchApi, include: str, check: Any) -> None:
    api, _ = search_api
    page = api.logs(fields="log_id,type", include_fields=include, per_page=20)
    assert len(page) == 20
    assert all(check(log) for log in page)


@pytest.mark.parametrize(
    ("q", "problem"),
    [
        pytest.param("type:(s OR f", "Missing ')'", id="unbalanced"),
        pytest.param("nosuchfield:x", "Unknown field 'nosuchfield'", id="unknown-field"),
        pytest.param("date:[yesterday TO *]", "Invalid date 'yesterday'", id="bad-date"),
        pytest.param('description:"open', "Unterminated quoted phrase", id="open-quote"),
        pytest.param("user_name:*sa", "at least 3 characters", id="short-leading-wildcard"),
        pytest.param("log_id:[1 2]", "Expected 'TO'", id="range-without-to"),
    ],
)
def test_invalid_query_answers_400_naming_problem_when_q_is_malformed(
    search_api: SearchApi, q: str, problem: str
) -> None:
    api, _ = search_api
    response = api.get("/api/v2/logs", q=q)
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "invalid_query_string"
    assert problem in body["message"]
    assert "on property q" in body["message"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"per_page": 101}, "per_page"),
        ({"page": -1}, "page"),
        ({"sort": "date"}, "sort"),
        ({"include_totals": "yes"}, "include_totals"),
    ],
)
def test_bad_search_parameter_answers_400_when_out_of_range(
    search_api: SearchApi, params: dict[str, Any], parameter: str
) -> None:
    api, _ = search_api
    response = api.get("/api/v2/logs", **params)
    assert response.status_code == 400
    assert f"on property {parameter}" in response.json()["message"]


def test_log_is_returned_when_fetched_by_id(api: Api) -> None:
    listed = api.logs(per_page=5)[2]
    response = api.get(f"/api/v2/logs/{listed['log_id']}")
    assert response.status_code == 200
    assert response.json() == listed
    assert listed["_id"] == listed["log_id"]


@pytest.mark.parametrize("log_id", ["900" + "1" * 53, "not-a-log-id"])
def test_404_inexistent_log_when_id_unknown(api: Api, log_id: Any) -> None:
    response = api.get(f"/api/v2/logs/{log_id}")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "error": "Not Found",
        "message": "Log not found.",
        "errorCode": "inexistent_log",
    }
