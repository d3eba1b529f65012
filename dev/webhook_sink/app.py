"""The webhook sink's ASGI app and a way to run it in a background thread.

Routes map to thin handlers that call the one :class:`~dev.webhook_sink.state.SinkState`.
Every path outside ``/__sink/`` is a delivery endpoint; ``/__sink/...`` is the control API.

A plain ASGI app (no framework) keeps the per-request cost low, and gives access to the
connection for the ``reset`` fault: uvicorn's ``send`` callable is a bound method of its
request cycle, whose ``transport`` we abort after setting ``SO_LINGER`` to 0, so the kernel sends
an RST and the client sees a connection reset with no response at all.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from dev.server import RunningServer, start_in_thread
from dev.webhook_sink.config import SinkConfig
from dev.webhook_sink.state import Incoming, Outcome, SinkState

CONTROL_PREFIX = "/__sink/"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Reply = tuple[int, Any]
Handler = Callable[[SinkState, dict[str, list[str]], Any], Reply]


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class ControlError(ValueError):
    """A control request is invalid; answered with 400 and the message."""


# -- control handlers: (state, query, json body) -> (status, payload) -------------------------------


def _add_faults(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, {"active": state.add_faults(body)}


def _list_faults(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, state.faults()


def _clear_faults(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    state.clear_faults()
    return 200, {"active": 0}


def _reset(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    state.reset()
    return 200, {"reset": True}


def _rotate_key(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    state.rotate_key()
    return 200, {"revoked": True}


def _token_requests(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, {"token_requests": state.token_requests()}


def _summary(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, state.summary()


def _log_ids(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, state.log_ids()


def _check(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    expected = body.get("expected_log_ids") if isinstance(body, dict) else None
    if not isinstance(expected, list) or not all(isinstance(item, str) for item in expected):
        raise ControlError('body must be {"expected_log_ids": [str, ...]}')
    return 200, state.check(expected)


def _requests(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    try:
        since = int(query.get("since", ["0"])[0])
        limit = int(query.get("limit", ["1000"])[0])
    except ValueError as exc:
        raise ControlError("since and limit must be integers") from exc
    return 200, state.requests(since=since, limit=limit)


def _health(state: SinkState, query: dict[str, list[str]], body: Any) -> Reply:
    return 200, {"ok": True}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "faults"): _add_faults,
    ("GET", "faults"): _list_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "reset"): _reset,
    ("GET", "summary"): _summary,
    ("GET", "log-ids"): _log_ids,
    ("POST", "check"): _check,
    ("GET", "requests"): _requests,
    ("GET", "health"): _health,
    ("POST", "oauth/rotate"): _rotate_key,
    ("GET", "oauth/token-requests"): _token_requests,
}
TOKEN_PATH = CONTROL_PREFIX + "oauth/token"
"""The OAuth2 token endpoint (form-encoded client credentials, as RFC 6749 asks; not JSON like the rest)."""


class SinkApp:
    """ASGI application of the webhook sink."""

    def __init__(self, state: SinkState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection scope."""
        if scope["type"] != "http":
            return
        if scope["method"] == "POST" and scope["path"] == TOKEN_PATH:
            form = parse_qs((await _read_body(receive)).decode("latin-1"))
            status, payload = self.state.issue_token({key: values[-1] for key, values in form.items()})
            await _respond(send, status, payload)
            return
        if scope["path"].startswith(CONTROL_PREFIX):
            handler = ROUTES.get((scope["method"], scope["path"][len(CONTROL_PREFIX) :]))
            if handler is not None:
                await self._control(handler, scope, receive, send)
                return
        await self._deliver(scope, receive, send)

    async def _control(self, handler: Handler, scope: Scope, receive: Receive, send: Send) -> None:
        raw = await _read_body(receive)
        try:
            body = json.loads(raw) if raw.strip() else None
            status, payload = handler(self.state, parse_qs(scope["query_string"].decode("latin-1")), body)
        except ValueError as exc:  # bad JSON, an invalid fault rule, a ControlError
            status, payload = 400, {"error": str(exc)}
        await _respond(send, status, payload)

    async def _deliver(self, scope: Scope, receive: Receive, send: Send) -> None:
        received_at = time.time()
        in_flight = self.state.enter()
        try:
            request = Incoming(
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                headers=_headers(scope),
                body=b"",
                received_at=received_at,
                in_flight=in_flight,
            )
            try:
                request.body = await _read_body(receive)
            except ClientGone:
                await self._record(request, Outcome(None, "client disconnected"))
                return
            outcome = self._assess(scope, request)
            await self._record(request, outcome)
            await self._perform(outcome, receive, send)
        finally:
            self.state.leave()

    def _assess(self, scope: Scope, request: Incoming) -> Outcome:
        if scope["path"].startswith(CONTROL_PREFIX):
            return Outcome(404, "unknown control endpoint")
        return self.state.assess(request)

    async def _record(self, request: Incoming, outcome: Outcome) -> None:
        if self.state.config.fsync:
            await asyncio.to_thread(self.state.record, request, outcome)
        else:
            self.state.record(request, outcome)

    async def _perform(self, outcome: Outcome, receive: Receive, send: Send) -> None:
        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        if outcome.action == "hang":
            await self._hang(outcome.hang_seconds, receive)
            await _reset_connection(send, receive)
        elif outcome.action == "reset":
            await _reset_connection(send, receive)
        else:
            payload: dict[str, object] = (
                {"accepted": outcome.logs.count} if outcome.why == "ok" else {"error": outcome.why}
            )
            if outcome.detail:
                payload["detail"] = outcome.detail
            await _respond(send, outcome.status or 500, payload, outcome.headers)

    async def _hang(self, seconds: float, receive: Receive) -> None:
        """Wait until the client disconnects, the sink shuts down, or ``seconds`` pass."""
        waits = {
            asyncio.ensure_future(_wait_disconnect(receive)),
            asyncio.ensure_future(_wait_event(self.state.closing)),
        }
        _, pending = await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _wait_event(event: Any, poll: float = 0.05) -> None:
    while not event.is_set():
        await asyncio.sleep(poll)


