"""Logs a real tenant writes about the emulator's own clients' traffic.

On Auth0 every client-credentials exchange writes a ``seccft`` log (``feccft`` when refused) and a
request refused by the rate limit writes an ``api_limit`` log. A log-shipping pipeline therefore
creates logs by reading them; the emulator reproduces that (``TenantConfig.token_logs`` and
``TenantConfig.api_limit_logs``, both on by default) so that event-driven scheduling is tested
against a tenant that is never quite idle.

The logs are raw objects without a ``date`` (the store dates them now, keeping date pruning fast);
they validate against Auth0's official schemas and the official SDK's ``Log`` model.
"""

from __future__ import annotations

import secrets
from typing import Any

from dev.auth0_tenant.generator import CATALOG

OWN_CLIENT_NAME = "Log Exporter (M2M)"


def _common(code: str, hostname: str, tenant_name: str, client_id: str) -> dict[str, Any]:
    return {
        "type": code,
        "description": CATALOG[code]["description"],
        "client_id": client_id,
        "client_name": OWN_CLIENT_NAME,
        "hostname": hostname,
        "$event_schema": {"version": "1.0.0"},
        "tenant_name": tenant_name,
        "environment_name": "prod-us-1",
    }


def token_exchange_log(
    *,
    succeeded: bool,
    hostname: str,
    tenant_name: str,
    client_id: str,
    audience: str,
    scope: str,
    ip: str,
    user_agent: str,
    error: str = "",
) -> dict[str, Any]:
    """The ``seccft`` (``succeeded``) or ``feccft`` log of one client-credentials exchange."""
    log = _common("seccft" if succeeded else "feccft", hostname, tenant_name, client_id)
    log.update({"ip": ip, "client_ip": ip, "user_agent": user_agent, "audience": audience})
    if succeeded:
        log["scope"] = scope
        log["details"] = {"access_token_jti": secrets.token_hex(16), "actions": {"executions": []}}
    else:
        log["details"] = {"error": {"message": error}}
    return log


def api_limit_log(
    *, hostname: str, tenant_name: str, client_id: str, burst: int, method: str, path: str
) -> dict[str, Any]:
    """The ``api_limit`` log of one request the Management API's rate limit refused."""
    log = _common("api_limit", hostname, tenant_name, client_id)
    log["details"] = {
        "limit": {"bucket": f"per_client:{client_id}", "global": False, "size": burst},
        "request": {"method": method.lower(), "path": path},
        "response": "429 Too Many Requests",
    }
    return log
