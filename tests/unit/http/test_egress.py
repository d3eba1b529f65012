"""The webhook egress policy, end to end through WebhookHook's real session: what is refused, what goes.

Name resolution is stubbed (tests/network.py) and every connection outside loopback is refused by
the test guard, so "allowed" to a public address shows up as one attempt the guard stopped, and
"refused" means the policy stopped it before any socket reached the address (the guard saw nothing).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from auth0_log_webhooks.hooks.webhook import WebhookHook
from auth0_log_webhooks.http.attempt_deadlines import sending_gate
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import DefineConnection, RawServer
from tests.network import FakeDNS, NetworkGuard

pytestmark = pytest.mark.unit

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"
PRIVATE_NET = {"allow_private_network": True}

ALWAYS_REFUSED = [
    ("169.254.169.254", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("100.100.100.200", "cloud metadata"),
    ("169.254.10.1", "link-local"),
    ("fe80::1", "link-local"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
    ("::", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "reserved or broadcast"),
    ("240.0.0.1", "reserved or broadcast"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("::169.254.169.254", "cloud metadata"),  # IPv4-compatible
    ("::ffff:0:169.254.169.254", "cloud metadata"),  # IPv4-translated
]
PRIVATE = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("fd12:3456::1", "private"),
    ("192.0.2.7", "private"),
    ("::ffff:10.0.0.1", "private"),
    ("64:ff9b::a00:1", "private"),
    ("2002:a00:1::1", "private"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "private"),  # Teredo, client 10.0.0.1
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("::ffff:0:a00:1", "private"),  # IPv4-translated ::ffff:0:10.0.0.1
]


@contextmanager
def refused(match: str) -> Iterator[None]:
    """Expect the egress policy's refusal (imported lazily, so these tests also run, and fail, on main)."""
    with pytest.raises(Exception, match=match) as info:
        yield
    assert info.type.__name__ == "EgressRefusedError"


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def post(airflow_connection: DefineConnection, url: str, extra: dict[str, Any] | None = None) -> requests.Response:
    """Send one POST through the webhook hook's own session, as the sender does."""
    airflow_connection("hook", conn_type="http", host=url, extra=extra or {})
    hook = WebhookHook("hook")
    return hook.get_conn().post(hook.url(), data=b"[]", timeout=2, allow_redirects=False)


@pytest.mark.parametrize(("address", "rule"), ALWAYS_REFUSED)
@pytest.mark.parametrize("extra", [{}, PRIVATE_NET], ids=["default", "allow-private"])
def test_metadata_link_local_and_unroutable_addresses_are_refused_even_when_private_networks_are_allowed(
    airflow_connection: DefineConnection,
    fake_dns: FakeDNS,
    network_guard: NetworkGuard,
    address: Any,
    rule: Any,
    extra: Any,
) -> None:
    fake_dns.add("sneaky.example.com", address)
    for url in (f"https://{_host(address)}/hook", "https://sneaky.example.com/hook"):
        with refused(rf"Refusing https://.*{rule}.*never allowed"):
            post(airflow_connection, url, extra)
    assert network_guard.refused == []  # not one connection attempt, not one byte


@pytest.mark.parametrize(("address", "rule"), PRIVATE)
def test_private_loopback_and_cgnat_addresses_are_refused_by_default_naming_the_url_and_the_rule(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard, address: Any, rule: Any
) -> None:
    fake_dns.add("internal.example.com", address)
    for url in (f"https://{_host(address)}:8443/hook", "https://internal.example.com:8443/hook"):
        with refused(rf"Refusing https://.*:8443/hook: .*{rule}.*allow_private_network"):
            post(airflow_connection, url)
    assert network_guard.refused == []


@pytest.mark.parametrize(("address", "rule"), [p for p in PRIVATE if "loopback" not in p[1]])
def test_private_addresses_are_allowed_when_the_connection_says_so(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard, address: Any, rule: Any
) -> None:
    fake_dns.add("internal.example.com", address)
    with pytest.raises(requests.ConnectionError):  # the test guard stops it: the policy let it through
        post(airflow_connection, "https://internal.example.com/hook", PRIVATE_NET)
    assert [host for host, _ in network_guard.refused] == [address]


@pytest.mark.parametrize("address", [PUBLIC_V4, PUBLIC_V6])
def test_public_addresses_are_allowed_by_literal_and_by_name(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard, address: Any
) -> None:
    fake_dns.add("hooks.example.com", address)
    for url in (f"https://{_host(address)}/hook", "https://hooks.example.com/hook"):
        with pytest.raises(requests.ConnectionError):
            post(airflow_connection, url)
    assert network_guard.refused == [(address, 443), (address, 443)]


def test_a_name_with_one_private_answer_among_public_ones_is_refused(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard
) -> None:
    fake_dns.add("mixed.example.com", [PUBLIC_V4, "10.0.0.7"])
    with refused(r"10\.0\.0\.7 is a private"):
        post(airflow_connection, "https://mixed.example.com/hook")
    assert network_guard.refused == []


def test_dns_rebinding_from_public_to_private_is_caught_at_connect_time(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard
) -> None:
    """The first lookup answers public, every later one private: each connection checks its own answer."""
    fake_dns.add("rebind.example.com", PUBLIC_V4, "169.254.169.254")
    airflow_connection("hook", conn_type="http", host="https://rebind.example.com/hook")
    hook = WebhookHook("hook")
    url, session = hook.url(), hook.get_conn()
    with pytest.raises(requests.ConnectionError):
        session.post(url, data=b"[]", timeout=2)
    with refused("169.254.169.254 is a cloud metadata endpoint"):
        session.post(url, data=b"[]", timeout=2)
    assert network_guard.refused == [(PUBLIC_V4, 443)]
    assert fake_dns.lookups.count("rebind.example.com") == 2


