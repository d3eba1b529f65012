"""A total deadline per request attempt: connect, headers and body together.

requests' ``timeout`` bounds each socket operation, so a server sending one header line every
half second holds a 1-second-timeout request for as long as it likes. Inside ``with Deadline(s):``
every socket the guarded adapter (:mod:`auth0_log_webhooks.egress`) opens or reuses is watched, and
when the deadline passes a timer thread shuts it down: the blocked read returns at once and the
request fails; :attr:`Deadline.expired` tells the caller why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any

_current: ContextVar[Deadline | None] = ContextVar("auth0_log_webhooks_deadline", default=None)


class Deadline:
    """Bound everything the guarded adapter does inside the ``with`` block to ``seconds`` in total."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends_at = 0.0
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._token: Token[Deadline | None] | None = None

    def __enter__(self) -> Deadline:
        self._ends_at = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._token is not None:
            _current.reset(self._token)
        with self._lock:
            self._sockets.clear()

    def remaining(self) -> float:
        """Seconds left (0 once expired)."""
        return max(0.0, self._ends_at - time.monotonic())

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down when the deadline passes (at once if it has passed)."""
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown, not SSLSocket.shutdown: end the TCP stream under a blocked TLS read
    # without touching the TLS object another thread is using.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def watch_socket(sock: socket.socket) -> None:
    """Put ``sock`` under the current deadline, if a ``with Deadline(...)`` block is active."""
    deadline = _current.get()
    if deadline is not None:
        deadline.watch(sock)


def bound_connect_timeout(timeout: Any) -> Any:
    """Return a connect timeout no longer than what is left of the current deadline."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = max(deadline.remaining(), 0.001)
    return left if not isinstance(timeout, int | float) else min(float(timeout), left)
