"""WebhookHook: the original's Authorization semantics, extra headers, secrets kept out of requests."""

import base64
import os
from typing import Any

import pytest
import requests

from auth0_log_webhooks.hooks.webhook import WebhookHook
from tests.fakes import Answer, ScriptedAdapter, Stall, body_text, mount
from tests.fixture_types import DefineConnection

pytestmark = pytest.mark.unit

URL = "https://hooks.example.com/auth0"


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def post_once(hook: WebhookHook) -> requests.PreparedRequest:
    """Send one request through the hook's session and return what went over the wire."""
    session = hook.get_conn()
    adapter = mount(session, ScriptedAdapter(Answer(204)))
    session.post(hook.url(), data=b"[]")
    (request,) = adapter.requests
    return request


def test_the_password_is_the_authorization_header_verbatim_when_there_is_no_login(
    airflow_connection: DefineConnection,
) -> None:
    airflow_connection("auth0_webhook_default", conn_type="http", host=URL, password="Bearer s3cr3t-token")
    request = post_once(WebhookHook())
    assert request.url == URL
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"


def test_login_and_password_are_basic_auth(airflow_connection: DefineConnection) -> None:
    airflow_connection("hook", conn_type="http", host=URL, login="user", password="pa:ss")
    request = post_once(WebhookHook("hook"))
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pa:ss").decode()


def test_no_authorization_header_is_sent_when_the_connection_has_no_credentials(
    airflow_connection: DefineConnection,
) -> None:
    airflow_connection("hook", conn_type="http", host=URL)
    assert "Authorization" not in post_once(WebhookHook("hook")).headers


def test_extras_become_headers_but_signing_secrets_and_options_are_never_sent(
    airflow_connection: DefineConnection,
) -> None:
    extra: dict[str, Any] = {
        "X-Api-Key": "k-123",
        "X-Tenant": "acme",
        "signing_secret": new_secret(),
        "signing_secrets": new_secret(),
        "timeout": 5,
        "verify": True,
    }
    airflow_connection("hook", conn_type="http", host=URL, extra=extra)
    headers = post_once(WebhookHook("hook")).headers
    assert (headers["X-Api-Key"], headers["X-Tenant"]) == ("k-123", "acme")
    sent = {name.lower() for name in headers}
    assert not sent & {"signing_secret", "signing_secrets", "timeout", "verify"}
    assert not any(extra["signing_secret"] in value or extra["signing_secrets"] in value for value in headers.values())


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"host": URL}, URL),
        ({"host": "https://hooks.example.com/auth0?token=abc"}, "https://hooks.example.com/auth0?token=abc"),
        (
            {"host": "127.0.0.1", "port": 8088, "schema": "http", "extra": {"allow_private_network": True}},
            "http://127.0.0.1:8088",
        ),
    ],
    ids=["full-url", "with-query", "host-and-port"],
)
def test_url_is_the_webhook_address_of_the_connection(
    airflow_connection: DefineConnection, fields: dict[str, Any], url: Any
) -> None:
    airflow_connection("hook", conn_type="http", **fields)
    assert WebhookHook("hook").url() == url


@pytest.mark.parametrize(("extra", "seconds"), [({}, 30.0), ({"timeout": 7.5}, 7.5), ({"timeout": "12"}, 12.0)])
def test_timeout_defaults_to_30_seconds_or_reads_the_extra(
    airflow_connection: DefineConnection, extra: dict[str, Any], seconds: float
) -> None:
    airflow_connection("hook", conn_type="http", host=URL, extra=extra)
    assert WebhookHook("hook").timeout() == seconds


def test_a_timeout_that_is_not_a_number_is_refused_naming_the_connection(airflow_connection: DefineConnection) -> None:
    airflow_connection("hook", conn_type="http", host=URL, extra={"timeout": "soon"})
    with pytest.raises(ValueError, match="Connection 'hook': extra timeout must be a number"):
        WebhookHook("hook").timeout()


OLD, NEW = new_secret(), new_secret()


@pytest.mark.parametrize(
    ("extra", "secrets"),
    [
        ({}, []),
        ({"signing_secret": OLD}, [OLD]),
        ({"signing_secret": f" {OLD}  {NEW} "}, [OLD, NEW]),
        ({"signing_secret": f"{OLD},{NEW}"}, [OLD, NEW]),
        ({"signing_secrets": [OLD, NEW]}, [OLD, NEW]),
    ],
    ids=["none", "one", "space-separated", "comma-separated", "list"],
)
def test_signing_secrets_are_read_from_the_extra(
    airflow_connection: DefineConnection, extra: dict[str, Any], secrets: list[Any]
) -> None:
    airflow_connection("hook", conn_type="http", host=URL, extra=extra)
    assert WebhookHook("hook").signing_secrets() == secrets


