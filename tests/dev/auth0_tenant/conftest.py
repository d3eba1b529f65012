"""Fixtures shared by the emulator tests: authenticated clients for emulated tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from tests.dev.auth0_tenant.emulator_helpers import Api, connect


@pytest.fixture
def api(auth0_tenant: EmulatorHandle) -> Iterator[Api]:
    """An authenticated client for the default tenant, so tests start at the API call."""
    client = connect(auth0_tenant)
    yield client
    client.close()


@pytest.fixture
def api_factory(auth0_tenant_factory: Callable[..., EmulatorHandle]) -> Iterator[Callable[..., Api]]:
    """Start a tenant with overrides (rate limit and own-traffic logs off unless given); a client for it."""
    clients: list[Api] = []

    def make(**overrides: Any) -> Api:
        overrides.setdefault("rate_limit_per_minute", 0)
        for name, value in FIXED_SET.items():
            overrides.setdefault(name, value)
        clients.append(connect(auth0_tenant_factory(**overrides)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()
