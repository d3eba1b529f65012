"""``python -m dev.auth0_tenant`` starts a server and announces its port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.dev

ROOT = Path(__file__).resolve().parents[3]


def test_cli_serves_tokens_and_logs_when_started_on_port_zero() -> None:
    command = [sys.executable, "-m", "dev.auth0_tenant", "--port", "0", "--logs", "20", "--seed", "4"]
    command += [
        "--client-id",
        "cli-id",
        "--client-secret",
        "cli-secret",
        "--rate-limit-per-minute",
        "0",
        "--no-token-logs",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        body = {
            "grant_type": "client_credentials",
            "client_id": "cli-id",
            "client_secret": "cli-secret",
            "audience": f"{url}/api/v2/",
        }
        token = requests.post(f"{url}/oauth/token", json=body, timeout=10).json()["access_token"]
        logs = requests.get(f"{url}/api/v2/logs", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert len(logs.json()) == 20
    finally:
        process.terminate()
        process.wait(timeout=10)
