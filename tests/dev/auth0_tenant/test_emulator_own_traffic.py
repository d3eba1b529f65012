"""The tenant logs its clients' own traffic as Auth0 does, and every log fits the official SDK's model.

On a real tenant a client-credentials exchange writes ``seccft`` (``feccft`` when refused), a 429
writes ``api_limit``, and ``X-RateLimit-*`` comes with every Management API response; event-driven
scheduling must be tested against that, since a pipeline's own token request is a new log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from auth0.management.types.log import Log
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dev.auth0_tenant.generator import CATALOG, LogFactory
from dev.auth0_tenant.logstore import LogStore
from dev.auth0_tenant.testing import EmulatorHandle
from tests.fixture_types import TenantFactory
from tests.shared_data import SHARED, require

pytestmark = pytest.mark.dev

SCHEMA_DIR = SHARED / "auth0-log-schemas" / "schemas" / "log-types"


def _sdk_accepts(log: dict[str, Any]) -> None:
    """The official Python SDK's Management API ``Log`` model parses the log, details as a mapping."""
    parsed = Log.model_validate(log)
    assert parsed.log_id == log["log_id"]
    if "details" in log:
        assert isinstance(parsed.details, dict)


def _schema(code: str) -> jsonschema.Draft7Validator:
    require(SCHEMA_DIR, "Auth0's official log schemas")
    return jsonschema.Draft7Validator(json.loads(Path(SCHEMA_DIR / f"{code}.schema.json").read_text()))


def _logs_of(tenant: EmulatorHandle, code: str) -> list[dict[str, Any]]:
    return [log for i in tenant.all_log_ids() if (log := tenant.log(i))["type"] == code]


def test_a_token_exchange_writes_a_seccft_log_with_the_client_id(auth0_tenant_factory: TenantFactory) -> None:
    tenant = auth0_tenant_factory(logs=3, rate_limit_per_minute=0)
    tenant.token()
    (log,) = _logs_of(tenant, "seccft")[-1:]
    assert log["client_id"] == tenant.client_id
    assert log["audience"] == tenant.audience
    assert log["scope"] == "read:logs read:logs_users"
    assert list(_schema("seccft").iter_errors(log)) == []
    _sdk_accepts(log)
    assert tenant.counters()["own_logs"] == 1


def test_a_refused_token_exchange_writes_a_feccft_log_and_no_token(auth0_tenant_factory: TenantFactory) -> None:
    tenant = auth0_tenant_factory(logs=3, rate_limit_per_minute=0)
    before = len(tenant.all_log_ids())
    with pytest.raises(requests.HTTPError):
        tenant.token(client_secret="wrong")
    new = [tenant.log(i) for i in tenant.all_log_ids()[before:]]
    assert [log["type"] for log in new] == ["feccft"]
    assert new[0]["client_id"] == tenant.client_id
    assert new[0]["details"]["error"]["message"] == "Unauthorized"
    assert "wrong" not in json.dumps(new[0])  # the secret never reaches a log
    assert list(_schema("feccft").iter_errors(new[0])) == []
    _sdk_accepts(new[0])


def test_a_429_writes_an_api_limit_log_naming_the_request(auth0_tenant_factory: TenantFactory) -> None:
    tenant = auth0_tenant_factory(logs=3, rate_limit_burst=1, rate_limit_per_minute=1)
    headers = {"Authorization": f"Bearer {tenant.token()}"}
    statuses = [requests.get(f"{tenant.url}/api/v2/logs", headers=headers, timeout=10).status_code for _ in range(2)]
    assert statuses == [200, 429]
    (log,) = [tenant.log(i) for i in tenant.all_log_ids() if tenant.log(i)["type"] == "api_limit"]
    assert log["details"]["limit"]["size"] == 1
    assert log["details"]["request"] == {"method": "get", "path": "/api/v2/logs"}
    assert list(_schema("api_limit").iter_errors(log)) == []
    _sdk_accepts(log)


def test_the_switches_keep_a_fixed_set_of_logs(auth0_tenant_factory: TenantFactory) -> None:
    tenant = auth0_tenant_factory(
        logs=3, rate_limit_burst=1, rate_limit_per_minute=1, token_logs=False, api_limit_logs=False
    )
    headers = {"Authorization": f"Bearer {tenant.token()}"}
    with pytest.raises(requests.HTTPError):
        tenant.token(client_secret="wrong")
    for _ in range(2):
        requests.get(f"{tenant.url}/api/v2/logs", headers=headers, timeout=10)
    assert len(tenant.all_log_ids()) == 3
    assert tenant.counters()["own_logs"] == 0


def test_rate_limit_headers_come_with_every_response_even_when_limiting_is_off(
    auth0_tenant_factory: TenantFactory,
) -> None:
    tenant = auth0_tenant_factory(logs=3, rate_limit_burst=10, rate_limit_per_minute=0)
    response = requests.get(
        f"{tenant.url}/api/v2/logs", headers={"Authorization": f"Bearer {tenant.token()}"}, timeout=10
    )
    assert response.headers["X-RateLimit-Limit"] == "10"
    assert response.headers["X-RateLimit-Remaining"] == "10"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    quiet = auth0_tenant_factory(logs=3, rate_limit_per_minute=0, rate_limit_headers=False)
    response = requests.get(
        f"{quiet.url}/api/v2/logs", headers={"Authorization": f"Bearer {quiet.token()}"}, timeout=10
    )
    assert "X-RateLimit-Limit" not in response.headers


def test_an_unsupported_grant_answers_400_as_auth0_does(auth0_tenant: EmulatorHandle) -> None:
    response = requests.post(f"{auth0_tenant.url}/oauth/token", data={"grant_type": "password"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_every_catalog_code_carries_details_as_an_object_when_it_has_details() -> None:
    assert [
        code for code, entry in CATALOG.items() if "details" in entry and not isinstance(entry["details"], dict)
    ] == []


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32), start=st.integers(0, 50_000))
def test_the_official_sdk_model_accepts_every_generated_log(seed: int, start: int) -> None:
    """Any window of any seed: the SDK's Log model parses each log (string details used to fail)."""
    store = LogStore(LogFactory(seed))
    store.append(start + 200, 1_750_000_000_000, 50.0)
    for index in range(start, start + 200):
        _sdk_accepts(store.get(index))


def test_the_official_sdk_model_accepts_every_type_in_the_catalog() -> None:
    store = LogStore(LogFactory(3))
    store.append(8192, 1_750_000_000_000, 50.0)  # two coverage blocks: every code at least twice
    codes = set()
    for index in range(store.total):
        log = store.get(index)
        try:
            _sdk_accepts(log)
        except ValidationError as error:  # name the type, not just the pydantic path
            pytest.fail(f"{log['type']}: {error}")
        codes.add(log["type"])
    assert codes == set(CATALOG)


def test_own_traffic_logs_can_be_turned_on_and_off_while_running(auth0_tenant: EmulatorHandle) -> None:
    before = len(auth0_tenant.all_log_ids())
    auth0_tenant.log_own_traffic(True)
    auth0_tenant.token()
    auth0_tenant.log_own_traffic(False)
    auth0_tenant.token()
    assert len(auth0_tenant.all_log_ids()) == before + 1
