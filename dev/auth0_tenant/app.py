"""The Auth0 tenant emulator's FastAPI app: routes -> thin handlers -> one :class:`TenantState`.

Public routes mimic Auth0 (``POST /oauth/token``, ``GET /api/v2/logs``, ``GET /api/v2/logs/{id}``);
control routes live under ``/__emulator/`` (no auth, no rate limit). Decisions where Auth0 is silent:

- ``take`` / ``per_page`` above 100 answer 400 (``invalid_query_string``), they are not clamped.
- Search mode without ``sort`` returns descending log_id (as observed on real tenants).
- Adjacent query clauses are joined by AND.
- ``X-RateLimit-Reset`` is when the next request will be let through (see :mod:`.ratelimit`);
  with rate limiting off (``per_minute`` 0) the headers show a full bucket, as Auth0 always sends
  them (``rate_limit_headers=False`` drops them).
- A client-credentials exchange writes a ``seccft`` log, a refused one ``feccft`` (once the grant
  type and client id are known), and a 429 from the rate limit an ``api_limit`` log, as on a real
  tenant (see :mod:`.traffic`).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from dev.auth0_tenant.config import TenantConfig
from dev.auth0_tenant.control import router as control_router
from dev.auth0_tenant.errors import (
    Auth0Error,
    api_error,
    oauth_error,
    paging_limit_error,
    query_validation_error,
)
from dev.auth0_tenant.logstore import LOG_ID_PATTERN
from dev.auth0_tenant.middleware import GuardMiddleware
from dev.auth0_tenant.query import QueryError, parse
from dev.auth0_tenant.state import Sort, TenantState

__all__ = ["TenantConfig", "create_app"]

MAX_PAGE = 100
SEARCH_LIMIT = 1000
_SORT = re.compile(r"^(\w+):(-?1)$")
_MEANINGS = {
    "take": "Number of entries to retrieve when using the from parameter. Default 50, max 100",
    "from": "Log Event Id from which to start selection from.",
    "page": "Page index of the results to return. First page is 0.",
    "per_page": "Number of results per page. Default: 50. Max value: 100",
    "sort": "Field to use for sorting appended with :1 for ascending and :-1 for descending",
    "include_fields": "Whether specified fields are to be included (true) or excluded (false)",
    "include_totals": "Return results inside an object that contains the total result count (true)",
    "q": "Query in Lucene query string syntax",
}

oauth = APIRouter()
api = APIRouter(prefix="/api/v2")


def tenant_of(request: Request) -> TenantState:
    """The app's single state object."""
    return cast(TenantState, request.app.state.tenant)


def require_token(request: Request) -> None:
    """Dependency: a live bearer token with read:logs or read:logs_users."""
    tenant_of(request).authorize(request.headers.get("authorization"))


