"""Control API under ``/__emulator/``: no auth, no rate limit, for tests, demos and benchmarks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from dev.auth0_tenant.state import TenantState

router = APIRouter(prefix="/__emulator")
_ID_CHUNK = 2000


class AddLogs(BaseModel):
    """``count`` generated logs dated now, then ``logs`` raw objects (ids assigned)."""

    count: int = Field(0, ge=0)
    logs: list[dict[str, Any]] = Field(default_factory=list)


class RateLimit(BaseModel):
    """New bucket size and refill rate; ``per_minute`` 0 turns limiting off."""

    burst: int = Field(ge=0)
    per_minute: float = Field(ge=0)


class Faults(BaseModel):
    """Fail (``status``; 0 = only delay) or delay the next ``count`` requests under ``path_prefix``."""

    count: int = Field(1, ge=1)
    status: int = Field(500, ge=0, le=599)
    latency_seconds: float = Field(0.0, ge=0)
    path_prefix: str = "/api/v2/logs"


class OwnTraffic(BaseModel):
    """Whether the tenant logs its clients' token exchanges and 429s, as Auth0 does."""

    token_logs: bool
    api_limit_logs: bool


class Clock(BaseModel):
    """Move the tenant's clock forward (ages logs and tokens)."""

    advance_seconds: float = Field(ge=0)


def _tenant(request: Request) -> TenantState:
    return cast(TenantState, request.app.state.tenant)


@router.post("/logs")
def add_logs(request: Request, body: AddLogs) -> dict[str, list[str]]:
    """Append logs; return their ids in order."""
    tenant = _tenant(request)
    ids = tenant.add_logs(body.count) if body.count else []
    ids += tenant.add_raw_logs(body.logs)
    return {"log_ids": ids}


@router.put("/rate-limit")
def set_rate_limit(request: Request, body: RateLimit) -> dict[str, float]:
    """Reconfigure the token bucket (it starts full)."""
    _tenant(request).set_rate_limit(body.burst, body.per_minute)
    return {"burst": body.burst, "per_minute": body.per_minute}


@router.put("/own-traffic")
def set_own_traffic(request: Request, body: OwnTraffic) -> dict[str, bool]:
    """Turn the logs of the clients' own traffic on or off."""
    _tenant(request).set_own_traffic_logs(body.token_logs, body.api_limit_logs)
    return body.model_dump()


@router.post("/faults")
def add_faults(request: Request, body: Faults) -> dict[str, Any]:
    """Queue a fault."""
    _tenant(request).add_fault(body.count, body.status, body.latency_seconds, body.path_prefix)
    return body.model_dump()


@router.post("/tokens/expire")
def expire_tokens(request: Request) -> dict[str, int]:
    """Expire every issued token."""
    return {"expired": _tenant(request).expire_tokens()}


@router.get("/counters")
def counters(request: Request) -> dict[str, int]:
    """Request, 429, token and fault counters."""
    return _tenant(request).counters_snapshot()


@router.post("/clock")
def advance_clock(request: Request, body: Clock) -> dict[str, float]:
    """Advance the tenant's clock."""
    tenant = _tenant(request)
    tenant.advance_clock(body.advance_seconds)
    return {"now": tenant.now()}


@router.post("/reset")
def reset(request: Request) -> dict[str, bool]:
    """Back to the start-up state."""
    _tenant(request).reset()
    return {"reset": True}


def _json_array(ids: Iterator[str]) -> Iterator[str]:
    yield "["
    chunk: list[str] = []
    first = True
    for log_id in ids:
        chunk.append(json.dumps(log_id))
        if len(chunk) >= _ID_CHUNK:
            yield ("" if first else ",") + ",".join(chunk)
            first, chunk = False, []
    if chunk:
        yield ("" if first else ",") + ",".join(chunk)
    yield "]"


def _ndjson(ids: Iterator[str]) -> Iterator[str]:
    batch: list[str] = []
    for log_id in ids:
        batch.append(json.dumps(log_id))
        if len(batch) >= _ID_CHUNK:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


@router.get("/log-ids")
def log_ids(request: Request, after: str | None = None, format: str = "json") -> StreamingResponse:
    """Every retained log_id in order (after ``after``), as a JSON array or NDJSON (``format=ndjson``)."""
    tenant = _tenant(request)
    start, stop = tenant.id_range(after)
    ids = tenant.iter_ids(start, stop)
    if format == "ndjson":
        return StreamingResponse(_ndjson(ids), media_type="application/x-ndjson")
    return StreamingResponse(_json_array(ids), media_type="application/json")
