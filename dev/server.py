"""Run an ASGI app with uvicorn in a background thread or as the foreground CLI process."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


@dataclass
class RunningServer:
    """A uvicorn server started by :func:`start_in_thread`; ``url`` has no trailing slash."""

    url: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a hung handler
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: Any, host: str, port: int, log_level: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=30,
        # Both dev servers must answer many small requests quickly; h11 is the pure-Python default.
        http="h11",
    )


def start_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning") -> RunningServer:
    """Start ``app`` on ``host:port`` (0: a free port) and return once it accepts connections.

    :raises RuntimeError: if the server does not come up within 10 seconds.
    """
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, real_port, log_level))
    server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]  # not the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on {host}:{real_port} did not start")
        time.sleep(0.01)
    return RunningServer(url=f"http://{host}:{real_port}", port=real_port, _server=server, _thread=thread)


def serve_forever(
    app: Any,
    host: str,
    port: int,
    announce: Callable[[str], None] = print,
    log_level: str = "warning",
) -> None:
    """Serve ``app`` in the foreground until SIGINT/SIGTERM; announce the URL once listening.

    The announcement (``listening on http://host:port``) is how scripts find a port chosen with 0.
    """
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, real_port, log_level))

    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets=sockets)
        announce(f"listening on http://{host}:{real_port}")

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])