async def _respond(send: Send, status: int, payload: Any, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps(payload).encode()
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


async def _reset_connection(send: Send, receive: Receive) -> None:
    """Close the client's TCP connection with an RST and no response.

    :raises RuntimeError: if the server does not expose the connection's transport (not uvicorn).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("cannot reset the connection: the ASGI server hides its transport")
    if not transport.is_closing():
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # Let uvicorn notice the disconnect, so that it neither logs nor tries a 500 response.
    await asyncio.wait_for(_wait_disconnect(receive), timeout=5)


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


@dataclass
class SinkServer:
    """A running sink: ``url`` has no trailing slash; :meth:`stop` shuts it down and closes the file."""

    url: str
    port: int
    state: SinkState
    _running: RunningServer = field(repr=False)

    @property
    def record_path(self) -> Any:
        """Return the record file's path."""
        return self.state.config.record_path

    def stop(self) -> None:
        """End hanging requests, stop the server and close the record file."""
        self.state.closing.set()
        self._running.stop()
        self.state.close()

    def __enter__(self) -> SinkServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sink(config: SinkConfig, host: str = "127.0.0.1", port: int = 0) -> SinkServer:
    """Start a sink in a background thread on ``host:port`` (0: a free port) once it accepts connections.

    :raises ValueError: for an invalid secret.
    :raises RuntimeError: if the server does not come up.
    """
    state = SinkState(config)
    try:
        running = start_in_thread(SinkApp(state), host, port)
    except BaseException:
        state.close()
        raise
    return SinkServer(url=running.url, port=running.port, state=state, _running=running)
