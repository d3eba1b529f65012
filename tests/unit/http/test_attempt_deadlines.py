"""Deadlines: a watched socket is shut down when its deadline passes, never after its block ends."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from typing import NoReturn

import pytest

from auth0_log_webhooks.http import attempt_deadlines
from auth0_log_webhooks.http.attempt_deadlines import (
    Deadline,
    before_sending,
    bound_connect_timeout,
    sending_gate,
    watch_socket,
)

pytestmark = pytest.mark.unit


def test_a_blocked_read_on_a_watched_socket_returns_when_the_deadline_passes() -> None:
    left, right = socket.socketpair()
    with left, right, Deadline(0.3) as deadline:
        watch_socket(left)
        started = time.monotonic()
        assert left.recv(10) == b""  # nothing was ever sent: only the shutdown ends this read
        assert 0.2 < time.monotonic() - started < 2
        assert deadline.expired


def test_the_time_a_sending_gate_waits_is_not_counted_against_the_deadline() -> None:
    """The rate cap's last check may wait for its turn inside the connection; the attempt's own time
    (connect, headers, body) is what the deadline bounds, so a capped receiver causes no timeouts."""
    left, right = socket.socketpair()
    with left, right, Deadline(0.3) as deadline:
        watch_socket(left)
        with sending_gate(lambda: time.sleep(0.5)):  # the gate's wait: longer than the whole deadline
            before_sending()
        right.sendall(b"ok")
        assert left.recv(10) == b"ok"
        assert not deadline.expired


def test_a_deadline_paused_by_a_gate_ends_its_remaining_time_later() -> None:
    left, right = socket.socketpair()
    with left, right, Deadline(0.3) as deadline:
        watch_socket(left)
        started = time.monotonic()
        with sending_gate(lambda: time.sleep(0.2)):
            before_sending()
        assert left.recv(10) == b""  # nothing was sent: only the (later) shutdown ends this read
        assert 0.45 < time.monotonic() - started < 3
        assert deadline.expired


def test_outside_a_sending_gate_before_sending_does_nothing_and_a_gate_ends_with_its_block() -> None:
    ran: list[str] = []
    before_sending()
    with sending_gate(lambda: ran.append("gate")):
        before_sending()
        with sending_gate(None):  # e.g. an OAuth2 token request inside the receiver's attempt
            before_sending()
    before_sending()
    assert ran == ["gate"]


def test_a_deadline_that_ended_in_time_never_touches_its_sockets_afterwards() -> None:
    left, right = socket.socketpair()
    with left, right:
        with Deadline(0.2) as deadline:
            watch_socket(left)
        time.sleep(0.4)
        right.sendall(b"ok")
        assert left.recv(10) == b"ok"
        assert not deadline.expired


def test_outside_a_deadline_sockets_are_not_watched_and_connect_timeouts_are_unchanged() -> None:
    left, right = socket.socketpair()
    with left, right:
        watch_socket(left)
        right.sendall(b"ok")
        assert left.recv(10) == b"ok"
    assert bound_connect_timeout(30.0) == 30.0
    with Deadline(1.0):
        assert bound_connect_timeout(30.0) <= 1.0


def in_child_a_deadline_fires() -> NoReturn:
    """In a forked child: exit 0 if a deadline ends a blocked read, 1 if not; SIGALRM after 20 s if it hangs."""
    code = 1
    try:
        signal.alarm(20)  # a child that hangs is killed (exit -14) instead of hanging the suite
        left, _right = socket.socketpair()
        left.settimeout(5)
        with Deadline(0.2):
            watch_socket(left)
            code = 0 if left.recv(10) == b"" else 1
    finally:
        os._exit(code)  # never return into the parent's pytest


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_deadlines_still_fire_in_a_forked_child() -> None:
    with Deadline(0.01):  # the parent's watchdog thread is running now
        pass
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread did not come along
        in_child_a_deadline_fires()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_the_watchdog_held_its_lock_still_gets_deadlines() -> None:
    """The watchdog thread holds its lock for an instant at each wake-up; a fork then (likelier on a
    loaded machine) gave the child a lock held by a thread it does not have: its first deadline hung."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with attempt_deadlines._WATCHDOG._cond:  # as the watchdog thread does
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(30)
    pid = os.fork()
    if pid == 0:
        in_child_a_deadline_fires()
    release.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child's deadline never fired (-14: it hung)"