@pytest.mark.parametrize(
    "bad",
    ["s3cr3t-but-no-prefix-at-all", "whsec_short", "whsec_not*base64*at*all*not*base64"],
    ids=["no-prefix", "too-short", "not-base64"],
)
def test_a_malformed_signing_secret_is_refused_naming_the_connection_not_the_secret(
    airflow_connection: DefineConnection, bad: str
) -> None:
    airflow_connection("hook", conn_type="http", host=URL, extra={"signing_secret": f"{OLD} {bad}"})
    with pytest.raises(ValueError, match="Connection 'hook': a signing secret is not 'whsec_'") as info:
        WebhookHook("hook").signing_secrets()
    assert bad not in str(info.value)
    assert OLD not in str(info.value)


# -- the Test button -----------------------------------------------------------------------------


def scripted(hook: WebhookHook, monkeypatch: pytest.MonkeyPatch, *answers: Answer) -> ScriptedAdapter:
    """Route the hook's sessions to a scripted adapter (test_connection opens its own session)."""
    session = hook.get_conn()
    adapter = mount(session, ScriptedAdapter(*answers))
    monkeypatch.setattr(hook, "get_conn", lambda *args, **kwargs: session)
    return adapter


@pytest.mark.parametrize("conn_type", ["auth0_webhook", "http"])
def test_the_test_button_sends_a_signed_empty_batch_marked_as_a_test(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch, conn_type: str
) -> None:
    from standardwebhooks.webhooks import Webhook

    secret = new_secret()
    airflow_connection("hook", conn_type=conn_type, host=URL, password="Bearer t", extra={"signing_secret": secret})
    hook = WebhookHook("hook")
    adapter = scripted(hook, monkeypatch, Answer(204))

    ok, message = hook.test_connection()

    assert (ok, message) == (
        True,
        "The webhook answered HTTP 204 to a test request (signed with 1 secret, an empty batch).",
    )
    (request,) = adapter.requests
    assert (request.method, request.url, request.body) == ("POST", URL, b"[]")
    assert request.headers["x-auth0-log-webhooks-test"] == "true"
    assert request.headers["Authorization"] == "Bearer t"
    assert Webhook(secret).verify(body_text(request), dict(request.headers)) == []


def test_the_test_button_fails_with_the_status_when_the_webhook_refuses(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_connection("hook", conn_type="auth0_webhook", host=URL)
    hook = WebhookHook("hook")
    scripted(hook, monkeypatch, Answer(410))
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("The webhook answered HTTP 410 to a test request (unsigned, an empty batch); it must")


def test_the_test_button_names_a_bad_secret_without_showing_it(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_connection("hook", conn_type="auth0_webhook", host=URL, extra={"signing_secret": "not-a-secret-value"})
    hook = WebhookHook("hook")
    adapter = scripted(hook, monkeypatch, Answer(204))
    ok, message = hook.test_connection()
    assert not ok
    assert "'hook'" in message
    assert "not-a-secret-value" not in message
    assert adapter.requests == []


def test_the_test_button_turns_an_egress_refusal_into_a_sentence_naming_the_extra(
    airflow_connection: DefineConnection,
) -> None:
    airflow_connection("hook", conn_type="auth0_webhook", host="https://10.1.2.3/hook")
    ok, message = WebhookHook("hook").test_connection()
    assert not ok
    assert message.startswith("Connection 'hook': Refusing https://10.1.2.3:443/hook: 10.1.2.3 is a private")
    assert message.endswith(
        'turn on "Allow a private network address" in the connection (extra allow_private_network).'
    )


def test_the_test_button_answers_within_its_total_deadline_when_the_webhook_stalls(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("auth0_log_webhooks.hooks.webhook.TEST_SECONDS", 0.5)
    airflow_connection("hook", conn_type="auth0_webhook", host=URL)
    hook = WebhookHook("hook")
    stall = Stall(Answer(200))
    session = hook.get_conn()
    mount(session, stall.adapter)
    monkeypatch.setattr(hook, "get_conn", lambda *args, **kwargs: session)
    answer, seconds = stall.timed(hook.test_connection)
    assert seconds < 10
    assert answer == (
        False,
        "The webhook of connection 'hook' gave no complete answer within 0.5 seconds; check the URL and that the "
        "receiver answers an empty batch quickly.",
    )


def test_the_test_button_turns_an_unexpected_error_into_a_sentence(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    airflow_connection("hook", conn_type="auth0_webhook", host=URL)
    hook = WebhookHook("hook")
    scripted(hook, monkeypatch, Answer(raises=RuntimeError("boom")))
    assert hook.test_connection() == (
        False,
        "Testing connection 'hook' failed unexpectedly (RuntimeError); the API server's log has the details.",
    )
