"""Pytest fixtures for the Auth0 tenant emulator (loaded as a plugin by ``tests/conftest.py``).

``auth0_tenant_factory(**overrides)`` starts a real emulator on a free port and returns an
:class:`EmulatorHandle`; every server it started is stopped at teardown. A request no route matched
(unknown path, wrong method, unknown ``/__emulator/`` endpoint) then fails the test, unless it is
marked ``@pytest.mark.allow_unexpected_requests`` (see :mod:`dev.strict`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
import requests

from dev.auth0_tenant.app import create_app
from dev.auth0_tenant.config import TenantConfig
from dev.auth0_tenant.state import TenantState
from dev.server import RunningServer, start_in_thread
from dev.strict import fail_on_unexpected

FIXED_SET: dict[str, bool] = {"token_logs": False, "api_limit_logs": False}
"""Overrides for a tenant whose logs are only the generated ones: no logs of the client's own token
exchanges or 429s, so a test can compare what was delivered with a fixed set."""


@dataclass
class EmulatorHandle:
    """A running emulator: its URLs and credentials, its state, and the control API as methods."""

    url: str
    domain: str
    client_id: str
    client_secret: str
    state: TenantState
    config: TenantConfig
    _server: RunningServer = field(repr=False)
    _session: requests.Session = field(default_factory=requests.Session, repr=False)

    @property
    def audience(self) -> str:
        """The Management API audience clients must ask for."""
        return f"{self.url}/api/v2/"

    def _control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._session.request(method, f"{self.url}/__emulator{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()

    def token(self, **overrides: str) -> str:
        """Fetch an access token with the client-credentials grant."""
        body = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "audience": self.audience,
            **overrides,
        }
        response = self._session.post(f"{self.url}/oauth/token", data=body, timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def add_logs(self, n: int) -> list[str]:
        """Append ``n`` generated logs dated now; return their ids."""
        return cast(list[str], self._control("POST", "/logs", json={"count": n})["log_ids"])

    def add_raw_logs(self, logs: list[dict[str, Any]]) -> list[str]:
        """Append raw log objects (ids assigned); return their ids."""
        return cast(list[str], self._control("POST", "/logs", json={"logs": logs})["log_ids"])

    def set_rate_limit(self, burst: int, per_minute: float) -> None:
        """Reconfigure the rate limit (``per_minute`` 0: off)."""
        self._control("PUT", "/rate-limit", json={"burst": burst, "per_minute": per_minute})

    def log_own_traffic(self, on: bool) -> None:
        """Turn the ``seccft``/``feccft`` and ``api_limit`` logs of the clients' own traffic on or off."""
        self._control("PUT", "/own-traffic", json={"token_logs": on, "api_limit_logs": on})

    def fail_next(self, n: int, status: int, latency: float = 0.0, path_prefix: str = "/api/v2/logs") -> None:
        """Fail (status 0: only delay) the next ``n`` requests under ``path_prefix``."""
        body = {"count": n, "status": status, "latency_seconds": latency, "path_prefix": path_prefix}
        self._control("POST", "/faults", json=body)

    def expire_tokens(self) -> None:
        """Expire every token issued so far."""
        self._control("POST", "/tokens/expire")

    def advance_clock(self, seconds: float) -> None:
        """Move the tenant's clock forward (ages logs and tokens)."""
        self._control("POST", "/clock", json={"advance_seconds": seconds})

    def reset(self) -> None:
        """Return the tenant to its start-up state."""
        self._control("POST", "/reset")

    def counters(self) -> dict[str, int]:
        """requests, log_requests, rate_limited, tokens_issued, faults_served, unmatched."""
        return cast(dict[str, int], self._control("GET", "/counters"))

    def all_log_ids(self, after: str | None = None) -> list[str]:
        """Every retained log_id in order (after ``after`` if given)."""
        return cast(list[str], self._control("GET", "/log-ids", params={"after": after} if after else None))

    def log(self, log_id: str) -> dict[str, Any]:
        """The retained log with this id.

        :raises KeyError: naming the id, when the tenant never had it or no longer retains it.
        """
        found = self.state.get_log(log_id)
        if found is None:
            raise KeyError(f"the emulator retains no log {log_id!r}")
        return found

    def unmatched(self) -> list[tuple[str, str]]:
        """(method, path) of every request no route matched since start-up, resets included."""
        return self.state.unmatched_requests()

    def stop(self) -> None:
        """Stop the server (the fixture does this at teardown)."""
        self._session.close()
        self._server.stop()


def start_emulator(**overrides: Any) -> EmulatorHandle:
    """Start an emulator in a background thread with :class:`TenantConfig` ``overrides``."""
    config = dataclasses.replace(TenantConfig(), **overrides)
    state = TenantState(config)
    server = start_in_thread(create_app(config, state=state))
    return EmulatorHandle(
        url=server.url,
        domain=server.url.removeprefix("http://"),
        client_id=config.client_id,
        client_secret=config.client_secret,
        state=state,
        config=config,
        _server=server,
    )


@pytest.fixture
def auth0_tenant_factory(request: pytest.FixtureRequest) -> Iterator[Callable[..., EmulatorHandle]]:
    """Start emulated Auth0 tenants with custom settings for one test; all stopped afterwards.

    At teardown the test fails if a tenant saw a request no route matched (unknown path, wrong
    method, unknown control endpoint), naming the first few; a test that sends such requests on
    purpose (a 404 check) opts out with ``@pytest.mark.allow_unexpected_requests``.
    """
    started: list[EmulatorHandle] = []

    def factory(**overrides: Any) -> EmulatorHandle:
        handle = start_emulator(**overrides)
        started.append(handle)
        return handle

    yield factory
    for handle in started:
        handle.stop()
    fail_on_unexpected(request.node, {f"Auth0 tenant emulator at {h.url}": h.unmatched() for h in started})


@pytest.fixture
def auth0_tenant(auth0_tenant_factory: Callable[..., EmulatorHandle]) -> EmulatorHandle:
    """A default emulated tenant (1,000 logs, no rate limit, :data:`FIXED_SET`) for tests that just need logs to read.

    Unmatched requests fail the test as with :func:`auth0_tenant_factory`.
    """
    return auth0_tenant_factory(logs=1000, rate_limit_per_minute=0, **FIXED_SET)
