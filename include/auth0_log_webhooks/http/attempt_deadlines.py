"""A total deadline per request attempt: connect, headers and body together.

requests' ``timeout`` bounds each socket operation, so a server sending one header line every
half second holds a 1-second-timeout request for as long as it likes. Inside ``with Deadline(s):``
every socket the guarded adapter (:mod:`auth0_log_webhooks.http.egress`) opens or reuses is watched, and
when the deadline passes a watchdog thread shuts it down: the blocked read returns at once and the
request fails; :attr:`Deadline.expired` tells the caller why. One watchdog thread per process serves
every deadline (a heap ordered by end time), so an attempt costs no thread start.

:func:`finish_within` bounds a whole action of several steps (a connection's Test: a token, a
request, retries, name lookups that no socket deadline covers) by running it in a thread and
answering after at most so many seconds, whether or not it finished.

A gate (:func:`sending_gate`) is what the guarded connection runs once it is connected, just before a
request's first byte goes out (:func:`before_sending`): the rate cap's last check (see
:mod:`auth0_log_webhooks.http.rate_cap`). The time a gate waits is not counted against the deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

_current: ContextVar[Deadline | None] = ContextVar("auth0_log_webhooks_deadline", default=None)
_gate: ContextVar[Callable[[], object] | None] = ContextVar("auth0_log_webhooks_sending_gate", default=None)


class Deadline:
    """Bound everything the guarded adapter does inside the ``with`` block to ``seconds`` in total."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._ends_at = 0.0
        self._sockets: list[socket.socket] = []
        self.done = False
        self._lock = threading.Lock()
        self._token: Token[Deadline | None] | None = None
        self._paused = 0

    def __enter__(self) -> Deadline:
        self._ends_at = time.monotonic() + self.seconds
        _WATCHDOG.add(self._ends_at, self)
        self._token = _current.set(self)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
        with self._lock:
            self.done = True
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

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop the clock inside the block: the deadline ends as much later as the block took."""
        began = time.monotonic()
        with self._lock:
            self._paused += 1
        try:
            yield
        finally:
            with self._lock:
                self._paused -= 1
                self._ends_at += time.monotonic() - began
                ends_at = self._ends_at
            _WATCHDOG.add(ends_at, self)  # the entry for the old end is ignored when it comes up (see expire)

    def expire(self) -> None:
        """Mark the deadline passed and shut its sockets down (the watchdog calls this; no-op once done, while
        paused, or before an end that a pause moved later)."""
        with self._lock:
            if self.done or self._paused or time.monotonic() < self._ends_at:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)


class _Watchdog:
    """One daemon thread expiring deadlines in end-time order (restarted in a forked child)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._pid = 0

    def add(self, ends_at: float, deadline: Deadline) -> None:
        with self._cond:
            if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not here
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="auth0-log-webhooks-deadlines", daemon=True).start()
            if len(self._heap) > 1024:  # drop finished deadlines now and then, so the heap stays small
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
            heapq.heappush(self._heap, (ends_at, next(self._order), deadline))
            self._cond.notify()

    def after_fork_in_child(self) -> None:
        """Give a forked child its own lock: the parent's may have been held by the watchdog thread,
        which the child does not have, and every deadline of the child would wait on it forever."""
        self._cond = threading.Condition()
        self._pid = 0  # the child's first deadline starts its own watchdog thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                ends_at, _, deadline = self._heap[0]
                wait = ends_at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            deadline.expire()


_WATCHDOG = _Watchdog()
os.register_at_fork(after_in_child=_WATCHDOG.after_fork_in_child)


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


@contextlib.contextmanager
def sending_gate(gate: Callable[[], object] | None) -> Iterator[None]:
    """Inside the block, every request the guarded adapter sends first runs ``gate()`` (None: no gate), once
    its socket is connected and just before its first byte goes out.

    The gate may wait (that time is not counted against the current deadline) or raise to stop the request
    before anything is sent.
    """
    token = _gate.set(gate)
    try:
        yield
    finally:
        _gate.reset(token)


def before_sending() -> None:
    """Run the current gate, if any, with the current deadline paused (the guarded connection calls this)."""
    gate = _gate.get()
    if gate is None:
        return
    deadline = _current.get()
    with deadline.paused() if deadline is not None else contextlib.nullcontext():
        gate()


def bound_connect_timeout(timeout: Any) -> Any:
    """Return a connect timeout no longer than what is left of the current deadline."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = max(deadline.remaining(), 0.001)
    return left if not isinstance(timeout, int | float) else min(float(timeout), left)


class ActionDeadlineError(TimeoutError):
    """An action bounded by :func:`finish_within` did not finish in time."""


def finish_within(seconds: float, action: Callable[[], T]) -> T:
    """Return ``action()``'s result, or raise what it raised, if it finishes within ``seconds``.

    The action runs in a daemon thread under a :class:`Deadline` of ``seconds``, so its sockets are
    shut down when time is up (a nested attempt deadline of its own takes over while it lasts) and it
    does not linger long after.

    :raises ActionDeadlineError: if it has not finished after ``seconds``.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with Deadline(seconds):
                outcome.append(action())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name="auth0-log-webhooks-bounded-action", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise ActionDeadlineError(f"not finished within {seconds:g} seconds")
    if failure:
        raise failure[0]
    return outcome[0]
