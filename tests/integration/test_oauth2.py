"""OAuth2 client credentials to the receiver, over real HTTP against the sink's token endpoint.

One token request per token lifetime and process, a new token once on a 401 (the receiver rotated
its key) and never a loop, the webhook connection's fields, and the token kept out of logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from auth0_log_webhooks.delivery.payloads import encode
from auth0_log_webhooks.delivery.sender import DeliveryPolicy, WebhookSender
from auth0_log_webhooks.hooks.webhook import WebhookHook
from auth0_log_webhooks.http.oauth2 import ClientCredentials, ClientCredentialsAuth, TokenError, forget_tokens
from auth0_log_webhooks.pipelines.config import PipelineConfig
from dev.auth0_tenant.testing import EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import RunPipeline

pytestmark = pytest.mark.integration

CLIENT = ("receiver-client", "receiver-client-secret-0123456789")
LOG_ID = "900" + "20261126050000" + "0" * 39


@pytest.fixture(autouse=True)
def no_cached_tokens() -> Any:
    forget_tokens()
    yield
    forget_tokens()


@pytest.fixture
def oauth_sink(webhook_sink_factory: Callable[..., SinkHandle]) -> SinkHandle:
    return webhook_sink_factory(oauth2_client=CLIENT, oauth2_token_seconds=3600.0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def sender_with(sink: SinkHandle, clock: Clock, client: tuple[str, str] = CLIENT) -> WebhookSender:
    session = requests.Session()
    credentials = ClientCredentials(sink.token_url, client[0], client[1], scope="logs:write")
    session.auth = ClientCredentialsAuth(credentials, session, clock=clock)
    return WebhookSender(session, sink.hook_url, (), DeliveryPolicy.from_config(PipelineConfig(max_attempts=1), 10))


def message(n: int = 0) -> Any:
    return encode([{"log_id": LOG_ID[:-3] + f"{n:03d}", "type": "s"}])


def test_one_token_request_per_token_lifetime(oauth_sink: SinkHandle) -> None:
    clock = Clock()
    sender = sender_with(oauth_sink, clock)

    for n in range(5):
        assert sender.send(message(n)) == []
    assert oauth_sink.token_requests() == 1

    clock.now += 3600 - 61  # still more than the refresh margin (60 s) before expiry
    assert sender.send(message(5)) == []
    assert oauth_sink.token_requests() == 1

    clock.now += 2  # within the last minute of the token's life: renewed before it expires
    assert sender.send(message(6)) == []
    assert oauth_sink.token_requests() == 2
    assert oauth_sink.summary()["statuses"] == {"200": 7}


def test_a_401_after_the_receiver_rotated_its_key_gets_one_new_token_and_the_message_through(
    oauth_sink: SinkHandle,
) -> None:
    sender = sender_with(oauth_sink, Clock())
    assert sender.send(message(1)) == []
    oauth_sink.rotate_key()

    assert sender.send(message(2)) == []

    summary = oauth_sink.summary()
    assert oauth_sink.token_requests() == 2
    assert summary["statuses"] == {"200": 2, "401": 1}
    assert sender.requests_sent == 2  # the resend is part of the same attempt, not a retry


def test_a_receiver_that_refuses_every_token_gets_one_renewal_and_no_loop(oauth_sink: SinkHandle) -> None:
    sender = sender_with(oauth_sink, Clock())
    oauth_sink.add_fault(status=401)  # every delivery, whatever the token

    (failure,) = sender.send(message(1))

    assert failure.last.status == 401
    summary = oauth_sink.summary()
    assert summary["statuses"] == {"401": 2}  # the request, and one resend with a new token
    assert oauth_sink.token_requests() == 2


def test_a_refused_client_names_the_token_endpoint_and_the_status_never_the_secret(oauth_sink: SinkHandle) -> None:
    sender = sender_with(oauth_sink, Clock(), client=(CLIENT[0], "a-wrong-secret-0123456789"))

    (failure,) = sender.send(message(1))

    assert f"token endpoint {oauth_sink.token_url} answered HTTP 401 for client 'receiver-client'" in failure.reason
    assert "wrong-secret" not in failure.reason
    assert oauth_sink.summary()["requests"] == 0  # nothing was sent without a token
    with pytest.raises(TokenError):
        ClientCredentialsAuth(
            ClientCredentials(oauth_sink.token_url, CLIENT[0], "nope-0123456789"), requests.Session()
        ).token()


def test_a_pipeline_run_uses_the_connections_oauth2_fields_and_keeps_the_token_out_of_its_logs(
    auth0_tenant_factory: Callable[..., EmulatorHandle],
    oauth_sink: SinkHandle,
    wire_connections: Callable[..., None],
    airflow_connection: Callable[..., None],
    run_pipeline: RunPipeline,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenant = auth0_tenant_factory(logs=250, seed=5, rate_limit_per_minute=0)
    wire_connections(tenant, oauth_sink)
    extra = {
        "allow_private_network": "true",
        "oauth2_token_url": oauth_sink.token_url,
        "oauth2_client_id": CLIENT[0],
        "oauth2_client_secret": CLIENT[1],
        "oauth2_audience": "https://logs.example.com",
    }
    airflow_connection("auth0_webhook_default", conn_type="auth0_webhook", host=oauth_sink.hook_url, extra=extra)

    with caplog.at_level(logging.DEBUG):
        outcome = run_pipeline()

    assert outcome.error is None
    summary = oauth_sink.summary()
    assert summary["statuses"] == {"200": len(outcome.plan["batches"])}
    assert oauth_sink.token_requests() == 1  # every delivery task of this process shares the token
    (authorization,) = {r["headers"]["authorization"] for r in oauth_sink.requests()}
    assert authorization.startswith("Bearer ")
    token = authorization.removeprefix("Bearer ")
    assert token not in caplog.text
    assert CLIENT[1] not in caplog.text
    assert all(CLIENT[1] not in json.dumps(r["headers"]) for r in oauth_sink.requests())


def test_a_connection_with_a_token_url_but_no_secret_says_which_field_is_missing(
    airflow_connection: Callable[..., None],
) -> None:
    extra = {"oauth2_token_url": "https://auth.example.com/oauth/token", "oauth2_client_id": "c"}
    airflow_connection("half_oauth", conn_type="auth0_webhook", host="https://hooks.example.com/x", extra=extra)
    with pytest.raises(ValueError, match="has an OAuth2 token URL but no client secret; set both"):
        WebhookHook("half_oauth").get_conn()
