"""Auto-pause: the streak of failing messages across runs, the limits that pause, the Variable that holds it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.delivery.auto_pause import (
    PauseLimits,
    PauseState,
    after_run,
    parse_state,
    paused_sentence,
    resume,
    state_variable,
)
from auth0_log_webhooks.delivery.circuit import CircuitTally
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

START = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
CHECKPOINT = "900" + "20261203145500" + "0" * 39
DAG = AUTHENTICATION_API.dag_id


def failing(*minutes: float, status: int | None = 503, delivered: bool = False) -> CircuitTally:
    """A run whose messages failed at these minutes after START (after its last delivery, if any)."""
    stamps = tuple((START + timedelta(minutes=m)).timestamp() for m in minutes)
    return CircuitTally(delivered=delivered, failures=stamps, last_status=status if stamps else None)


def runs(limits: PauseLimits, *tallies: CircuitTally, now: datetime = START) -> PauseState | None:
    """The streak after one run per tally, in order."""
    state = None
    for number, tally in enumerate(tallies):
        state = after_run(state, tally, limits, run_id=f"run_{number}", checkpoint=CHECKPOINT, now=now)
    return state


def test_failing_messages_add_up_across_runs_until_the_count_limit_pauses() -> None:
    limits = PauseLimits(failures=5)

    before = runs(limits, failing(0, 1), failing(5, 6))
    after = runs(limits, failing(0, 1), failing(5, 6), failing(10), now=START + timedelta(minutes=11))

    assert before is not None
    assert not before.paused
    assert before.failing_messages == 4
    assert after is not None
    assert after.paused
    assert (after.failing_messages, after.failing_since, after.last_status) == (5, START, 503)
    assert after.paused_at == START + timedelta(minutes=11)
    assert after.checkpoint == CHECKPOINT


def test_a_delivered_message_restarts_the_count() -> None:
    limits = PauseLimits(failures=5)

    cleared = runs(limits, failing(0, 1, 2, 3), failing(delivered=True))
    restarted = runs(limits, failing(0, 1, 2, 3), failing(5, 6, delivered=True))

    assert cleared is None
    assert restarted is not None
    assert (restarted.failing_messages, restarted.failing_since) == (2, START + timedelta(minutes=5))


def test_a_run_that_sent_nothing_leaves_the_streak_as_it_was() -> None:
    limits = PauseLimits(failures=5)
    assert runs(limits, failing(0, 1), failing()) == runs(limits, failing(0, 1))


def test_the_time_limit_pauses_a_streak_older_than_it_whatever_its_count() -> None:
    limits = PauseLimits(failures=1000, hours=2)

    def at(minute: float, previous: PauseState | None) -> PauseState | None:
        now = START + timedelta(minutes=minute)
        return after_run(previous, failing(minute), limits, run_id=f"run_{minute}", checkpoint=CHECKPOINT, now=now)

    young = at(119, at(60, at(0, None)))
    old = at(121, young)

    assert young is not None
    assert not young.paused
    assert old is not None
    assert old.paused
    assert (old.failing_messages, old.paused_at) == (4, START + timedelta(minutes=121))


def test_a_paused_state_and_a_run_counted_twice_are_left_as_they_are() -> None:
    limits = PauseLimits(failures=1)
    paused = runs(limits, failing(0))
    assert paused is not None
    assert paused.paused

    assert after_run(paused, failing(delivered=True), limits, run_id="later", checkpoint=None, now=START) is paused
    counted = runs(PauseLimits(failures=10), failing(0, 1))
    assert counted is not None
    again = after_run(counted, failing(0, 1), limits, run_id="run_0", checkpoint=None, now=START)
    assert again is counted  # the commit of run_0 ran again: its failures count once


def test_no_limit_never_pauses() -> None:
    state = runs(PauseLimits(), *(failing(m) for m in range(50)), now=START + timedelta(days=30))
    assert state is not None
    assert not state.paused
    assert not PauseLimits().active


def test_the_limits_read_as_a_sentence() -> None:
    assert PauseLimits(failures=500, hours=120).text() == "500 failing messages or 120 hours of failures"
    assert PauseLimits(failures=1).text() == "1 failing message"


# -- the Variable ------------------------------------------------------------------------------------


states = st.builds(
    PauseState,
    failing_messages=st.integers(0, 10**9),
    failing_since=st.datetimes(timezones=st.just(UTC)),
    last_status=st.none() | st.integers(100, 599),
    run_id=st.none() | st.text(max_size=40),
    paused_at=st.none() | st.datetimes(timezones=st.just(UTC)),
    checkpoint=st.none() | st.text(max_size=60),
    notice_sent=st.booleans(),
)


@given(states)
def test_a_state_survives_its_variable(state: PauseState) -> None:
    assert parse_state(state.dumps()) == (state, None)


@given(st.text() | st.from_regex(r'\{"failing_messages": -?\d+, "failing_since": ".*"\}'))
def test_any_text_a_person_may_put_in_the_variable_reads_as_a_state_or_as_none_with_a_reason(raw: str) -> None:
    state, problem = parse_state(raw)
    assert state is None or problem is None
    if problem is not None:
        assert problem  # a reason a warning can quote


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("{}", None),
        ("paused", "it is not JSON"),
        ("[1]", "it holds a JSON list, not an object"),
        ('{"failing_messages": -1, "failing_since": "2026-12-03T15:00:00+00:00"}', "failing_messages"),
        ('{"failing_messages": 1, "failing_since": "2026-12-03T15:00:00"}', "its dates carry no time zone"),
    ],
)
def test_an_empty_or_foreign_value_is_no_streak(raw: str | None, problem: str | None) -> None:
    state, why = parse_state(raw)
    assert state is None
    assert (why is None) if problem is None else (why is not None and problem in why)


# -- what a person reads ----------------------------------------------------------------------------


def test_a_paused_run_says_since_when_after_how_many_and_how_to_resume() -> None:
    state = runs(PauseLimits(failures=3), failing(0, 1, 2, status=401), now=START + timedelta(minutes=3))
    assert state is not None

    sentence = paused_sentence(DAG, state)

    assert sentence.startswith(
        f"{DAG} is paused since 2026-12-03 15:03:00 UTC after 3 failing messages (the last: HTTP 401); "
    )
    assert "the checkpoint stays at 2026-12-03 14:55:00 UTC" in sentence
    assert f"`python -m auth0_log_webhooks resume {DAG}`" in sentence
    assert f"deleting the Variable {DAG}_auto_pause" in sentence


def test_resume_deletes_the_state_and_says_where_delivery_starts() -> None:
    state = runs(PauseLimits(failures=1), failing(0))
    assert state is not None
    variables = InMemoryVariables(
        {state_variable(DAG): state.dumps(), AUTHENTICATION_API.checkpoint_variable: CHECKPOINT}
    )

    said = resume(AUTHENTICATION_API, variables)

    assert said.startswith(f"Resumed {DAG}: it was paused since 2026-12-03 15:00:00 UTC after 1 failing message. ")
    assert "every log from the checkpoint at 2026-12-03 14:55:00 UTC" in said
    assert state_variable(DAG) not in variables.values
    assert resume(AUTHENTICATION_API, variables) == f"{DAG} is not paused; nothing to resume."


def test_resuming_a_pipeline_that_is_failing_but_not_paused_restarts_its_count() -> None:
    state = runs(PauseLimits(failures=10), failing(0, 1))
    assert state is not None
    variables = InMemoryVariables({state_variable(DAG): state.dumps()})

    assert resume(AUTHENTICATION_API, variables) == (
        f"{DAG} is not paused; nothing to resume. 2 messages in a row had failed; that count is back to 0."
    )
    assert variables.values == {}
