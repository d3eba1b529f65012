"""The harness makes the execution API's first request itself: no task's start waits for the API to build its routes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dev.airflow_env import AirflowStandalone

pytestmark = pytest.mark.dev


class _BuildingRoutes(BaseHTTPRequestHandler):
    """Answers the execution API's health check with 503 at first (still starting), then 200."""

    seen: list[str] = []
    unavailable = 1

    def do_GET(self) -> None:
        self.seen.append(self.path)
        ready = len(self.seen) > self.unavailable
        self.send_response(200 if ready else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test's output quiet."""


@pytest.fixture
def api(tmp_path: Path) -> Iterator[AirflowStandalone]:
    _BuildingRoutes.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BuildingRoutes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    airflow = AirflowStandalone(tmp_path / "airflow")
    airflow.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield airflow
    finally:
        server.shutdown()
        server.server_close()


def test_the_warm_up_asks_the_execution_api_until_it_answers(api: AirflowStandalone) -> None:
    seconds = api.warm_execution_api()

    assert _BuildingRoutes.seen == ["/execution/health", "/execution/health"]
    assert api.execution_api_warmup == seconds
    assert seconds > 0
