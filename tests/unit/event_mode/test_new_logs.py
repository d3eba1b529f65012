"""Event mode's decisions: the pipeline's own traffic does not count, and one backlog asks for one run."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.event_mode.new_logs import (
    OWN_TRAFFIC_TYPES,
    Debounce,
    LastRead,
    foreign_logs,
    is_own_traffic,
    logs_after,
)

pytestmark = pytest.mark.unit

OURS, THEIRS = "pipeline-client", "someone-else"


@pytest.mark.parametrize("code", sorted(OWN_TRAFFIC_TYPES))
def test_the_pipelines_own_token_exchanges_and_429s_do_not_count(code: Any) -> None:
    assert is_own_traffic({"type": code, "client_id": OURS}, OURS)
    assert not is_own_traffic({"type": code, "client_id": THEIRS}, OURS)  # another client's exchange is news


def test_any_other_log_of_the_pipelines_client_counts() -> None:
    assert not is_own_traffic({"type": "s", "client_id": OURS}, OURS)
    assert not is_own_traffic({"type": "seccft"}, OURS)


logs = st.lists(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["s", "f", "seccft", "feccft", "api_limit", "sapi"]),
            "client_id": st.sampled_from([OURS, THEIRS]),
        },
    ),
    max_size=20,
)


@given(logs)
def test_foreign_logs_are_exactly_the_others_in_order(page: Any) -> None:
    foreign = foreign_logs(page, OURS)
    assert foreign == [log for log in page if not is_own_traffic(log, OURS)]
    assert all(not (log["type"] in OWN_TRAFFIC_TYPES and log["client_id"] == OURS) for log in foreign)


def test_nothing_new_never_fires() -> None:
    assert not Debounce(60).should_fire("c1", 0, 0.0)


def test_one_backlog_fires_once_until_the_checkpoint_moves_or_the_refire_time_passes() -> None:
    debounce = Debounce(refire_after=60)
    assert debounce.should_fire("c1", 5, 0.0)
    debounce.fired("c1", 0.0)
    assert not debounce.should_fire("c1", 9, 30.0)  # the run asked for has not committed yet
    assert debounce.should_fire("c2", 1, 31.0)  # it committed; more arrived since
    assert debounce.should_fire("c1", 1, 61.0)  # the run was lost: ask again


@settings(max_examples=200)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.floats(0, 30, allow_nan=False)), min_size=1, max_size=60)
)
def test_at_most_one_request_per_checkpoint_per_refire_window(steps: list[Any]) -> None:
    """Whatever the polls see, the same checkpoint never asks twice within ``refire_after``."""
    debounce, checkpoint, now, fires = Debounce(refire_after=60), 0, 0.0, []
    for moved, new, elapsed in steps:
        checkpoint += moved
        now += elapsed
        if debounce.should_fire(str(checkpoint), new, now):
            debounce.fired(str(checkpoint), now)
            fires.append((checkpoint, now))
    for (cp_a, t_a), (cp_b, t_b) in itertools.pairwise(fires):
        assert cp_a != cp_b or t_b - t_a >= 60


def test_a_resume_forgets_the_last_request_so_logs_that_waited_ask_for_a_run_at_once() -> None:
    debounce = Debounce(refire_after=600)
    debounce.fired("c1", 0.0)
    assert not debounce.paused_now(False)  # not paused, as before: nothing changed
    assert debounce.paused_now(True)
    assert not debounce.paused_now(True)
    assert debounce.paused_now(False)
    assert debounce.should_fire("c1", 5, 11.0)  # same checkpoint, well within refire_after


def log_id(n: int) -> str:
    return "900" + "20261126050000" + f"{n:039d}"


@given(st.lists(st.integers(0, 10**12), max_size=20, unique=True).map(sorted), st.integers(0, 10**12))
def test_the_logs_after_a_later_checkpoint_are_those_whose_ids_are_larger(numbers: list[int], moved_to: int) -> None:
    page = [{"log_id": log_id(n), "type": "s"} for n in numbers]
    assert logs_after(page, log_id(moved_to)) == [log for log, n in zip(page, numbers, strict=True) if n > moved_to]


def test_a_log_without_a_log_id_counts_as_after_any_checkpoint() -> None:
    odd: list[dict[str, Any]] = [{"log_id": None}, {"log_id": "12"}, {}]
    assert logs_after(odd, log_id(5)) == odd


def test_the_variables_are_read_first_at_the_start_without_a_checkpoint_and_every_reread_after() -> None:
    last = LastRead(reread_after=60)
    assert last.due(0.0)
    last.read(None, 0.0)
    assert last.due(1.0)  # a new pipeline: its checkpoint may appear at any poll
    last.read(log_id(1), 1.0)
    assert not last.due(60.9)
    assert last.due(61.0)


def test_live_traffic_notes_a_foreign_log_dated_at_or_after_the_start_and_yields_every_page_unchanged() -> None:
    from auth0_log_webhooks.event_mode.new_logs import LiveTraffic

    since = datetime(2026, 12, 4, 12, 0, tzinfo=UTC).timestamp()
    own = {"type": "seccft", "client_id": "me", "date": "2026-12-04T12:00:05Z"}
    old = {"type": "s", "client_id": "other", "date": "2026-12-04T11:59:59.999Z"}
    fresh = {"type": "s", "date": "2026-12-04T12:00:00.000Z"}
    pages: list[list[Any]] = [[own, old, "not a log", {"date": 5}, {"date": "yesterday"}], [fresh]]
    live = LiveTraffic("me", since)

    seen_after_first = [live.seen for _ in live.watch(pages)]

    assert seen_after_first == [False, True]
    assert list(LiveTraffic("me", since).watch(pages)) == pages
    assert not LiveTraffic("me", since + 1).fresh(fresh)
    assert LiveTraffic("other", since).fresh(own)  # another client's token exchange is the tenant's traffic
