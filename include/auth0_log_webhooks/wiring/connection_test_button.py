"""The Test button of the Connections list, for this project's connection types: a port of 0 is no port.

Airflow 3.3.2's Connections list sends ``Number(connection.port)`` when its Test button is clicked,
so a connection without a port (every webhook connection, an Auth0 tenant on 443) is tested with
``"port": 0``. The API server compares that port with the stored one (none), finds another
destination, refuses to reuse the stored credentials for it and answers 400 "The host or port to
test differs from the stored connection". :class:`ZeroPortMiddleware`, which the plugin
:class:`ConnectionTestPlugin` adds to the API server (the package registers it through its
``airflow.plugins`` entry point), drops ``"port": 0`` from a test request of an ``auth0`` or
``auth0_webhook`` connection, so the connection is tested as stored. Port 0 is never a
destination; every other request passes untouched.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from airflow.plugins_manager import AirflowPlugin

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

TEST_PATH = "/api/v2/connections/test"
CONN_TYPES = frozenset({"auth0", "auth0_webhook"})  # Auth0Hook.conn_type, WebhookHook.conn_type


def without_zero_port(body: bytes) -> bytes | None:
    """Return a test request's body without ``"port": 0`` if it tests one of :data:`CONN_TYPES`;
    None to pass the body on as it came."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict) or document.get("conn_type") not in CONN_TYPES:
        return None
    port = document.get("port")
    if type(port) is not int or port != 0:
        return None
    del document["port"]
    return json.dumps(document).encode()


class ZeroPortMiddleware:
    """ASGI middleware of the API server: ``POST .../api/v2/connections/test`` without ``"port": 0``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass every request on; a connection test's body is read whole and passed on without a zero port."""
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope.get("path", "").endswith(TEST_PATH):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: nothing to test
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        fixed = without_zero_port(body)
        if fixed is not None:
            body = fixed
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


class ConnectionTestPlugin(AirflowPlugin):
    """Adds :class:`ZeroPortMiddleware` to the API server."""

    name = "auth0_log_webhooks_connection_test"
    fastapi_root_middlewares = [
        {"middleware": ZeroPortMiddleware, "name": "Test button of auth0 and auth0_webhook connections: no port 0"}
    ]
