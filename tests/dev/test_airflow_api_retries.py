"""The harness's REST client on a machine too busy to answer in time: reads are asked again, new runs are not."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

import dev.airflow_env
from dev.airflow_env import AirflowStandalone

pytestmark = pytest.mark.dev


class _SlowFirstAnswer(BaseHTTPRequestHandler):
    """Answers every method's first request after 3 s (past the client's timeout), later ones at once."""

    seen: list[str] = []

    def _answer(self) -> None:
        first = self.command not in self.seen
        self.seen.append(self.command)
        if first:
            time.sleep(3)
        body = json.dumps({"method": self.command}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output quiet."""


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up closes its socket mid-answer; that broken pipe is expected here."""

    def handle_error(self, request: object, client_address: object) -> None:
        """Say nothing."""


@pytest.fixture
def slow_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AirflowStandalone, list[str]]]:
    _SlowFirstAnswer.seen = []
    server = _QuietServer(("127.0.0.1", 0), _SlowFirstAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(dev.airflow_env, "API_TIMEOUT", (5.0, 1.0))
    airflow = AirflowStandalone(tmp_path / "airflow")
    airflow.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield airflow, _SlowFirstAnswer.seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_read_that_times_out_is_asked_again(slow_api: tuple[AirflowStandalone, list[str]]) -> None:
    airflow, seen = slow_api

    assert airflow.api("GET", "/dags") == {"method": "GET"}
    assert airflow.api("PUT", "/variables/x", json={}) == {"method": "PUT"}
    assert seen == ["GET", "GET", "PUT", "PUT"]


def test_a_new_run_that_times_out_is_not_posted_twice(slow_api: tuple[AirflowStandalone, list[str]]) -> None:
    airflow, seen = slow_api

    with pytest.raises(requests.Timeout):
        airflow.api("POST", "/dags/x/dagRuns", json={})
    assert seen == ["POST"]
