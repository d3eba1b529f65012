"""ASGI middleware in front of every public route: counters, rate limit, injected faults.

Order per request: count it; for ``/api/v2/*`` take a token from the bucket (429 when empty);
then apply a pending fault (delay and/or an Auth0-shaped error); then the route. The X-RateLimit-*
headers are added to every ``/api/v2`` response, errors included. ``/__emulator/*`` is untouched.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from fastapi.responses import JSONResponse

from dev.auth0_tenant.errors import Auth0Error, default_api_error, fault_error
from dev.auth0_tenant.state import TenantState

CONTROL_PREFIX = "/__emulator"


async def _send_error(error: Auth0Error, headers: dict[str, str], scope: Any, receive: Any, send: Any) -> None:
    response = JSONResponse(error.body, status_code=error.status, headers={**headers, **error.headers})
    await response(scope, receive, send)


def _with_headers(send: Any, headers: dict[str, str]) -> Any:
    if not headers:
        return send
    encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *encoded]
        await send(message)

    return wrapped


class GuardMiddleware:
    """Counters, rate limiting and fault injection for the emulated Auth0 routes."""

    def __init__(self, app: Any, tenant: TenantState) -> None:
        self.app = app
        self.tenant = tenant

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        self.tenant.count("requests")
        if path.startswith("/api/v2/logs"):
            self.tenant.count("log_requests")
        headers: dict[str, str] = {}
        if path.startswith("/api/v2/"):
            decision, headers = self.tenant.rate_limit(scope.get("method", "GET"), path)
            if not decision.allowed:
                await _send_error(default_api_error(429), headers, scope, receive, send)
                return
        fault = self.tenant.take_fault(path)
        if fault is not None:
            if fault.latency > 0:
                await asyncio.sleep(fault.latency)
            if fault.status:
                extra = self._fault_headers(fault.status, headers)
                await _send_error(fault_error(fault.status, path), extra, scope, receive, send)
                return
        await self.app(scope, receive, _with_headers(send, headers))

    def _fault_headers(self, status: int, headers: dict[str, str]) -> dict[str, str]:
        if status != 429:
            return headers
        limit = headers.get("X-RateLimit-Limit", str(self.tenant.bucket.burst))
        reset = str(math.ceil(self.tenant.wall() + 1))
        return {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
