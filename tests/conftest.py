"""Shared fixtures. The Auth0 tenant emulator and webhook sink fixtures come from dev/ as plugins."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

# Airflow reads its home when first imported: give the test session a throwaway one, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="auth0-webhooks-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

pytest_plugins = ["dev.auth0_tenant.testing", "dev.webhook_sink.testing"]


@pytest.fixture
def airflow_connection(monkeypatch: pytest.MonkeyPatch):
    """Define Airflow connections as AIRFLOW_CONN_* variables, as the HTTP provider's tests do: no DB."""

    def define(conn_id: str, **fields: object) -> None:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))

    return define
