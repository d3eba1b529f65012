"""Auth0Hook at its boundaries: the token stays with the tenant, hosts parse one way, answers are bounded."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
import requests

from auth0_log_webhooks.hooks.auth0 import Auth0Error, Auth0Hook, RetryPolicy
from tests.builders import log_id
from tests.fakes import Answer, ScriptedAdapter, mount
from tests.fixture_types import DefineConnection, RawServer

pytestmark = pytest.mark.unit

TENANT = "https://acme.eu.auth0.com"
FROM = "900" + "20261126050000" + "0" * 39
TOKEN = Answer(200, {"access_token": "tok-1", "expires_in": 86400})


def page(*numbers: int) -> list[dict[str, Any]]:
    return [{"log_id": log_id(n), "type": "s"} for n in numbers]


@pytest.fixture
def hook(airflow_connection: DefineConnection) -> Auth0Hook:
    airflow_connection("auth0_default", conn_type="auth0", host="acme.eu.auth0.com", login="cid", password="csecret")
    return Auth0Hook(retry=RetryPolicy(give_up_after_seconds=5), sleep=lambda _: None)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/v2/logs?from=1",
        "https://acme.eu.auth0.com:8443/api/v2/logs?from=1",
        "http://acme.eu.auth0.com/api/v2/logs?from=1",
        "https://acme.eu.auth0.com/api/v2/users?from=1",
        "https://acme.eu.auth0.com.evil.example/api/v2/logs",
        "https://evil.example:443\\@acme.eu.auth0.com/api/v2/logs",
        "//evil.example/api/v2/logs",
    ],
    ids=["other-host", "other-port", "downgrade", "other-path", "suffix-host", "backslash", "scheme-relative"],
)
def test_a_next_link_off_the_tenants_logs_endpoint_is_refused_and_the_token_never_leaves(
    hook: Auth0Hook, link: str
) -> None:
    def answer(request: requests.PreparedRequest) -> Answer:
        if str(request.url).endswith("/oauth/token"):
            return TOKEN
        if str(request.url).startswith(f"{TENANT}/api/v2/logs?"):
            return Answer(200, page(1, 2), {"Link": f'<{link}>; rel="next"'})
        return Answer(401)  # a hostile host asks for a fresh token: it must never get to ask

    adapter = mount(hook.get_conn(), ScriptedAdapter(respond=answer))
    pages = hook.iter_log_pages(FROM, take=2)
    assert next(pages) == page(1, 2)  # what was read before the bad link is still delivered
    with pytest.raises(Auth0Error, match=r"next page link .* not the tenant's logs endpoint"):
        next(pages)
    assert all(str(r.url).startswith(f"{TENANT}/") for r in adapter.requests)
    assert len(adapter.requests) == 2  # one token, one page: no request to the link, no token refresh


def test_a_next_link_on_the_same_endpoint_with_a_default_port_is_followed(hook: Auth0Hook) -> None:
    link = "https://ACME.eu.auth0.com:443/api/v2/logs?from=" + log_id(2)
    adapter = mount(
        hook.get_conn(),
        ScriptedAdapter(TOKEN, Answer(200, page(1, 2), {"Link": f'<{link}>; rel="next"'}), Answer(200, page(3))),
    )
    assert [len(p) for p in hook.iter_log_pages(FROM, take=2)] == [2, 1]
    assert adapter.requests[-1].url == link.replace("ACME", "acme")


@pytest.mark.parametrize(
    "host",
    ["evil.example:8080\\@127.0.0.1", "evil.example:8080@127.0.0.1", "127.0.0.1/../evil", "evil.example#@127.0.0.1"],
)
def test_a_host_that_hides_another_host_is_refused_even_for_http_to_loopback(
    airflow_connection: DefineConnection, host: str
) -> None:
    airflow_connection("auth0_tricky", conn_type="auth0", host=host, login="a", password="b", extra={"scheme": "http"})
    with pytest.raises(ValueError, match=r"'auth0_tricky'"):
        _ = Auth0Hook("auth0_tricky").base_url


def test_a_body_over_the_cap_is_refused_rather_than_read_whole(hook: Auth0Hook) -> None:
    big = [{"log_id": log_id(n), "type": "s", "description": "x" * 200_000} for n in range(1, 101)]  # ~20 MB
    mount(hook.get_conn(), ScriptedAdapter(TOKEN, Answer(200, big)))
    with pytest.raises(Auth0Error, match=r"answered more than 16 MiB"):
        list(hook.iter_log_pages(FROM))


@pytest.mark.parametrize("body", ["<html>502</html>", "", '{"access_token": 5}', "[1,2]"])
def test_a_token_answer_that_is_not_a_token_is_a_clear_error(hook: Auth0Hook, body: str) -> None:
    mount(hook.get_conn(), ScriptedAdapter(Answer(200, body)))
    with pytest.raises(
        Auth0Error, match=r"oauth/token answered 200 with a body that is not JSON|answered no access_token"
    ):
        hook.access_token()


def drip_token(conn: socket.socket, head: bytes) -> None:
    """Answer with one header line every 0.3 s for 6 s, then a token."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    for n in range(20):
        time.sleep(0.3)
        conn.sendall(f"X-Drip-{n}: x\r\n".encode())
    body = json.dumps({"access_token": "t", "expires_in": 60}).encode()
    conn.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def dripping_tenant(raw_server: RawServer) -> int:
    """A raw tenant on 127.0.0.1 whose every answer drips for 6 s (tests/network.py)."""
    return raw_server(drip_token)


def test_each_attempt_on_the_tenant_has_a_total_deadline(
    airflow_connection: DefineConnection, dripping_tenant: int
) -> None:
    airflow_connection(
        "auth0_slow",
        conn_type="auth0",
        host="127.0.0.1",
        port=dripping_tenant,
        login="a",
        password="b",
        extra={"scheme": "http"},
    )
    hook = Auth0Hook(
        "auth0_slow", retry=RetryPolicy(give_up_after_seconds=0.5, timeout_seconds=1), sleep=lambda _: None
    )
    started = time.monotonic()
    with pytest.raises(Auth0Error, match=r"gave up after 0s: no complete answer within 1s"):
        hook.access_token()
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"one 1-second attempt took {elapsed:.1f}s"  # without a total deadline: 6 s
