"""A scripted requests transport: queued answers, recorded requests, never the network."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from auth0_log_webhooks.http.attempt_deadlines import before_sending


@dataclass
class Answer:
    """One scripted answer: a status with JSON or text, headers, or an exception to raise."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raises: Exception | None = None


class OfflineAdapter(BaseAdapter):
    """A requests transport that never reaches the network: a subclass answers each request in ``reply``, after
    the current sending gate (the rate cap's turn) ran, as it runs in the real connection."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        before_sending()  # as the guarded connection does once connected, just before the first byte
        return self.reply(request)

    def reply(self, request: requests.PreparedRequest) -> requests.Response:
        raise NotImplementedError

    def close(self) -> None:
        pass


def body_text(request: requests.PreparedRequest) -> str:
    """The body of ``request`` as text (requests keeps it as bytes, text or None)."""
    body = request.body or b""
    return body.decode() if isinstance(body, bytes) else body


def response_to(
    request: requests.PreparedRequest, status: int, body: bytes, headers: Mapping[str, str] = {}, reason: str = "fake"
) -> requests.Response:
    """Return a response to ``request`` whose whole ``body`` is already read, as requests builds one."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    response.headers = CaseInsensitiveDict(headers)
    response._content = body
    response._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag, missing from its stubs
    response.url = request.url or ""
    response.request = request
    return response


class ScriptedAdapter(OfflineAdapter):
    """Answer requests from a queue (or a function of the request) and record every request."""

    def __init__(self, *answers: Answer, respond: Callable[[requests.PreparedRequest], Answer] | None = None) -> None:
        super().__init__()
        self.answers = deque(answers)
        self.respond = respond
        self.requests: list[requests.PreparedRequest] = []

    def reply(self, request: requests.PreparedRequest) -> requests.Response:
        self.requests.append(request)
        if self.respond:
            answer = self.respond(request)
        elif self.answers:
            answer = self.answers.popleft()
        else:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        if answer.raises:
            raise answer.raises
        headers = dict(answer.headers)
        body = answer.body
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return response_to(
            request, answer.status, body.encode() if isinstance(body, str) else (body or b""), headers, "scripted"
        )


def mount(session: requests.Session, adapter: ScriptedAdapter) -> ScriptedAdapter:
    """Route every http(s) request of ``session`` to ``adapter``."""
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter


class ScriptedTenant:
    """A scripted tenant: a token on /oauth/token, then ``pages`` (repeated forever) on /api/v2/logs."""

    CONNECTION = {"conn_type": "auth0", "host": "acme.eu.auth0.com", "login": "ours", "password": "s"}
    """The ``auth0_default`` connection it stands behind (as ``AIRFLOW_CONN_AUTH0_DEFAULT`` JSON)."""

    def __init__(self, *pages: Answer) -> None:
        self.pages = list(pages)
        self.adapter = ScriptedAdapter(respond=self.answer)
        self.served = 0

    def answer(self, request: requests.PreparedRequest) -> Answer:
        if request.path_url.startswith("/oauth/token"):
            return Answer(200, {"access_token": "tok-of-the-watcher", "expires_in": 86400})
        page = self.pages[min(self.served, len(self.pages) - 1)]
        self.served += 1
        return page

    @property
    def tokens(self) -> int:
        return sum(1 for r in self.adapter.requests if r.path_url.startswith("/oauth/token"))

    @property
    def log_reads(self) -> int:
        return len(self.adapter.requests) - self.tokens

    def hook(self, clock: list[float]) -> Any:
        """An ``Auth0Hook`` on ``auth0_default`` whose requests this tenant answers, sleeping on ``clock``."""
        from auth0_log_webhooks.hooks.auth0 import Auth0Hook, RetryPolicy

        def sleep(seconds: float) -> None:
            clock[0] += seconds

        hook = Auth0Hook(
            "auth0_default", retry=RetryPolicy(give_up_after_seconds=5), sleep=sleep, clock=lambda: clock[0]
        )
        mount(hook.get_conn(), self.adapter)
        return hook


T = TypeVar("T")


class Stall:
    """A transport that answers ``answer`` only once released (after 30 s at most): for deadline tests."""

    def __init__(self, answer: Answer) -> None:
        self.release = threading.Event()
        self.adapter = ScriptedAdapter(respond=lambda request: answer if self.release.wait(30) else Answer(504))

    def timed(self, call: Callable[[], T]) -> tuple[T, float]:
        """Return what ``call()`` returned while the transport stalled, and the seconds it took; then release it."""
        started = time.monotonic()
        try:
            return call(), time.monotonic() - started
        finally:
            self.release.set()
