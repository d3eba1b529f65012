"""Helpers shared by the emulator tests: an authenticated client for the Management API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from dev.auth0_tenant.testing import EmulatorHandle

ZERO_CURSOR = "900" + "0" * 53


@dataclass
class Api:
    """A requests session holding a bearer token for one emulator."""

    tenant: EmulatorHandle
    session: requests.Session

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET ``path`` (relative to the tenant) with query ``params``."""
        return self.session.get(f"{self.tenant.url}{path}", params=params or None, timeout=60)

    def logs(self, **params: Any) -> Any:
        """GET /api/v2/logs and return the JSON body, failing on non-200."""
        response = self.get("/api/v2/logs", **params)
        assert response.status_code == 200, response.text
        return response.json()

    def close(self) -> None:
        """Close the session."""
        self.session.close()


def connect(tenant: EmulatorHandle) -> Api:
    """Fetch a token for ``tenant`` and return a client that sends it."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {tenant.token()}"
    return Api(tenant, session)
