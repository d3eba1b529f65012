"""Property tests of every parser of outside input: whatever arrives, a value or a clear, typed error.

Outside input here is what a tenant, a receiver or a person typing into a form controls: log pages
and their Link headers, connection hosts and extras, replay entry ids. (Retry-After and rate-limit
headers: tests/unit/http/test_headers.py; response excerpts: tests/unit/http/test_redaction.py.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.delivery.dead_letters import InvalidEntryError
from auth0_log_webhooks.hooks.auth0 import Auth0Error, Auth0Hook, RetryPolicy, _settings_from
from auth0_log_webhooks.http.egress import EgressPolicy, InvalidTargetError, parse_target
from auth0_log_webhooks.http.headers import next_link
from auth0_log_webhooks.log_ids import InvalidCheckpointError
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.staging import MalformedLogError, _checked
from auth0_log_webhooks.steps.replay import checked_entries
from tests.fakes import Answer, ScriptedAdapter, mount

pytestmark = pytest.mark.unit

FROM = "900" + "20261126050000" + "0" * 39
TENANT = "https://acme.eu.auth0.com"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
LOG_ID = st.integers(1, 10**6).map(lambda n: "900" + "20261126050000" + f"{n:039d}")
LOGISH = st.fixed_dictionaries({"log_id": LOG_ID | st.text(max_size=60) | JSON}, optional={"type": st.text(max_size=5)})
PAGE_BODY = st.lists(LOGISH | JSON, max_size=6) | JSON | st.binary(max_size=60)
LINK = st.text(max_size=200) | st.builds(
    lambda url, rel: f'<{url}>; rel="{rel}"',
    st.sampled_from([f"{TENANT}/api/v2/logs?from=1", "https://evil.example/x", "http://acme.eu.auth0.com/api/v2/logs"])
    | st.text(max_size=60),
    st.sampled_from(["next", "prev", "next last", ""]),
)


def outcome(call: Callable[[], Any], *errors: type[Exception]) -> tuple[Any, str]:
    """Return ``(value, "")`` or ``(None, message)`` if ``call`` raised one of ``errors``."""
    try:
        return call(), ""
    except errors as exc:
        return None, str(exc) or type(exc).__name__


@pytest.fixture(scope="module")
def hook_factory() -> Iterator[Callable[[], Auth0Hook]]:
    """Hooks on a fake tenant (a module fixture: hypothesis runs each example without new fixtures)."""
    env = {
        "AIRFLOW_CONN_AUTH0_DEFAULT": json.dumps(
            {"conn_type": "auth0", "host": "acme.eu.auth0.com", "login": "c", "password": "s"}
        )
    }
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    yield lambda: Auth0Hook(retry=RetryPolicy(give_up_after_seconds=1), sleep=lambda _: None)
    mp.undo()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bodies=st.lists(PAGE_BODY, min_size=1, max_size=3), links=st.lists(LINK, min_size=3, max_size=3))
def test_any_log_pages_and_link_headers_yield_pages_of_logs_or_a_clear_error(
    hook_factory: Callable[[], Auth0Hook], bodies: list[Any], links: list[Any]
) -> None:
    hook = hook_factory()
    answers = [Answer(200, {"access_token": "t", "expires_in": 60})]
    answers += [Answer(200, body, {"Link": link}) for body, link in zip(bodies, links, strict=False)]
    answers += [Answer(200, [])] * 3
    adapter = mount(hook.get_conn(), ScriptedAdapter(*answers))
    logs, message = outcome(
        lambda: [item for _, item in _checked(hook.iter_log_pages(FROM, take=2), FROM)],
        Auth0Error,
        InvalidCheckpointError,
        MalformedLogError,
    )
    assert message or all(isinstance(item, dict) for item in logs)
    assert all(str(r.url).startswith(f"{TENANT}/") for r in adapter.requests)  # the token never left the tenant


@given(st.text(max_size=300))
def test_any_link_header_gives_none_or_a_url(value: str) -> None:
    url = next_link({"link": value})
    assert url is None or (isinstance(url, str) and url)


@given(st.text(max_size=120))
def test_any_url_parses_to_a_strict_target_or_is_refused_with_a_reason(url: str) -> None:
    target, message = outcome(lambda: parse_target(url), InvalidTargetError)
    if message:
        return
    assert target.scheme in ("http", "https")
    assert 0 < target.port < 65536
    assert all(c.isalnum() or c in ".-:" for c in target.host)
    assert parse_target(str(target)).endpoint() == target.endpoint()


HOSTS = st.text(max_size=60) | st.sampled_from(
    ["acme.eu.auth0.com", "127.0.0.1", "localhost", "[::1]", "evil.example:80\\@127.0.0.1", "a@b", "x/y", "h:99"]
)


@given(
    host=HOSTS,
    port=st.none() | st.integers(-5, 70000),
    scheme=st.none() | st.sampled_from(["http", "https", "HTTP", "ftp", ""]),
    extra=st.dictionaries(st.sampled_from(["audience", "scheme", "x"]), JSON, max_size=2),
)
def test_any_auth0_connection_is_settings_for_one_host_or_an_error_naming_it(
    host: Any, port: int | None, scheme: str | None, extra: dict[Any, Any]
) -> None:
    if scheme is not None:
        extra = {**extra, "scheme": scheme}
    conn = SimpleNamespace(host=host, port=port, login="cid", password="secret", extra_dejson=extra)
    settings_, message = outcome(lambda: _settings_from(conn, "fuzzed"), ValueError)
    if message:
        assert "'fuzzed'" in message
        return
    target = parse_target(settings_["base_url"])
    assert target.path in ("", "/")
    assert target.scheme == "https" or target.is_loopback_host


@given(st.dictionaries(st.sampled_from(["allow_private_network", "allow_insecure_http", "other"]), JSON, max_size=3))
def test_any_policy_extras_are_booleans_or_an_error_naming_the_extra(extra: dict[Any, Any]) -> None:
    policy, message = outcome(lambda: EgressPolicy.from_extra(extra, "fuzzed"), ValueError)
    if message:
        assert "Connection 'fuzzed': extra allow_" in message
        return
    assert isinstance(policy.allow_private_network, bool)
    assert isinstance(policy.allow_insecure_http, bool)


ENTRY = st.text(max_size=80) | st.builds(
    lambda pipe, tail: f"{pipe}/{tail}",
    st.sampled_from([AUTHENTICATION_API.dag_id, "other", "..", ""]),
    st.text("msg_0123456789abcdef./", max_size=50),
)


@given(st.lists(ENTRY | JSON, max_size=4))
def test_any_replay_entries_are_ids_of_the_chosen_pipeline_or_refused(entries: list[Any]) -> None:
    checked, message = outcome(lambda: checked_entries(AUTHENTICATION_API, entries), InvalidEntryError)
    if message:
        assert "dead letter entr" in message
        return
    for entry in checked:
        pipeline, webhook_id = entry.split("/")
        assert pipeline == AUTHENTICATION_API.dag_id
        assert len(webhook_id) == 44


@settings(max_examples=60)
@given(
    host=HOSTS | st.builds(lambda s, h: f"{s}://{h}/hook", st.sampled_from(["http", "https", "ftp"]), HOSTS),
    extra=st.dictionaries(
        st.sampled_from(["allow_private_network", "allow_insecure_http", "timeout"]), JSON, max_size=3
    ),
)
def test_any_webhook_connection_gives_an_allowed_url_or_an_error_naming_it(host: Any, extra: dict[Any, Any]) -> None:
    from auth0_log_webhooks.hooks.webhook import WebhookHook
    from auth0_log_webhooks.http.egress import EgressRefusedError

    conn = json.dumps({"conn_type": "http", "host": host, "extra": extra})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_CONN_FUZZED_HOOK", conn)
        url, message = outcome(lambda: WebhookHook("fuzzed_hook").url(), ValueError, EgressRefusedError)
    if message:
        return
    target = parse_target(url)
    policy = EgressPolicy.from_extra(extra, "fuzzed_hook")
    assert target.scheme == "https" or target.is_loopback_host or policy.allow_insecure_http
    assert target.address is None or policy.allow_private_network or target.address.is_global
