"""Text a person reads: counts with the right noun, log ids as UTC times, sentences instead of dicts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.contracts import BatchRange, DeliveryReport, RunSummary
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.wording import (
    chunk_label,
    delivery_sentence,
    duration,
    log_id_time,
    plural,
    run_sentence,
    time_range,
    when,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 26, 14, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 logs"), (1, "1 log"), (2, "2 logs"), (1500, "1,500 logs")],
    ids=["none", "one", "two", "thousands"],
)
def test_a_count_takes_the_singular_only_for_one(count: int, expected: str) -> None:
    assert plural(count, "log") == expected


def test_an_irregular_plural_is_used_when_given() -> None:
    assert (plural(1, "batch", "batches"), plural(3, "batch", "batches")) == ("1 batch", "3 batches")


def test_a_log_id_reads_as_its_utc_time() -> None:
    assert when(cursor_for_time(AT)) == "2026-11-26 14:02:11 UTC"
    assert when(None) == "none yet"


def test_a_range_within_a_day_names_the_date_once() -> None:
    assert time_range(cursor_for_time(AT), cursor_for_time(AT + timedelta(minutes=5, seconds=29))) == (
        "2026-11-26 14:02:11-14:07:40 UTC"
    )


def test_a_range_across_days_names_both_dates() -> None:
    assert time_range(cursor_for_time(AT), cursor_for_time(AT + timedelta(days=1))) == (
        "2026-11-26 14:02:11 - 2026-11-27 14:02:11 UTC"
    )


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2999, 12, 31)))
def test_the_time_in_a_cursor_reads_back_to_the_second(moment: datetime) -> None:
    assert log_id_time(cursor_for_time(moment)) == moment.replace(microsecond=0, tzinfo=UTC)


@given(st.text(max_size=80))
def test_any_text_where_a_log_id_is_expected_reads_without_an_error(text: str) -> None:
    # Checkpoints and labels come from Variables a person can edit: a bad one must still print.
    assert when(text) in (text, "none yet") or when(text).endswith(" UTC")


def test_56_digits_that_are_not_a_date_read_as_the_id_itself() -> None:
    bogus = "900" + "20261399999999" + "0" * 39
    assert when(bogus) == bogus


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(45, "45s"), (720, "12 min"), (12600, "3.5 h"), (172800 * 1.5, "3.0 days")],
)
def test_durations_read_at_a_glance(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


def test_a_chunk_label_has_its_batches_logs_and_times() -> None:
    batches = [BatchRange(count=1, first=cursor_for_time(AT), last=cursor_for_time(AT))]
    assert chunk_label(7, 8, batches) == "batch 8: 1 log, 2026-11-26 14:02:11-14:02:11 UTC", "counted from 1"
    assert chunk_label(0, 3, batches * 3).startswith("batches 1-3: 3 logs, ")


def test_a_delivery_report_reads_as_a_sentence() -> None:
    report = DeliveryReport(
        chunk=0, batches=1, skipped=2, delivered_logs=22, dead_lettered_logs=78, requests=1, answers_429=0
    )
    assert delivery_sentence(report) == (
        "Chunk 0: delivered 22 logs in 1 batch with 1 request; kept 78 logs as dead letters; "
        "skipped 2 batches an earlier try settled."
    )


def test_a_run_summary_reads_as_a_sentence_with_the_checkpoint_as_a_date() -> None:
    summary = RunSummary(
        batches=3,
        settled_batches=3,
        delivered_logs=300,
        dead_letters=1,
        checkpoint=cursor_for_time(AT),
        more_to_read=False,
    )
    assert run_sentence(summary) == (
        "Delivered 300 logs; 3 of 3 batches settled, 1 dead letter kept. "
        "The checkpoint is now at 2026-11-26 14:02:11 UTC."
    )
