"""The event-mode trigger against a hostile tenant: it never dies, never re-exchanges its token, bounds what it repeats.

The trigger runs in the triggerer; if its ``run()`` raised, the triggerer would re-create it (a new
hook, a new token exchange, a new ``seccft`` log in the tenant) on every poll of a bad page. Here the
tenant is a scripted transport and the checkpoint an ``AIRFLOW_VAR_*`` variable.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from auth0_log_webhooks.event_mode import trigger as trigger_module
from auth0_log_webhooks.event_mode.new_logs import FAILURE_LOG_EVERY, Debounce, LastRead, PollFailures
from auth0_log_webhooks.event_mode.trigger import Auth0LogsTrigger
from auth0_log_webhooks.run.variables import InMemoryVariables
from tests.fakes import Answer, ScriptedTenant

pytestmark = pytest.mark.unit

CHECKPOINT_VARIABLE = "watched_checkpoint"
CHECKPOINT = "900" + "20261126050000" + "0" * 39
NEW_ID = "900" + "20261126050001" + "0" * 38 + "1"


@pytest.fixture
def tenant_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection and the checkpoint as AIRFLOW_* variables."""
    monkeypatch.setenv("AIRFLOW_CONN_AUTH0_DEFAULT", json.dumps(ScriptedTenant.CONNECTION))
    monkeypatch.setenv(f"AIRFLOW_VAR_{CHECKPOINT_VARIABLE.upper()}", CHECKPOINT)


def watcher(**kw: Any) -> Auth0LogsTrigger:
    return Auth0LogsTrigger(auth0_conn_id="auth0_default", checkpoint_variable=CHECKPOINT_VARIABLE, **kw)


