"""A local HTTP server standing in for Slack or an on-call webhook, for ``make demo`` and the notification tests."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class AlertsReceiver:
    """A local HTTP server standing in for Slack or an on-call webhook: it records each JSON notice."""

    def __init__(self) -> None:
        notices: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                notices.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.notices = notices
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, event: str, after: int = 0, timeout: float = 180.0) -> dict[str, Any]:
        """Return the first notice of ``event`` among those received after the first ``after``, waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for notice in self.notices[after:]:
                if notice.get("event") == event:
                    return notice
            time.sleep(0.5)
        raise AssertionError(
            f"no {event} notice within {timeout:.0f}s; received {[n.get('event') for n in self.notices]}"
        )

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
