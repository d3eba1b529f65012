"""The pipeline at its boundaries: no secret in dead letters, no delivery to a refused destination."""

from __future__ import annotations

import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import DefineConnection, RawServer, RunPipeline, TenantFactory, WireConnections

pytestmark = pytest.mark.integration

AUTHORIZATION = "Bearer dead-letter-credential-0123456789"


def echo_request_in_a_400(conn: socket.socket, head: bytes) -> None:
    """Refuse every request with a 400 whose body is the request's head (its Authorization included)."""
    body = b'{"error": "bad request", "you_sent": ' + repr(head).encode() + b"}"
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def test_a_receiver_echoing_the_authorization_header_leaves_no_secret_in_the_dead_letters(
    auth0_tenant_factory: TenantFactory,
    raw_server: RawServer,
    wire_connections: WireConnections,
    signing_secret: str,
    run_pipeline: RunPipeline,
    tmp_path: Path,
) -> None:
    tenant = auth0_tenant_factory(logs=30, seed=5, rate_limit_per_minute=0)
    receiver = SimpleNamespace(hook_url=f"http://127.0.0.1:{raw_server(echo_request_in_a_400)}/hook")
    wire_connections(tenant, receiver, secret=signing_secret, authorization=AUTHORIZATION)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    letters = list((tmp_path / "dead").rglob("*.json"))
    assert letters, "the refused batches were kept"
    texts = [path.read_text() for path in letters]
    assert all('"last_status": 400' in text and "bad request" in text for text in texts)
    for secret in (AUTHORIZATION, AUTHORIZATION.split()[1], signing_secret, tenant.client_secret):
        assert not any(secret in text for text in texts)


def test_a_webhook_on_a_private_address_fails_the_delivery_naming_the_url_and_sends_nothing(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    airflow_connection: DefineConnection,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    """Without allow_private_network the sink on 127.0.0.1 is refused; the checkpoint does not move."""
    from auth0_log_webhooks.http.egress import EgressRefusedError

    tenant = auth0_tenant_factory(logs=30, seed=6, rate_limit_per_minute=0)
    wire_connections(tenant, webhook_sink)
    airflow_connection("auth0_webhook_default", conn_type="http", host=webhook_sink.hook_url)  # no extras

    with pytest.raises(EgressRefusedError, match=r"Refusing http://127\.0\.0\.1:\d+/hook: .*allow_private_network"):
        run_pipeline()

    assert webhook_sink.requests() == []
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) is None
