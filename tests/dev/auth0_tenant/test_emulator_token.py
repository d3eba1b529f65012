"""POST /oauth/token and bearer-token checks on the Management API."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from dev.auth0_tenant.testing import EmulatorHandle
from tests.dev.auth0_tenant.emulator_helpers import Api
from tests.fixture_types import TenantFactory

pytestmark = pytest.mark.dev


def _body(tenant: EmulatorHandle, **overrides: str | None) -> dict[str, str]:
    body: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.client_secret,
        "audience": tenant.audience,
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_token_is_issued_when_credentials_are_right(auth0_tenant: EmulatorHandle, encoding: str) -> None:
    body = _body(auth0_tenant)
    if encoding == "form":
        response = requests.post(f"{auth0_tenant.url}/oauth/token", timeout=10, data=body)
    else:
        response = requests.post(f"{auth0_tenant.url}/oauth/token", timeout=10, json=body)
    assert response.status_code == 200
    token = response.json()
    assert set(token) == {"access_token", "expires_in", "scope", "token_type"}
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 86400
    assert token["scope"] == "read:logs read:logs_users"
    assert auth0_tenant.counters()["tokens_issued"] == 1


def test_https_audience_is_accepted_when_host_matches(auth0_tenant: EmulatorHandle) -> None:
    body = _body(auth0_tenant, audience=f"https://{auth0_tenant.domain}/api/v2/")
    assert requests.post(f"{auth0_tenant.url}/oauth/token", data=body, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status", "expected"),
    [
        pytest.param(
            {"client_secret": "wrong"},
            401,
            {"error": "access_denied", "error_description": "Unauthorized"},
            id="bad-secret",
        ),
        pytest.param(
            {"client_id": "someone-else"},
            401,
            {"error": "access_denied", "error_description": "Unauthorized"},
            id="bad-client-id",
        ),
        pytest.param(
            {"grant_type": "password"},
            400,
            {"error": "unsupported_grant_type", "error_description": "Unsupported grant type: password"},
            id="wrong-grant",
        ),
        pytest.param(
            {"audience": None},
            400,
            {"error": "invalid_request", "error_description": "Missing required parameter: audience"},
            id="missing-audience",
        ),
        pytest.param(
            {"client_secret": None},
            400,
            {"error": "invalid_request", "error_description": "Missing required parameter: client_secret"},
            id="missing-secret",
        ),
    ],
)
def test_token_request_fails_with_auth0_body_when_invalid(
    auth0_tenant: EmulatorHandle, overrides: dict[str, Any], status: int, expected: dict[str, Any]
) -> None:
    response = requests.post(f"{auth0_tenant.url}/oauth/token", data=_body(auth0_tenant, **overrides), timeout=10)
    assert response.status_code == status
    assert response.json() == expected


def test_token_request_is_denied_when_audience_is_another_api(auth0_tenant: EmulatorHandle) -> None:
    audience = "https://example.auth0.com/api/v2/"
    response = requests.post(f"{auth0_tenant.url}/oauth/token", data=_body(auth0_tenant, audience=audience), timeout=10)
    assert response.status_code == 403
    assert response.json() == {
        "error": "access_denied",
        "error_description": f'Client is not authorized to access "{audience}". '
        'You need to create a "client-grant" associated to this API.',
    }


def _unauthorized(message: str) -> dict[str, Any]:
    return {"statusCode": 401, "error": "Unauthorized", "message": message, "attributes": {"error": message}}


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        pytest.param(
            {}, 401, {"statusCode": 401, "error": "Unauthorized", "message": "Missing authentication"}, id="missing"
        ),
        pytest.param({"Authorization": "Bearer nope"}, 401, _unauthorized("Invalid token"), id="invalid"),
        pytest.param(
            {"Authorization": "Basic abc"},
            400,
            {
                "statusCode": 400,
                "error": "Bad Request",
                "message": "Bad HTTP authentication header format",
                "errorCode": "Bearer",
            },
            id="not-bearer",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/api/v2/logs", "/api/v2/logs/900" + "1" * 53])
def test_api_rejects_request_when_token_is_missing_or_invalid(
    auth0_tenant: EmulatorHandle, headers: dict[str, Any], status: int, expected: Any, path: Any
) -> None:
    response = requests.get(f"{auth0_tenant.url}{path}", headers=headers, timeout=10)
    assert response.status_code == status
    assert response.json() == expected


@pytest.mark.parametrize("how", ["ttl-elapsed", "expire-endpoint"])
def test_api_answers_expired_token_when_token_outlived(auth0_tenant_factory: TenantFactory, how: str) -> None:
    tenant = auth0_tenant_factory(logs=10, rate_limit_per_minute=0, token_ttl=1)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {tenant.token()}"
    api = Api(tenant, session)
    assert api.get("/api/v2/logs").status_code == 200
    if how == "ttl-elapsed":
        tenant.advance_clock(1.5)
    else:
        tenant.expire_tokens()
    response = api.get("/api/v2/logs")
    assert response.status_code == 401
    assert response.json() == _unauthorized("Expired token received for JSON Web Token validation")
    session.headers["Authorization"] = f"Bearer {tenant.token()}"
    assert api.get("/api/v2/logs").status_code == 200


@pytest.mark.parametrize(
    ("configured", "requested"),
    [
        pytest.param("read:users read:clients", None, id="client-lacks-scope"),
        pytest.param("read:logs read:users", "read:users", id="narrowed-request"),
    ],
)
def test_api_answers_insufficient_scope_when_token_lacks_read_logs(
    auth0_tenant_factory: TenantFactory, configured: str, requested: str | None
) -> None:
    tenant = auth0_tenant_factory(logs=10, rate_limit_per_minute=0, scope=configured)
    token = tenant.token(scope=requested) if requested else tenant.token()
    response = requests.get(f"{tenant.url}/api/v2/logs", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 403
    assert response.json() == {
        "statusCode": 403,
        "error": "Forbidden",
        "message": "Insufficient scope, expected any of: read:logs,read:logs_users",
        "errorCode": "insufficient_scope",
    }