def run_until(
    trigger: Auth0LogsTrigger, tenant: ScriptedTenant, reads: int, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Drive ``trigger.run()`` as the triggerer does until the tenant served ``reads`` log reads; return its events.

    Whatever ``run()`` raises is raised here (the triggerer would re-create the trigger).
    """

    async def drive() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []

        async def consume() -> None:
            async for event in trigger.run():
                events.append(event.payload)

        task = asyncio.create_task(consume())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while tenant.log_reads < reads and not task.done() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # re-raise what killed the trigger
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert tenant.log_reads >= reads, f"only {tenant.log_reads} reads within {timeout}s"
        return events

    return asyncio.run(drive())


FastTrigger = Callable[[ScriptedTenant], Auth0LogsTrigger]
"""The ``fast_trigger`` fixture: a watcher on a scripted tenant."""


@pytest.fixture
def fast_trigger(monkeypatch: pytest.MonkeyPatch, tenant_env: None) -> FastTrigger:
    """Polls and pauses after failures of a millisecond, and ``Auth0Hook`` built on the scripted tenant."""
    monkeypatch.setattr(trigger_module, "ERROR_PAUSE_SECONDS", 0.001)

    def build(tenant: ScriptedTenant) -> Auth0LogsTrigger:
        clock = [1_800_000_000.0]
        monkeypatch.setattr(trigger_module, "Auth0Hook", lambda conn_id: tenant.hook(clock))
        return watcher(poll_interval=0.001)

    return build


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("an item that is a string", ["not a log"]),
        ("a type that is a list", [{"log_id": NEW_ID, "type": ["s"], "client_id": "other"}]),
        ("a client_id that is an object", [{"log_id": NEW_ID, "type": "seccft", "client_id": {"a": 1}}]),
        ("an item that is null", [None]),
    ],
)
def test_a_malformed_page_is_a_failed_poll_not_a_dead_trigger_nor_a_token_per_poll(
    fast_trigger: FastTrigger, name: str, page: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    tenant = ScriptedTenant(Answer(200, page))
    caplog.set_level(logging.WARNING, logger=trigger_module.__name__)

    events = run_until(fast_trigger(tenant), tenant, reads=5)

    assert events == []
    assert tenant.tokens == 1  # one hook, one token, for the trigger's whole life
    warnings = [r.getMessage() for r in caplog.records if r.name == trigger_module.__name__]
    assert len(warnings) == 1, warnings  # the same failure again is counted, not logged each poll
    assert "cannot read" in warnings[0]
    assert "item 1" in warnings[0]


def test_the_watcher_fires_once_the_tenant_answers_good_pages_again(
    fast_trigger: FastTrigger, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = ScriptedTenant(Answer(200, ["bad"]), Answer(200, ["bad"]), Answer(200, [{"log_id": NEW_ID, "type": "s"}]))
    caplog.set_level(logging.INFO, logger=trigger_module.__name__)

    events = run_until(fast_trigger(tenant), tenant, reads=4)

    assert events
    assert events[0]["first_log_id"] == NEW_ID
    assert tenant.tokens == 1
    assert any("works again after 2 failed polls" in r.getMessage() for r in caplog.records)


def test_a_huge_log_id_stays_out_of_the_asset_event_and_the_log_line(
    tenant_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    huge = "9" * 2_000_000
    tenant = ScriptedTenant(Answer(200, [{"log_id": huge, "type": "s", "date": "x" * 100_000}]))
    caplog.set_level(logging.INFO, logger=trigger_module.__name__)

    payload = watcher().poll_once(tenant.hook([1_800_000_000.0]), Debounce(600), now=0.0)

    assert payload == {"checkpoint": CHECKPOINT, "new_logs_seen": 1, "first_log_id": None, "first_log_date": None}
    assert len(json.dumps(payload)) < 200
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


def test_a_well_formed_first_log_is_named_by_its_id_and_date(tenant_env: None) -> None:
    tenant = ScriptedTenant(Answer(200, [{"log_id": NEW_ID, "type": "s", "date": "2026-11-26T05:00:01.123Z"}]))
    payload = watcher().poll_once(tenant.hook([1_800_000_000.0]), Debounce(600), now=0.0)
    assert payload is not None
    assert payload["first_log_id"] == NEW_ID
    assert payload["first_log_date"] == "2026-11-26T05:00:01.123Z"


def test_failed_polls_in_a_row_wait_longer_each_time_up_to_an_hour() -> None:
    failures = PollFailures()
    pauses = []
    for _ in range(10):
        failures.failed("401 from the tenant", 0.0)
        pauses.append(failures.pause(60.0))
    assert pauses[:4] == [60.0, 120.0, 240.0, 480.0]
    assert pauses[-1] == 3600.0
    failures.succeeded()
    failures.failed("again", 0.0)
    assert failures.pause(60.0) == 60.0


def test_a_failure_that_repeats_is_logged_again_after_a_while_and_a_new_one_at_once() -> None:
    failures = PollFailures()
    assert failures.failed("boom", 0.0)
    assert not failures.failed("boom", 1.0)
    assert failures.failed("other", 2.0)
    assert failures.failed("other", 2.0 + FAILURE_LOG_EVERY)
    assert failures.in_a_row == 4
    assert failures.succeeded() == 4
    assert failures.in_a_row == 0
    assert failures.total == 4


PAUSE_VARIABLE = "watched_auto_pause"
PAUSED = json.dumps(
    {
        "failing_messages": 5,
        "failing_since": "2026-11-26T04:00:00+00:00",
        "last_status": 401,
        "paused_at": "2026-11-26T05:00:00+00:00",
        "checkpoint": CHECKPOINT,
    }
)


@pytest.mark.parametrize("resumed_at", [120, 2000], ids=["resumed within refire_after", "after a long pause"])
def test_while_the_pipeline_is_paused_the_watcher_reads_nothing_and_asks_for_no_run_and_after_a_resume_it_does(
    tenant_env: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, resumed_at: int
) -> None:
    tenant = ScriptedTenant(Answer(200, [{"log_id": NEW_ID, "type": "s"}]))
    hook, debounce, failures = tenant.hook([1_800_000_000.0]), Debounce(600), PollFailures()
    trigger = watcher(poll_interval=5.0, pause_variable=PAUSE_VARIABLE)
    caplog.set_level(logging.INFO, logger=trigger_module.__name__)

    first, _ = trigger.watch_once(hook, debounce, failures, now=0.0)  # new logs: a run is asked for
    monkeypatch.setenv(f"AIRFLOW_VAR_{PAUSE_VARIABLE.upper()}", PAUSED)  # that run failed and paused the pipeline
    reads = tenant.log_reads
    while_paused = [trigger.watch_once(hook, debounce, failures, now=float(t)) for t in range(60, resumed_at, 5)]
    monkeypatch.delenv(f"AIRFLOW_VAR_{PAUSE_VARIABLE.upper()}")  # resumed
    resumed, pause = trigger.watch_once(hook, debounce, failures, now=float(resumed_at))

    assert first is not None
    assert [payload for payload, _ in while_paused] == [None] * len(while_paused)  # even past refire_after (600 s)
    assert {pause for _, pause in while_paused} == {5.0}  # the Variable is checked at the read budget's pace
    assert tenant.log_reads == reads + 1  # not one read while paused; one after the resume
    assert resumed is not None
    assert resumed["checkpoint"] == CHECKPOINT  # the backlog that waited, at once (not after refire_after)
    assert pause == 5.0
    lines = [r.getMessage() for r in caplog.records if r.name == trigger_module.__name__]
    assert sum("is paused" in line for line in lines) == 1  # one line for the pause, not one a poll
    assert sum("was resumed" in line for line in lines) == 1
    assert tenant.tokens == 1


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (json.dumps({"failing_messages": 2, "failing_since": "2026-11-26T04:00:00+00:00"}), "failing, not paused"),
        ("not json", "a value a person broke, read as no pause by the runs too"),
        ("", "emptied: resumed"),
    ],
)
def test_a_pipeline_that_is_not_paused_is_watched_as_usual(
    tenant_env: None, monkeypatch: pytest.MonkeyPatch, value: str, why: str
) -> None:
    monkeypatch.setenv(f"AIRFLOW_VAR_{PAUSE_VARIABLE.upper()}", value)
    tenant = ScriptedTenant(Answer(200, [{"log_id": NEW_ID, "type": "s"}]))

    payload = watcher(pause_variable=PAUSE_VARIABLE).poll_once(tenant.hook([1_800_000_000.0]), Debounce(600), now=0.0)

    assert payload is not None, why
    assert tenant.log_reads == 1


def test_the_asset_of_a_pipeline_watches_its_auto_pause_variable() -> None:
    from auth0_log_webhooks.delivery.auto_pause import state_variable
    from auth0_log_webhooks.event_mode.trigger import tenant_logs_asset
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API

    (asset_watcher,) = tenant_logs_asset(AUTHENTICATION_API).watchers
    classpath, kwargs = asset_watcher.trigger.serialize()

    assert classpath == "auth0_log_webhooks.event_mode.trigger.Auth0LogsTrigger"
    assert kwargs["pause_variable"] == state_variable(AUTHENTICATION_API.dag_id)
    assert Auth0LogsTrigger(**kwargs).pause_variable == kwargs["pause_variable"]  # the triggerer re-creates it so
    old = {
        key: value for key, value in kwargs.items() if key != "pause_variable"
    }  # a trigger serialized before the pause
    assert Auth0LogsTrigger(**old).pause_variable is None


class CountingVariables(InMemoryVariables):
    """Variables that count their reads: each one is an Execution API request in the triggerer."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.reads: list[str] = []

    def get(self, key: str) -> str | None:
        self.reads.append(key)
        return super().get(key)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingVariables:
    """The checkpoint in Variables the trigger reads and counts, instead of ``AIRFLOW_VAR_*`` (the connection stays)."""
    monkeypatch.setenv("AIRFLOW_CONN_AUTH0_DEFAULT", json.dumps(ScriptedTenant.CONNECTION))
    variables = CountingVariables({CHECKPOINT_VARIABLE: CHECKPOINT})
    monkeypatch.setattr(trigger_module, "AirflowVariables", lambda: variables)
    return variables


OWN_TOKEN_LOG = {"log_id": NEW_ID, "type": "seccft", "client_id": "ours"}
"""What an idle tenant has after the checkpoint: the pipeline's own token exchange (not news)."""


def poll_at(trigger: Auth0LogsTrigger, hook: Any, state: tuple[Debounce, PollFailures, LastRead], t: float) -> Any:
    debounce, failures, last = state
    payload, _ = trigger.watch_once(hook, debounce, failures, now=t, last=last)
    return payload


def test_polls_that_find_nothing_new_read_no_variable_until_reread_after(counted: CountingVariables) -> None:
    tenant = ScriptedTenant(Answer(200, [OWN_TOKEN_LOG]))
    hook, state = tenant.hook([1_800_000_000.0]), (Debounce(600), PollFailures(), LastRead(60.0))
    trigger = watcher(poll_interval=5.0, pause_variable=PAUSE_VARIABLE)

    payloads = [poll_at(trigger, hook, state, float(t)) for t in range(0, 65, 5)]

    assert payloads == [None] * 13
    assert tenant.log_reads == 13  # the tenant at every poll
    assert counted.reads == [PAUSE_VARIABLE, CHECKPOINT_VARIABLE] * 2  # the Variables at 0 s and 60 s only


def test_a_page_with_new_logs_is_decided_on_the_variables_as_they_are_now(counted: CountingVariables) -> None:
    later = "900" + "20261126050001" + "0" * 38 + "2"
    tenant = ScriptedTenant(
        Answer(200, [OWN_TOKEN_LOG]),
        Answer(200, [{"log_id": NEW_ID, "type": "s"}, {"log_id": later, "type": "s"}]),
    )
    hook, state = tenant.hook([1_800_000_000.0]), (Debounce(600), PollFailures(), LastRead(60.0))
    trigger = watcher(poll_interval=5.0, pause_variable=PAUSE_VARIABLE)

    assert poll_at(trigger, hook, state, 0.0) is None
    counted.values[CHECKPOINT_VARIABLE] = NEW_ID  # a cron run delivered up to NEW_ID meanwhile
    counted.reads.clear()
    payload = poll_at(trigger, hook, state, 5.0)  # the page read from the old checkpoint: NEW_ID is not news

    assert counted.reads == [PAUSE_VARIABLE, CHECKPOINT_VARIABLE]
    assert payload == {"checkpoint": NEW_ID, "new_logs_seen": 1, "first_log_id": later, "first_log_date": None}


def test_a_page_whose_logs_a_run_delivered_meanwhile_asks_for_no_run(counted: CountingVariables) -> None:
    tenant = ScriptedTenant(Answer(200, [OWN_TOKEN_LOG]), Answer(200, [{"log_id": NEW_ID, "type": "s"}]))
    hook, state = tenant.hook([1_800_000_000.0]), (Debounce(600), PollFailures(), LastRead(60.0))
    trigger = watcher(poll_interval=5.0)

    assert poll_at(trigger, hook, state, 0.0) is None
    counted.values[CHECKPOINT_VARIABLE] = NEW_ID

    assert poll_at(trigger, hook, state, 5.0) is None
    assert state[2].checkpoint == NEW_ID  # the next poll reads from where the run left off


@pytest.mark.parametrize("page", [[OWN_TOKEN_LOG], [{"log_id": NEW_ID, "type": "s"}]], ids=["idle", "new logs"])
def test_a_pause_stops_the_watchers_reads_within_reread_after_and_at_once_when_logs_wait(
    counted: CountingVariables, page: list[dict[str, Any]]
) -> None:
    tenant = ScriptedTenant(Answer(200, page))
    hook, state = tenant.hook([1_800_000_000.0]), (Debounce(600), PollFailures(), LastRead(60.0))
    trigger = watcher(poll_interval=5.0, pause_variable=PAUSE_VARIABLE)

    poll_at(trigger, hook, state, 0.0)
    counted.values[PAUSE_VARIABLE] = PAUSED
    reads = tenant.log_reads
    payloads = [poll_at(trigger, hook, state, float(t)) for t in range(5, 125, 5)]

    assert payloads == [None] * len(payloads)
    assert state[0].paused
    if page == [OWN_TOKEN_LOG]:  # nothing new: seen at the first poll that reads the Variables (60 s)
        assert tenant.log_reads == reads + 11
    else:  # news reads the Variables before deciding: the pause is seen at once
        assert tenant.log_reads == reads + 1


def test_a_trigger_serialized_without_reread_after_rereads_every_minute() -> None:
    _, kwargs = watcher(reread_after=30.0).serialize()
    assert kwargs["reread_after"] == 30.0
    old = {key: value for key, value in kwargs.items() if key != "reread_after"}
    assert Auth0LogsTrigger(**old).reread_after == trigger_module.REREAD_AFTER_SECONDS == 60.0
