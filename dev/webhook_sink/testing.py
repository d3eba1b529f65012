"""Pytest fixtures for the webhook sink: ``webhook_sink_factory`` and ``webhook_sink``.

Loaded as a plugin by ``tests/conftest.py``. Each sink is a real HTTP server on a free port,
records to ``tmp_path`` and is stopped at teardown. A request the sink does not serve (a delivery
that is not a POST, an unknown ``/__sink/`` endpoint) then fails the test, unless it is marked
``@pytest.mark.allow_unexpected_requests`` (see :mod:`dev.strict`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests

from dev.strict import fail_on_unexpected
from dev.webhook_sink.app import SinkServer, start_sink
from dev.webhook_sink.config import SinkConfig
from dev.webhook_sink.tally import UNEXPECTED


class SinkHandle:
    """A running sink seen from a test: its URLs, record file and control API."""

    def __init__(self, server: SinkServer) -> None:
        self.server = server
        self.url = server.url
        self.hook_url = f"{server.url}/hook"
        self.record_path: Path = server.record_path
        self._session = requests.Session()

    def _control(self, method: str, name: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self.url}/__sink/{name}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def add_fault(self, **rule: Any) -> None:
        """Append one fault rule, e.g. ``add_fault(status=503, count=2, retry_after="1")``."""
        self._control("POST", "faults", json=rule)

    def add_faults(self, rules: list[dict[str, Any]]) -> None:
        """Append several fault rules in order."""
        self._control("POST", "faults", json=rules)

    def rotate_key(self) -> None:
        """Revoke every OAuth2 token the sink issued (its key was rotated): the next delivery gets a 401."""
        self._control("POST", "oauth/rotate")

    def token_requests(self) -> int:
        """Return how many OAuth2 token requests the sink's token endpoint got since it started."""
        return int(self._control("GET", "oauth/token-requests")["token_requests"])

    @property
    def token_url(self) -> str:
        """The sink's OAuth2 token endpoint (started with ``oauth2_client``)."""
        return f"{self.url}/__sink/oauth/token"

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        self._control("DELETE", "faults")

    def summary(self) -> dict[str, Any]:
        """Return the sink's summary (requests, logs, duplicates, in-flight, statuses...)."""
        return cast(dict[str, Any], self._control("GET", "summary"))

    def log_ids(self) -> list[str]:
        """Return the unique delivered log ids in arrival order."""
        return cast(list[str], self._control("GET", "log-ids"))

    def check(self, expected_ids: Iterable[str]) -> dict[str, Any]:
        """Compare delivered log ids with ``expected_ids``."""
        return cast(dict[str, Any], self._control("POST", "check", json={"expected_log_ids": list(expected_ids)}))

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Return the recorded requests of this session with ``seq > since``."""
        return cast(list[dict[str, Any]], self._control("GET", "requests", params={"since": since}))

    def reset(self) -> None:
        """Forget records and faults (the file keeps its history behind a reset marker)."""
        self._control("POST", "reset")

    def assert_no_unexpected(self) -> None:
        """Fail if the sink saw requests it does not serve (wrong method, unknown control path)."""
        unexpected = [r for r in self.requests() if r["why"] in UNEXPECTED]
        assert not unexpected, f"unexpected requests reached the sink: {unexpected}"

    def unexpected(self) -> list[tuple[str, str]]:
        """Return (method, path) of every request the sink does not serve since start-up, resets included."""
        return self.server.state.unexpected_requests()

    def stop(self) -> None:
        """Stop the sink (also done at fixture teardown)."""
        self._session.close()
        self.server.stop()


@pytest.fixture
def webhook_sink_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., SinkHandle]]:
    """Start sinks with :class:`SinkConfig` overrides (e.g. ``secrets=("whsec_...",)``); stop them after the test.

    At teardown the test fails if a sink saw a request it does not serve (a delivery that is not a
    POST, an unknown control endpoint), naming the first few; a test that sends such requests on
    purpose opts out with ``@pytest.mark.allow_unexpected_requests``.
    """
    handles: list[SinkHandle] = []

    def make(**overrides: Any) -> SinkHandle:
        overrides.setdefault("record_path", tmp_path / f"sink-{len(handles)}.jsonl")
        if "secrets" in overrides:
            overrides["secrets"] = tuple(overrides["secrets"])
        handle = SinkHandle(start_sink(SinkConfig(**overrides)))
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        handle.stop()
    fail_on_unexpected(request.node, {f"webhook sink at {h.url}": h.unexpected() for h in handles})


@pytest.fixture
def webhook_sink(webhook_sink_factory: Callable[..., SinkHandle]) -> SinkHandle:
    """A sink with defaults: no signature or Authorization check, fsync on.

    Unexpected requests fail the test as with :func:`webhook_sink_factory`.
    """
    return webhook_sink_factory()
