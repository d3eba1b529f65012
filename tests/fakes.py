"""A scripted requests transport: queued answers, recorded requests, never the network."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


@dataclass
class Answer:
    """One scripted answer: a status with JSON or text, headers, or an exception to raise."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raises: Exception | None = None


class ScriptedAdapter(BaseAdapter):
    """Answer requests from a queue (or a function of the request) and record every request."""

    def __init__(self, *answers: Answer, respond: Callable[[requests.PreparedRequest], Answer] | None = None) -> None:
        super().__init__()
        self.answers = deque(answers)
        self.respond = respond
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        if self.respond:
            answer = self.respond(request)
        elif self.answers:
            answer = self.answers.popleft()
        else:
            raise AssertionError(f"unexpected request: {request.method} {request.url}")
        if answer.raises:
            raise answer.raises
        response = requests.Response()
        response.status_code = answer.status
        response.reason = "scripted"
        response.headers = CaseInsensitiveDict(answer.headers)
        body = answer.body
        if body is not None and not isinstance(body, str | bytes):
            body = json.dumps(body)
            response.headers.setdefault("Content-Type", "application/json")
        response._content = body.encode() if isinstance(body, str) else (body or b"")
        response._content_consumed = True
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def mount(session: requests.Session, adapter: ScriptedAdapter) -> ScriptedAdapter:
    """Route every http(s) request of ``session`` to ``adapter``."""
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