# -- POST /oauth/token ---------------------------------------------------------------------------
async def _token_request(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise oauth_error(400, "invalid_request", "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise oauth_error(400, "invalid_request", "Invalid JSON body")
        return body
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def _audiences(request: Request) -> set[str]:
    host = request.headers.get("host", "")
    return {f"{scheme}://{host}/api/v2/" for scheme in ("http", "https")}


def _grant(tenant: TenantState, body: dict[str, Any], audiences: set[str]) -> dict[str, Any]:
    config = tenant.config
    grant_type = body.get("grant_type")
    if not grant_type:
        raise oauth_error(400, "invalid_request", "Missing required parameter: grant_type")
    if grant_type != "client_credentials":
        raise oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant_type}")
    for name in ("client_id", "client_secret", "audience"):
        if not body.get(name):
            raise oauth_error(400, "invalid_request", f"Missing required parameter: {name}")
    if body["client_id"] != config.client_id or body["client_secret"] != config.client_secret:
        raise oauth_error(401, "access_denied", "Unauthorized")
    audience = body["audience"]
    if audience not in audiences:
        description = (
            f'Client is not authorized to access "{audience}". '
            'You need to create a "client-grant" associated to this API.'
        )
        raise oauth_error(403, "access_denied", description)
    return tenant.issue_token(audience, _granted_scope(config.scope, body.get("scope")))


def _granted_scope(configured: str, requested: Any) -> str:
    if not requested:
        return configured
    allowed = configured.split()
    wanted = str(requested).split()
    missing = [scope for scope in wanted if scope not in allowed]
    if missing:
        raise oauth_error(403, "access_denied", f"Client has not been granted scopes: {','.join(missing)}")
    return " ".join(wanted)


@oauth.post("/oauth/token")
async def post_token(request: Request) -> JSONResponse:
    """Client-credentials grant: form-encoded or JSON body."""
    body = await _token_request(request)
    tenant = tenant_of(request)
    ip = request.client.host if request.client else "127.0.0.1"
    agent = request.headers.get("user-agent", "")
    exchange = body.get("grant_type") == "client_credentials" and body.get("client_id")
    try:
        token = _grant(tenant, body, _audiences(request))
    except Auth0Error as refused:
        if exchange:
            reason = str(refused.body.get("error_description", ""))
            tenant.record_token_exchange(False, str(body.get("audience", "")), "", ip, agent, reason)
        raise
    tenant.record_token_exchange(True, str(body["audience"]), token["scope"], ip, agent)
    return JSONResponse(token, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


# -- GET /api/v2/logs ----------------------------------------------------------------------------
def _int_param(params: Any, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        problem = f"Expected type integer but found type string ({raw})"
        raise query_validation_error(name, problem, _MEANINGS[name]) from None
    if value < minimum:
        raise query_validation_error(name, f"Value {value} is less than minimum {minimum}", _MEANINGS[name])
    if maximum is not None and value > maximum:
        raise query_validation_error(name, f"Value {value} is greater than maximum {maximum}", _MEANINGS[name])
    return value


def _bool_param(params: Any, name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return bool(raw.lower() == "true")
    raise query_validation_error(name, f"Expected type boolean but found type string ({raw})", _MEANINGS[name])


def _sort_param(raw: str | None) -> Sort | None:
    if not raw:
        return None
    match = _SORT.match(raw)
    if not match:
        raise query_validation_error("sort", f"String does not match pattern ^\\w+:(-?1)$: {raw}", _MEANINGS["sort"])
    return Sort(match.group(1), match.group(2) == "-1")


def _project(log: dict[str, Any], fields: list[str], include: bool) -> dict[str, Any]:
    if not fields:
        return log
    if include:
        return {key: value for key, value in log.items() if key in fields}
    return {key: value for key, value in log.items() if key not in fields}


def _checkpoint(request: Request, from_id: str) -> Response:
    params = request.query_params
    if not LOG_ID_PATTERN.match(from_id):
        problem = f"Invalid log_id {from_id!r}: expected 56 digits starting with 900"
        raise query_validation_error("from", problem, _MEANINGS["from"])
    take = _int_param(params, "take", 50, 1, MAX_PAGE)
    logs = tenant_of(request).checkpoint(from_id, take)
    next_from = logs[-1]["log_id"] if logs else from_id
    link = f'<{request.base_url}api/v2/logs?from={next_from}&take={take}>; rel="next"'
    return JSONResponse(logs, headers={"Link": link})


def _search(request: Request) -> Response:
    params = request.query_params
    page = _int_param(params, "page", 0, 0)
    per_page = _int_param(params, "per_page", 50, 0, MAX_PAGE)
    if (page + 1) * per_page > SEARCH_LIMIT:
        raise paging_limit_error(page)
    try:
        node = parse(params.get("q") or params.get("search") or "")
    except QueryError as exc:
        raise query_validation_error("q", str(exc), _MEANINGS["q"]) from None
    sort = _sort_param(params.get("sort"))
    fields = [f.strip() for f in (params.get("fields") or "").split(",") if f.strip()]
    include = _bool_param(params, "include_fields", True)
    totals = _bool_param(params, "include_totals", False)
    logs = [_project(log, fields, include) for log in tenant_of(request).search(node, page, per_page, sort)]
    if totals:
        envelope = {"start": page * per_page, "limit": per_page, "length": len(logs), "total": len(logs)}
        return JSONResponse({**envelope, "logs": logs})
    return JSONResponse(logs)


@api.get("/logs", dependencies=[Depends(require_token)])
def get_logs(request: Request) -> Response:
    """Checkpoint mode when ``from`` is given, else search mode."""
    from_id = request.query_params.get("from")
    if from_id:
        return _checkpoint(request, from_id)
    return _search(request)


@api.get("/logs/{log_id}", dependencies=[Depends(require_token)])
def get_log(request: Request, log_id: str) -> JSONResponse:
    """One log by id; 404 ``inexistent_log`` when unknown or past retention."""
    log = tenant_of(request).get_log(log_id)
    if log is None:
        raise api_error(404, "Log not found.", "inexistent_log")
    return JSONResponse(log)


# -- errors and assembly -------------------------------------------------------------------------
async def _render_auth0_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Auth0Error)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _render_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (404, 405):
        tenant_of(request).record_unmatched(request.method, request.url.path)
    error = api_error(exc.status_code, str(exc.detail))
    return JSONResponse(error.body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def create_app(config: TenantConfig | None = None, state: TenantState | None = None) -> FastAPI:
    """Build the emulator app around one :class:`TenantState` (``app.state.tenant``)."""
    tenant = state or TenantState(config or TenantConfig())
    app = FastAPI(title="Auth0 tenant emulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.tenant = tenant
    app.include_router(oauth)
    app.include_router(api)
    app.include_router(control_router)
    app.add_exception_handler(Auth0Error, _render_auth0_error)
    app.add_exception_handler(StarletteHTTPException, _render_http_error)
    app.add_middleware(GuardMiddleware, tenant=tenant)
    return app
