"""The Connections list's Test button sends ``"port": 0`` for a connection without a port; for the
``auth0`` and ``auth0_webhook`` types the API server's middleware passes the test on without it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from auth0_log_webhooks.wiring.connection_test_button import TEST_PATH, ZeroPortMiddleware, without_zero_port

pytestmark = pytest.mark.unit

# What Airflow 3.3.2's Connections list posts for a webhook connection (its password and extra masked).
LIST_TEST_BODY = {
    "conn_type": "auth0_webhook",
    "connection_id": "auth0_webhook_default",
    "description": "",
    "extra": '{"signing_secret": "***"}',
    "host": "https://hooks.example.com/auth0",
    "login": "",
    "password": "***",
    "port": 0,
    "schema": "",
}


def through_middleware(body: bytes, path: str = TEST_PATH, chunk: int = 7) -> tuple[bytes, dict[str, str]]:
    """Send ``body`` (in small chunks) through the middleware; return the body and headers the app got."""
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        parts = []
        while True:
            message = await receive()
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        seen["body"] = b"".join(parts)
        seen["headers"] = {k.decode(): v.decode() for k, v in scope["headers"]}

    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: Any) -> None:
        pass

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"content-length", str(len(body)).encode())]}
    asyncio.run(ZeroPortMiddleware(app)(scope, receive, send))
    return seen["body"], seen["headers"]


@pytest.mark.parametrize("conn_type", ["auth0_webhook", "auth0"])
def test_the_list_test_of_a_connection_without_a_port_reaches_airflow_without_port_0(conn_type: str) -> None:
    sent = json.dumps({**LIST_TEST_BODY, "conn_type": conn_type}).encode()
    body, headers = through_middleware(sent)
    received = json.loads(body)
    assert "port" not in received  # Airflow then tests the stored connection: same host, no port
    assert received == {k: v for k, v in json.loads(sent).items() if k != "port"}
    assert headers["content-length"] == str(len(body))


@pytest.mark.parametrize(
    "change",
    [
        {"port": 8443},  # a real port: tested as asked
        {"port": None},
        {"port": False},
        {"conn_type": "http"},  # another provider's type: Airflow's behaviour stays its own
    ],
)
def test_every_other_test_request_passes_untouched(change: dict[str, Any]) -> None:
    sent = json.dumps({**LIST_TEST_BODY, **change}).encode()
    assert through_middleware(sent) == (sent, {"content-length": str(len(sent))})


def test_other_paths_and_bodies_that_are_not_json_pass_untouched() -> None:
    sent = json.dumps(LIST_TEST_BODY).encode()
    assert through_middleware(sent, path="/api/v2/connections")[0] == sent
    assert through_middleware(b"not json")[0] == b"not json"
    assert without_zero_port(b"[0]") is None
