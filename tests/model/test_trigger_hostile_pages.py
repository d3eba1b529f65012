"""The event-mode trigger against generated hostile pages: it never raises and keeps its one token.

Wrong types, huge fields, missing keys, garbage headers and error statuses, 1,000 examples (the
model layer's profile): every poll returns (an event or nothing, and a pause), never an exception
that would make the triggerer re-create the trigger and exchange a new token; nothing unbounded
reaches the asset event. (The same trigger, one finding at a time: tests/unit/event_mode/test_trigger.py.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.event_mode.new_logs import Debounce, PollFailures
from auth0_log_webhooks.event_mode.trigger import Auth0LogsTrigger
from tests.fakes import Answer, ScriptedTenant

pytestmark = [pytest.mark.model, pytest.mark.timeout(0)]

CHECKPOINT_VARIABLE = "watched_checkpoint"
CHECKPOINT = "900" + "20261126050000" + "0" * 39
NEW_ID = "900" + "20261126050001" + "0" * 38 + "1"


@pytest.fixture(scope="module")
def tenant_env() -> Iterator[None]:
    """The connection and the checkpoint as AIRFLOW_* variables (a module fixture, for hypothesis)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_AUTH0_DEFAULT", json.dumps(ScriptedTenant.CONNECTION))
    mp.setenv(f"AIRFLOW_VAR_{CHECKPOINT_VARIABLE.upper()}", CHECKPOINT)
    yield
    mp.undo()


# -- hostile pages, generated ------------------------------------------------------------------------

HUGE = st.sampled_from([2_000_000, 70_000, 1_025]).map(lambda n: "9" * n)
SCALAR = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | HUGE
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
FIELD = st.sampled_from([NEW_ID, "seccft", "s", "ours", "other", ""]) | JSON
LOGISH = st.fixed_dictionaries(
    {},
    optional={"log_id": FIELD, "type": FIELD, "client_id": FIELD, "date": FIELD, "user_name": FIELD},
)
BODY = st.lists(LOGISH | JSON, max_size=5) | JSON | st.binary(max_size=40)
HEADERS = st.dictionaries(
    st.sampled_from(["Link", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After", "Content-Type"]),
    st.text(max_size=30) | st.sampled_from(['<https://evil.example/x>; rel="next"', "0", "99999999999"]),
    max_size=3,
)
ANSWER = st.builds(Answer, status=st.sampled_from([200, 200, 200, 400, 403, 404, 429, 500]), body=BODY, headers=HEADERS)


@settings(settings.get_profile("model"))
@given(answers=st.lists(ANSWER, min_size=1, max_size=4))
def test_any_hostile_pages_never_raise_and_cost_one_token(tenant_env: None, answers: list[Any]) -> None:
    tenant = ScriptedTenant(*answers)
    clock = [1_800_000_000.0]
    hook, debounce, failures = tenant.hook(clock), Debounce(600), PollFailures()
    trigger = Auth0LogsTrigger(auth0_conn_id="auth0_default", checkpoint_variable=CHECKPOINT_VARIABLE)
    for _ in range(len(answers) + 1):
        payload, pause = trigger.watch_once(hook, debounce, failures, now=clock[0])
        assert pause >= trigger.poll_interval
        if payload is not None:
            assert len(json.dumps(payload)) < 300  # nothing unbounded reaches the asset event
        clock[0] += pause
    assert tenant.tokens <= 1  # within one token lifetime (a day), whatever the pages held
