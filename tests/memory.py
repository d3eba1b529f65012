"""An in-memory Auth0 tenant and webhook receiver, for running the real steps without HTTP servers.

The unit tests of the steps and the model test (tests/model) drive :mod:`auth0_log_webhooks.steps`
with these: :class:`MemoryTenant` is a ``LogSource`` (pages in log_id order, the oldest retained
log, retention that can be advanced), :class:`MemoryReceiver` is a requests transport that records
what arrives and answers what the test decides, and :func:`sender_for` wires the real
:class:`~auth0_log_webhooks.delivery.sender.WebhookSender` to it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from auth0_log_webhooks.delivery.sender import DeliveryPolicy, WebhookSender
from auth0_log_webhooks.hooks.read_progress import WaitTally
from auth0_log_webhooks.pipelines.config import PipelineConfig
from tests.fakes import OfflineAdapter, body_text, response_to

URL = "https://receiver.example/hook"


def make_log_id(moment: datetime, sequence: int) -> str:
    """Return a well-formed log id of ``moment``'s second; ``sequence`` orders ids within a second."""
    return "900" + moment.strftime("%Y%m%d%H%M%S") + f"{sequence:039d}"


@dataclass
class MemoryTenant:
    """Logs in log_id order; the first ``purged`` of them are past retention."""

    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(days=2))
    logs: list[dict[str, Any]] = field(default_factory=list)
    purged: int = 0
    page_size: int = 100
    waits: WaitTally = field(default_factory=WaitTally)
    domain: str = "tenant.example.auth0.com"

    def add(self, types: list[str]) -> list[str]:
        """Append one log per type code, a second apart; return their ids."""
        added = []
        for code in types:
            number = len(self.logs)
            moment = self.start + timedelta(seconds=number)
            log_id = make_log_id(moment, number)
            self.logs.append(
                {"log_id": log_id, "date": moment.isoformat().replace("+00:00", "Z"), "type": code, "n": number}
            )
            added.append(log_id)
        return added

    def retained(self) -> list[dict[str, Any]]:
        """Return the logs still retained."""
        return self.logs[self.purged :]

    def iter_log_pages(self, from_: str) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of retained logs after ``from_``, as Auth0's checkpoint mode does."""
        retained = self.retained()
        first = next((i for i, log in enumerate(retained) if str(log.get("log_id") or "") > from_), len(retained))
        after = retained[first:]  # a log without an id (a test may make one) stays in its place
        for offset in range(0, len(after), self.page_size):
            yield after[offset : offset + self.page_size]

    def oldest_log(self) -> dict[str, Any] | None:
        """Return the oldest retained log."""
        retained = self.retained()
        return retained[0] if retained else None


class Crash(BaseException):
    """The delivery task's process died (SIGKILL): nothing after it runs, no except clause catches it."""


@dataclass
class Arrival:
    """One request the receiver saw, and what it answered."""

    webhook_id: str
    log_ids: tuple[str, ...]
    status: int


class MemoryReceiver(OfflineAdapter):
    """A webhook receiver in memory: ``answer(log_ids)`` gives the status (or raises :class:`Crash`)."""

    def __init__(self, answer: Callable[[tuple[str, ...]], int] = lambda ids: 200) -> None:
        super().__init__()
        self.answer = answer
        self.arrivals: list[Arrival] = []

    def delivered(self) -> set[str]:
        """Return the log ids accepted (2xx) at least once."""
        return {i for a in self.arrivals if 200 <= a.status < 300 for i in a.log_ids}

    def reply(self, request: requests.PreparedRequest) -> requests.Response:
        text = body_text(request)
        if request.headers.get("Content-Type", "").startswith("application/x-ndjson"):  # format: json_lines
            logs = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            parsed = json.loads(text)
            logs = parsed if isinstance(parsed, list) else [parsed]
        ids = tuple(log["log_id"] for log in logs)
        status = self.answer(ids)
        self.arrivals.append(Arrival(str(request.headers["webhook-id"]), ids, status))
        return response_to(request, status, b"", reason="memory")


def sender_for(receiver: MemoryReceiver, config: PipelineConfig) -> WebhookSender:
    """Return the real sender, shaped as ``config`` says, posting to ``receiver`` and never sleeping."""
    session = requests.Session()
    session.mount("https://", receiver)
    policy = DeliveryPolicy.from_config(config, timeout_seconds=5)
    return WebhookSender(session, URL, [], policy, sleep=lambda seconds: None)
