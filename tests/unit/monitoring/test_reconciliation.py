"""The reconciliation's equation, its sentences, the counts read back from asset events, and its alarm."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.monitoring.alarms import reconciliation_notice
from auth0_log_webhooks.monitoring.metrics import reconciliation_counts
from auth0_log_webhooks.monitoring.reconciliation import COUNTS, Reconciliation, RunCounts, counts_of, reconcile

pytestmark = pytest.mark.unit


def test_the_remainder_is_read_minus_filtered_delivered_dead_lettered_and_unsettled() -> None:
    assert RunCounts(read=1000, filtered=300, delivered=600, dead_lettered=50, unsettled=50).remainder == 0
    assert RunCounts(read=1000, filtered=300, delivered=600, dead_lettered=50, unsettled=49).remainder == 1
    assert RunCounts(read=10, filtered=0, delivered=11, dead_lettered=0, unsettled=0).remainder == -1


def test_a_run_says_its_equation_with_numbers() -> None:
    assert RunCounts(1200, 300, 880, 20, 0).sentence() == (
        "Reconciliation: 1,200 read = 300 filtered out + 880 delivered + 20 dead-lettered + 0 left for the next run, "
        "every log read is accounted for."
    )
    assert RunCounts(1200, 300, 880, 19, 0).sentence().endswith("+1 unaccounted.")


def test_a_day_sums_its_runs_and_names_the_runs_without_counts() -> None:
    day = reconcile([RunCounts(100, 10, 90, 0, 0), None, RunCounts(50, 0, 40, 5, 5)], replayed=7)
    assert day == Reconciliation(
        read=150, filtered=10, delivered=130, dead_lettered=5, unsettled=5, replayed=7, runs=2, uncounted=1
    )
    assert day.remainder == 0
    assert day.sentence() == (
        "Reconciliation of 2 runs: 150 read = 10 filtered out + 130 delivered + 5 dead-lettered + 5 left for the next "
        "run, every log read is accounted for; 7 logs replayed from dead letters. 1 run of an older version carried "
        "no counts."
    )
    assert reconcile([]).sentence() == "Reconciliation: no run to reconcile; 0 logs replayed from dead letters."


def test_a_summary_round_trips_through_the_asset_event_extra() -> None:
    summary = RunSummary(
        batches=2,
        settled_batches=1,
        delivered_logs=60,
        dead_letters=1,
        checkpoint=None,
        more_to_read=False,
        read=100,
        filtered=20,
        dead_lettered_logs=10,
        unsettled_logs=10,
    )
    assert counts_of(reconciliation_counts(summary)) == RunCounts(100, 20, 60, 10, 10)
    assert counts_of(reconciliation_counts(None)) == RunCounts(0, 0, 0, 0, 0)  # a commit that counted nothing
    older = RunSummary(
        batches=1, settled_batches=1, delivered_logs=5, dead_letters=0, checkpoint=None, more_to_read=False
    )
    assert counts_of(reconciliation_counts(older)) is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@given(st.dictionaries(st.sampled_from([*COUNTS, "run_id", "other"]), JSON, max_size=7))
def test_any_extra_gives_whole_non_negative_counts_or_none(extra: dict[str, Any]) -> None:
    counts = counts_of(extra)
    if counts is None:
        return
    values = [counts.read, counts.filtered, counts.delivered, counts.dead_lettered, counts.unsettled]
    assert all(type(v) is int and v >= 0 for v in values)
    assert values == [extra[key] for key in COUNTS]


def test_no_alarm_when_the_day_reconciles() -> None:
    assert reconciliation_notice("dag", Reconciliation(read=10, filtered=2, delivered=8, runs=1)) is None


def test_the_alarm_says_the_numbers_and_the_next_step() -> None:
    day = Reconciliation(read=500, filtered=100, delivered=390, dead_lettered=7, unsettled=0, runs=3)
    notice = reconciliation_notice("auth0_authentication_api_webhooks", day)
    assert notice is not None
    assert notice.alarm == "reconciliation"
    assert notice.firing
    assert notice.text == (
        "Reconciliation alarm: auth0_authentication_api_webhooks's runs of the last 24 hours have 3 logs read and "
        "not accounted for: 500 read, 100 filtered out, 390 delivered, 7 dead-lettered, 0 left for the next run. "
        "Find the run among its 3 runs by the reconciliation each ends with (in its commit task's log, or its "
        "fetch's when the fetch committed it), then trigger auth0_authentication_api_webhooks with start_from set "
        "to where that run's fetch started (its fetch log's "
        "first line) to deliver those logs again; receivers dedupe by log_id. docs/operations.md (Reconciliation) has "
        "the equation."
    )
    over = reconciliation_notice("d", Reconciliation(read=5, delivered=6, runs=1))
    assert over is not None
    assert "have 1 log more accounted for than read" in over.text