def test_loopback_is_reached_when_allowed_by_literal_and_by_name(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, webhook_sink: SinkHandle
) -> None:
    port = webhook_sink.hook_url.split(":")[2].split("/")[0]
    fake_dns.add("sink.internal.example", "127.0.0.1")
    literal = post(airflow_connection, f"http://127.0.0.1:{port}/hook", PRIVATE_NET)
    named = post(
        airflow_connection, f"http://sink.internal.example:{port}/hook", {**PRIVATE_NET, "allow_insecure_http": True}
    )
    assert (literal.status_code, named.status_code) == (200, 200)


@pytest.mark.parametrize(
    "host",
    ["http://hooks.example.com/hook", "hooks.example.com/hook", "http://evil.example:8080\\@127.0.0.1/hook"],
    ids=["http", "no-scheme", "backslash-userinfo"],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused_unless_allowed(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard, host: str
) -> None:
    fake_dns.add("hooks.example.com", PUBLIC_V4)
    fake_dns.add("evil.example", PUBLIC_V4)
    with refused(r"Refusing http://(hooks|evil)\.example.*plain http.*allow_insecure_http"):
        post(airflow_connection, host)
    with pytest.raises(requests.ConnectionError):
        post(airflow_connection, host, {"allow_insecure_http": True})
    assert [port for _, port in network_guard.refused] == [8080 if "8080" in host else 80]


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw@hooks.example.com/hook",
        "https://hooks_example.com/hook",
        "https://hooks.example.com%2f@x/hook",
        "https://0x7f.1/hook",
        "https://127.1/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://hooks.exämple.com/hook",
        "ftp://hooks.example.com/hook",
        "https:///hook",
        "https://hooks.example.com:0/hook",
    ],
)
def test_urls_outside_the_strict_syntax_are_refused_before_any_lookup(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, url: str
) -> None:
    from auth0_log_webhooks.http.egress import InvalidTargetError

    airflow_connection("hook", conn_type="http", host=url)
    with pytest.raises(InvalidTargetError):
        WebhookHook("hook").url()
    assert fake_dns.lookups == []


@pytest.mark.parametrize("value", ["yes", 1, "maybe", None])
def test_policy_extras_must_be_true_or_false(value: str | int | None) -> None:
    from auth0_log_webhooks.http.egress import EgressPolicy

    with pytest.raises(ValueError, match=r"Connection 'hook': extra allow_private_network must be true or false"):
        EgressPolicy.from_extra({"allow_private_network": value}, "hook")


def test_policy_extras_are_not_sent_as_headers(airflow_connection: DefineConnection, webhook_sink: SinkHandle) -> None:
    response = post(airflow_connection, webhook_sink.hook_url, {**PRIVATE_NET, "allow_insecure_http": "true"})
    (request,) = webhook_sink.requests()
    assert response.status_code == 200
    assert not {"allow_private_network", "allow_insecure_http"} & {name.lower() for name in request["headers"]}


def test_every_always_refused_address_is_classed_forbidden_and_every_private_one_private() -> None:
    from auth0_log_webhooks.http.egress import address_class

    assert {address_class(ipaddress.ip_address(a))[0] for a, _ in ALWAYS_REFUSED} == {"forbidden"}
    assert {address_class(ipaddress.ip_address(a))[0] for a, _ in PRIVATE} == {"private"}
    assert {address_class(ipaddress.ip_address(a))[0] for a in (PUBLIC_V4, PUBLIC_V6)} == {"public"}


def test_through_a_proxy_the_target_is_still_checked_before_anything_is_sent(
    airflow_connection: DefineConnection, fake_dns: FakeDNS, network_guard: NetworkGuard, raw_server: RawServer
) -> None:
    proxy_requests: list[bytes] = []
    proxy = f"http://127.0.0.1:{raw_server(lambda conn, head: proxy_requests.append(head))}"
    fake_dns.add("internal.example.com", "10.0.0.9")
    with refused(r"Refusing https://internal\.example\.com:443/hook: 10\.0\.0\.9 is a private"):
        post(airflow_connection, "https://internal.example.com/hook", {"proxies": {"https": proxy}})
    assert proxy_requests == []
    assert network_guard.refused == []


class Stop(Exception):
    """What a test's sending gate raises to stop a request."""


def test_the_sending_gate_runs_once_connected_just_before_the_first_byte_and_can_stop_the_request(
    airflow_connection: DefineConnection, webhook_sink: SinkHandle
) -> None:
    """The rate cap takes its turn here (after the request is built, signed and connected), and a pause
    found at that moment stops the request with nothing sent."""
    airflow_connection("hook", conn_type="http", host=webhook_sink.hook_url, extra=PRIVATE_NET)
    hook = WebhookHook("hook")
    session = hook.get_conn()
    seen: list[int] = []

    with sending_gate(lambda: seen.append(len(webhook_sink.requests()))):
        assert session.post(hook.url(), data=b"[]", timeout=5, allow_redirects=False).status_code == 200
        assert session.post(hook.url(), data=b"[]", timeout=5, allow_redirects=False).status_code == 200
    assert seen == [0, 1]  # once per request, each time before the sink saw it

    def stop() -> None:
        raise Stop

    with sending_gate(stop), pytest.raises(Stop):
        session.post(hook.url(), data=b"[]", timeout=5, allow_redirects=False)
    assert len(webhook_sink.requests()) == 2
