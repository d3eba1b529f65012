"""The delivery log: its file names (the index), its lines, lookups by range and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from auth0_log_webhooks.run.delivery_log import (
    EXCERPT_CHARS,
    Attempt,
    DeliveryLog,
    FileName,
    Journal,
    Read,
    parse_line,
    parse_name,
    record_read,
)
from tests.builders import log_id

pytestmark = pytest.mark.unit

DAY = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
PIPELINE = "auth0_authentication_api_webhooks"


def at(days: float, n: int = 0) -> str:
    """The ``n``-th log id ``days`` after DAY."""
    return log_id(n, DAY + timedelta(days=days))


def delivery_log(tmp_path: Path, retention_days: int = 30) -> DeliveryLog:
    return DeliveryLog(f"file://{tmp_path}/staging", PIPELINE, retention_days)


def journal(log: DeliveryLog, run_id: str = "manual__1") -> Journal:
    return Journal(log, run_id, now=lambda: "2026-11-20T10:00:00.000+00:00")


def sent(j: Journal, message: str, ids: list[str], status: int | None = 200, attempt: int = 1) -> None:
    j.record(
        message_id=message,
        log_ids=ids,
        attempt=attempt,
        status=status,
        verdict="delivered" if status == 200 else "retry",
        error=None if status else "network error: ConnectionError",
        latency_ms=12.4,
        excerpt="ok",
    )


def test_a_lookup_finds_the_attempts_of_the_message_whose_range_holds_the_log(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    j = journal(log)
    sent(j, "msg_a", [at(0, 1), at(0, 5)], status=503)
    sent(j, "msg_a", [at(0, 1), at(0, 5)], attempt=2)
    j.flush()
    sent(j, "msg_b", [at(0, 6), at(0, 9)])
    j.flush()

    found = log.find(at(0, 3))

    assert [(e.message_id, e.attempt, e.status) for e in found if isinstance(e, Attempt)] == [
        ("msg_a", 1, 503),
        ("msg_a", 2, 200),
    ]
    first = found[0]
    assert isinstance(first, Attempt)
    assert (first.count, first.first, first.last, first.latency_ms) == (2, at(0, 1), at(0, 5), 12)
    assert (first.pipeline, first.run_id) == (PIPELINE, "manual__1")
    assert [e.message_id for e in log.find(at(0, 9)) if isinstance(e, Attempt)] == ["msg_b"]
    assert log.find(at(0, 10)) == []
    assert log.find(at(3)) == []


def test_a_lookup_reads_only_the_files_its_day_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = delivery_log(tmp_path)
    j = journal(log)
    for day in range(5):
        for n in range(0, 50, 10):
            sent(j, f"msg_{day}_{n}", [at(day, n), at(day, n + 9)])
            j.flush()
    opened: list[str] = []
    kind = type(log.folder)
    real = kind.read_bytes

    def read_bytes(self: Any) -> bytes:
        opened.append(self.name)
        return real(self)

    monkeypatch.setattr(kind, "read_bytes", read_bytes)

    found = delivery_log(tmp_path).find(at(2, 25))

    assert [e.message_id for e in found if isinstance(e, Attempt)] == ["msg_2_20"]
    assert len(opened) == 1  # one file read of the 25 written: the names are the index


def test_a_range_reaching_into_later_days_is_found_from_each_of_them(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    j = journal(log)
    sent(j, "msg_long", [at(0, 1), at(3, 1)])
    j.flush()

    for day in (0, 1, 2, 3):
        probe = at(day, 1) if day in (0, 3) else at(day)
        assert [e.message_id for e in log.find(probe) if isinstance(e, Attempt)] == ["msg_long"], day
    assert log.days() == [(DAY + timedelta(days=d)).date() for d in range(4)]


def test_a_read_covers_the_logs_after_where_it_started_up_to_where_it_stopped(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    record_read(
        log,
        run_id="scheduled__1",
        after=at(0, 10),
        through=at(0, 20),
        fetched=10,
        selected=8,
        mode="checkpoint",
        settings={"log_types": ["s"], "batch_size": 100},
    )

    (read,) = log.find(at(0, 20))
    assert isinstance(read, Read)
    assert read.filters == {"log_types": ["s"]}  # only the settings that select logs
    assert (read.fetched, read.selected, read.mode) == (10, 8, "checkpoint")
    assert log.find(at(0, 10)) == []  # the cursor itself was read by the run before
    assert log.earliest_read() == (DAY.date(), at(0, 10))


def test_a_read_of_nothing_is_not_recorded(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    settings: dict[str, object] = {}
    record_read(log, run_id="r", after=at(0), through=None, fetched=0, selected=0, mode="checkpoint", settings=settings)
    assert log.days() == []


def test_an_excerpt_is_bounded(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    j = journal(log)
    j.record(
        message_id="msg_a",
        log_ids=[at(0, 1)],
        attempt=1,
        status=500,
        verdict="retry",
        error=None,
        latency_ms=1,
        excerpt="x" * 5000,
    )
    j.flush()
    (entry,) = log.find(at(0, 1))
    assert isinstance(entry, Attempt)
    assert len(entry.excerpt) <= EXCERPT_CHARS + len(" [...]")


def test_retention_removes_old_days_and_zero_keeps_nothing(tmp_path: Path) -> None:
    log = delivery_log(tmp_path, retention_days=2)
    j = journal(log)
    for day in range(5):
        sent(j, f"msg_{day}", [at(day, 1)])
        j.flush()

    assert log.prune(now=DAY + timedelta(days=4)) == 2
    assert [d.day for d in log.days()] == [22, 23, 24]
    assert log.find(at(0, 1)) == []

    off = delivery_log(tmp_path, retention_days=0)
    sent(journal(off), "msg_x", [at(1, 1)])
    assert off.write([]) is None
    assert off.prune(now=DAY) == 3
    assert off.days() == []


def test_a_pointer_whose_home_was_pruned_is_skipped(tmp_path: Path) -> None:
    log = delivery_log(tmp_path, retention_days=2)
    j = journal(log)
    sent(j, "msg_long", [at(0, 1), at(2, 1)])
    j.flush()
    assert log.prune(now=DAY + timedelta(days=3)) == 1  # day 0, the file's home, is gone; days 1 and 2 keep pointers
    assert [d.day for d in log.days()] == [21, 22]

    assert log.find(at(2, 1)) == []


def test_odd_names_and_lines_in_the_store_are_skipped(tmp_path: Path) -> None:
    log = delivery_log(tmp_path)
    j = journal(log)
    sent(j, "msg_a", [at(0, 1), at(0, 5)])
    name = log.write(j.pending)
    assert name is not None
    folder = tmp_path / "staging" / PIPELINE / "delivery-log" / DAY.date().isoformat()
    (folder / "notes.txt").write_text("hello")
    (folder / name.name).write_bytes((folder / name.name).read_bytes() + b"{torn\n[1]\n")

    assert [e.message_id for e in log.find(at(0, 3)) if isinstance(e, Attempt)] == ["msg_a"]


log_ids = st.builds(
    lambda moment, n: log_id(n, moment),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)),
    st.integers(min_value=0, max_value=10**39 - 1),
)


@given(log_ids, log_ids, st.sampled_from(["read", "sent"]), st.text("0123456789abcdef", min_size=16, max_size=16))
def test_a_file_name_says_its_range_and_reads_back(one: str, two: str, kind: str, suffix: str) -> None:
    first, last = sorted((one, two))
    assume(kind == "sent" or first < last)  # a read of nothing is never written
    name = FileName(first, last, "read" if kind == "read" else "sent", suffix)

    parsed = parse_name(name.name)

    assert parsed == name
    assert parsed.covers(last)
    assert parsed.covers(first) == (kind == "sent")


@given(st.text(max_size=300))
def test_any_name_in_the_store_parses_or_is_skipped(name: str) -> None:
    parsed = parse_name(name)
    assert parsed is None or parsed.name == name


@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_line_in_the_store_parses_or_is_skipped(line: bytes) -> None:
    entry = parse_line(line)
    assert entry is None or isinstance(entry, Attempt | Read)


near_ids = st.builds(
    lambda seconds, n: log_id(n, DAY + timedelta(seconds=seconds)),
    st.integers(min_value=0, max_value=4 * 86400),
    st.integers(min_value=0, max_value=9),
)


@given(st.lists(st.tuples(near_ids, near_ids), min_size=1, max_size=6), near_ids)
def test_a_lookup_returns_exactly_the_ranges_that_hold_the_log(ranges: list[tuple[str, str]], probe: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        log = DeliveryLog(f"file://{folder}", PIPELINE, 36500)
        j = journal(log)
        for number, pair in enumerate(ranges):
            first, last = sorted(pair)
            sent(j, f"msg_{number}", [first, last])
            j.flush()

        found = {e.message_id for e in log.find(probe) if isinstance(e, Attempt)}

    expected = {f"msg_{n}" for n, pair in enumerate(ranges) if min(pair) <= probe <= max(pair)}
    assert found == expected
