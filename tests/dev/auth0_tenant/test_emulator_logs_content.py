"""Generated logs: official JSON schemas, type coverage, determinism and the log_id format."""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dev.auth0_tenant.generator import CATALOG, LogFactory
from dev.auth0_tenant.logstore import LOG_ID_PATTERN, LogStore
from tests.dev.auth0_tenant.emulator_helpers import ZERO_CURSOR, Api
from tests.shared_data import SHARED, require

pytestmark = pytest.mark.dev

SCHEMA_DIR = Path(os.environ.get("AUTH0_LOG_SCHEMAS_DIR", str(SHARED / "auth0-log-schemas" / "schemas" / "log-types")))


@pytest.fixture(scope="module")
def validators() -> dict[str, jsonschema.Draft7Validator]:
    """Draft-07 validators for Auth0's official per-type log schemas, keyed by type code."""
    require(SCHEMA_DIR, "Auth0's official log schemas (or set AUTH0_LOG_SCHEMAS_DIR)")
    result = {}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        result[schema["properties"]["type"]["const"]] = jsonschema.Draft7Validator(schema)
    return result


def _as_schema_document(log: dict[str, Any]) -> dict[str, Any]:
    """The API says ``isMobile``; the schemas say ``is_mobile``."""
    document = dict(log)
    if "isMobile" in document:
        document["is_mobile"] = document.pop("isMobile")
    return document


def _store(logs: int, seed: int = 5) -> LogStore:
    store = LogStore(LogFactory(seed))
    store.append(logs, 1_750_000_000_000, 80.0)
    return store


def test_served_logs_validate_against_official_schemas_when_paged_over_http(
    api_factory: Callable[..., Api], validators: dict[str, jsonschema.Draft7Validator]
) -> None:
    api = api_factory(logs=5000, seed=3)
    cursor, failures, checked = ZERO_CURSOR, [], 0
    while page := api.logs(**{"from": cursor, "take": 100}):
        for log in page:
            errors = list(validators[log["type"]].iter_errors(_as_schema_document(log)))
            failures += [f"{log['type']}: {error.message}" for error in errors[:1]]
        checked += len(page)
        cursor = page[-1]["log_id"]
    assert checked == 5000
    assert failures == []


def test_every_schema_code_is_emitted_when_sampling_20000_logs(
    validators: dict[str, jsonschema.Draft7Validator],
) -> None:
    store = _store(20_000)
    counts = collections.Counter(store.get(i)["type"] for i in range(store.total))
    assert set(validators) <= set(counts)
    assert set(counts) <= set(CATALOG)
    assert counts["sapi"] > 0
    common = [code for code, _ in counts.most_common(4)]
    assert {"s", "seccft"} <= set(common)
    assert counts["f"] + counts["fp"] + counts["fu"] > 0.03 * store.total


def test_sapi_logs_carry_management_paths_when_generated() -> None:
    store = _store(3000)
    sapi = [store.get(i) for i in range(store.total) if store.get(i)["type"] == "sapi"]
    paths = {log["details"]["request"]["path"].split("/")[3] for log in sapi}
    methods = {log["details"]["request"]["method"] for log in sapi}
    assert {"users", "clients", "connections", "roles"} <= paths
    assert {"get", "post", "patch"} <= methods


def test_logs_are_identical_when_seed_is_the_same() -> None:
    first, second, other = _store(300, seed=9), _store(300, seed=9), _store(300, seed=10)
    assert [first.get(i) for i in range(300)] == [second.get(i) for i in range(300)]
    assert [first.get(i) for i in range(300)] != [other.get(i) for i in range(300)]


def test_log_ids_are_increasing_56_digit_ids_close_to_date_when_generated() -> None:
    store = _store(2000)
    logs = [store.get(i) for i in range(store.total)]
    ids = [log["log_id"] for log in logs]
    assert all(LOG_ID_PATTERN.match(log_id) for log_id in ids)
    assert ids == sorted(set(ids))
    assert all(log["_id"] == log["log_id"] for log in logs)
    for log in logs:
        stamp = datetime.strptime(log["log_id"][3:17] + "+0000", "%Y%m%d%H%M%S%z")
        date = datetime.fromisoformat(log["date"])
        assert abs((date - stamp).total_seconds()) < 2
        assert log["date"].endswith("Z")
        assert len(log["date"]) == 24
    dates = [log["date"] for log in logs]
    assert dates != sorted(dates), "dates should jitter slightly out of id order, as on a real tenant"
