"""Webhook receivers that misbehave on purpose: slow drips, endless headers, secrets in error pages.

Each receiver is a raw socket server on 127.0.0.1 (the sink is too well behaved for this).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from auth0_log_webhooks.delivery.payloads import encode
from auth0_log_webhooks.delivery.sender import WebhookSender, open_sender
from auth0_log_webhooks.pipelines.config import PipelineConfig
from tests.builders import log_id
from tests.fixture_types import DefineConnection, Handler, RawServer

pytestmark = pytest.mark.unit

TOKEN = "Bearer tok-0123456789abcdef"


Receiver = Callable[[Handler], str]


@pytest.fixture
def receiver(raw_server: RawServer) -> Receiver:
    """Start a raw receiver (tests/network.py) running ``handle(connection)``; return its webhook URL."""
    return lambda handle: f"http://127.0.0.1:{raw_server(handle)}/hook"


def sender_for(airflow_connection: DefineConnection, url: str, timeout: float) -> WebhookSender:
    airflow_connection(
        "hostile",
        conn_type="http",
        host=url,
        password=TOKEN,
        extra={"timeout": timeout, "allow_private_network": "true"},
    )
    return open_sender("hostile", PipelineConfig(max_attempts=1), sleep=lambda _: None)


def drip_headers(conn: socket.socket, head: bytes) -> None:
    """Send a status line, then one header line every 0.3 s for 6 s: every read is quick, the answer endless."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for n in range(20):
        time.sleep(0.3)
        conn.sendall(f"X-Drip-{n}: x\r\n".encode())
    conn.sendall(b"Content-Length: 0\r\n\r\n")


def test_a_receiver_dripping_headers_cannot_hold_an_attempt_past_its_timeout(
    airflow_connection: DefineConnection, receiver: Receiver
) -> None:
    sender = sender_for(airflow_connection, receiver(drip_headers), timeout=1)
    started = time.monotonic()
    (failure,) = sender.send(encode([{"log_id": log_id(1), "type": "s"}]))
    elapsed = time.monotonic() - started
    assert failure.last.error == "no answer within 1s"
    assert elapsed < 3, f"one 1-second attempt took {elapsed:.1f}s"  # without a total deadline: 6 s


def test_a_403_page_full_of_keys_and_the_echoed_token_is_kept_redacted(
    airflow_connection: DefineConnection, receiver: Receiver
) -> None:
    body = (
        b'{"error": "forbidden", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", '
        b'"echo": {"authorization": "' + TOKEN.encode() + b'"}, "hint": "AKIAIOSFODNN7EXAMPLE", '
        b'"debug": "token tok-0123456789abcdef; api_key=abc123456"}'
    )

    def forbid(conn: socket.socket, head: bytes) -> None:
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    sender = sender_for(airflow_connection, receiver(forbid), timeout=5)
    (failure,) = sender.send(encode([{"log_id": log_id(1), "type": "s"}]))
    kept = failure.last.body_excerpt
    assert failure.last.status == 403
    assert '"error": "forbidden"' in kept
    for secret in ("wJalrXUtnFEMI", "tok-0123456789abcdef", "AKIAIOSFODNN7EXAMPLE", "abc123456"):
        assert secret not in kept


def test_a_receiver_that_answers_nothing_after_accepting_is_bounded_by_the_timeout(
    airflow_connection: DefineConnection, receiver: Receiver
) -> None:
    sender = sender_for(airflow_connection, receiver(lambda conn, head: time.sleep(5)), timeout=0.5)
    started = time.monotonic()
    (failure,) = sender.send(encode([{"log_id": log_id(1), "type": "s"}]))
    assert failure.last.error == "no answer within 0.5s"
    assert time.monotonic() - started < 3
