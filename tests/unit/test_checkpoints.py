"""Checkpoint rules: log ids as cursors, where a run starts, how far it commits, never backwards."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.checkpoints import (
    InvalidCheckpointError,
    advanced,
    cursor_for_time,
    decide,
    is_log_id,
    log_id_of,
    log_time,
    parse_start_from,
    start_cursor,
    time_of,
)
from auth0_log_webhooks.contracts import BatchOutcome, BatchRange

pytestmark = pytest.mark.unit

LOG_ID = "90020211201185132572079310688835925971249535794074878050"
BASE = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)


def log_id(n: int, at: datetime = BASE) -> str:
    return "900" + at.strftime("%Y%m%d%H%M%S") + f"{n:039d}"


def log(n: int, code: str = "s", at: datetime = BASE) -> dict:
    return {"log_id": log_id(n, at), "type": code, "date": at.isoformat().replace("+00:00", "Z")}


def batch(count: int, first: int, last: int) -> BatchRange:
    return BatchRange(count=count, first=log_id(first), last=log_id(last))


def test_a_documented_log_id_is_accepted():
    assert is_log_id(LOG_ID)
    assert parse_start_from(LOG_ID) == LOG_ID
    assert time_of(LOG_ID) == datetime(2021, 12, 1, 18, 51, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "cursor"),
    [
        ("2026-11-01", "90020261101000000" + "0" * 39),
        ("2026-11-01T12:30:05Z", "90020261101123005" + "0" * 39),
        ("2026-11-01T13:30:05+01:00", "90020261101123005" + "0" * 39),
    ],
    ids=["date", "utc", "offset"],
)
def test_an_iso_date_becomes_the_cursor_of_its_second(value, cursor):
    assert parse_start_from(value) == cursor
    assert is_log_id(cursor)


def test_a_cursor_sorts_before_every_log_of_its_second_and_after_earlier_ones():
    cursor = cursor_for_time(datetime(2021, 12, 1, 18, 51, 32, tzinfo=UTC))
    assert cursor < LOG_ID
    assert cursor_for_time(datetime(2021, 12, 1, 18, 51, 33, tzinfo=UTC)) > LOG_ID


@pytest.mark.parametrize("value", ["yesterday", "12345", LOG_ID + "0", "800" + LOG_ID[3:]])
def test_a_bad_start_from_names_the_setting_and_the_value(value):
    with pytest.raises(InvalidCheckpointError, match=f"start_from {value!r}"):
        parse_start_from(value)


# -- a log's id and time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"log_id": LOG_ID, "_id": "other"}, LOG_ID),
        ({"_id": LOG_ID}, LOG_ID),
        ({"log_id": None, "_id": LOG_ID}, LOG_ID),
        ({"log_id": "", "_id": LOG_ID}, LOG_ID),
    ],
    ids=["log_id", "underscore-id", "null-log_id", "empty-log_id"],
)
def test_a_logs_id_is_its_log_id_else_its_underscore_id(item, expected):
    assert log_id_of(item) == expected


@pytest.mark.parametrize("item", [{}, {"log_id": None}, {"log_id": 5, "_id": None}], ids=["none", "null", "number"])
def test_a_log_without_an_id_is_an_error_quoting_it(item):
    with pytest.raises(ValueError, match="log has no log_id"):
        log_id_of(item)


def test_a_logs_time_is_its_date_in_utc_else_the_time_in_its_id():
    assert log_time({"date": "2026-11-26T06:00:00+01:00", "log_id": LOG_ID}) == datetime(2026, 11, 26, 5, tzinfo=UTC)
    assert log_time({"date": "not a date", "log_id": LOG_ID}) == time_of(LOG_ID)


# -- decide ------------------------------------------------------------------------------------

BATCHES = [batch(2, 1, 2), batch(2, 4, 5), batch(1, 7, 7)]
START, END = log_id(0), log_id(9)  # logs 8 and 9 were read but not selected
DELIVERED = BatchOutcome(status="delivered", delivered_logs=2, dead_letters=[])


def test_the_checkpoint_passes_unselected_logs_when_every_batch_is_settled():
    decision = decide(BATCHES, END, {0: DELIVERED, 1: DELIVERED, 2: {**DELIVERED, "delivered_logs": 1}})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (3, log_id(9), 0)
    assert (decision.delivered_logs, decision.dead_letters) == (5, ())


def test_the_checkpoint_stops_before_the_first_unsettled_batch_when_there_is_a_gap():
    decision = decide(BATCHES, END, {0: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (1, log_id(2), 2)


def test_there_is_no_checkpoint_when_the_first_batch_is_unsettled():
    decision = decide(BATCHES, END, {1: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, None, 3)


def test_dead_lettered_batches_count_as_settled_and_their_entries_are_listed():
    # A 413 split: one half of batch 1 was delivered, the other kept.
    letters = BatchOutcome(status="dead_lettered", delivered_logs=1, dead_letters=["p/msg_a"])
    decision = decide(BATCHES, END, {0: DELIVERED, 1: letters, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint) == (3, log_id(9))
    assert decision.dead_letters == ("p/msg_a",)
    assert decision.delivered_logs == 5


@pytest.mark.parametrize(
    ("end_cursor", "checkpoint"),
    [(log_id(9), log_id(9)), (None, None)],
    ids=["logs-read-none-selected", "nothing-read-never-moves-it"],
)
def test_the_checkpoint_moves_past_what_was_read_when_nothing_was_staged(end_cursor, checkpoint):
    decision = decide([], end_cursor, {})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, checkpoint, 0)


@given(current=st.one_of(st.none(), st.integers(0, 10**6)), candidate=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_commit_never_moves_the_checkpoint_backwards(current, candidate):
    now = None if current is None else log_id(current)
    target = advanced(now, None if candidate is None else log_id(candidate))
    if target is not None:
        assert now is None or target > now
        assert target == log_id(candidate)
    else:
        assert candidate is None or (current is not None and candidate <= current)


# -- start_cursor ------------------------------------------------------------------------------

CHECKPOINT = log_id(40)
PARAM = log_id(50)
CONFIGURED = "2026-11-01T00:00:00Z"


class Oldest:
    """The tenant's oldest retained log, counting the lookups."""

    def __init__(self, item: dict | None) -> None:
        self.item = item
        self.calls = 0

    def __call__(self) -> dict | None:
        self.calls += 1
        return self.item


def start(
    *, param: object = None, checkpoint: str | None = None, configured: str | None = None, oldest: Oldest
) -> tuple[str, str]:
    return start_cursor(
        param=param, checkpoint=checkpoint, checkpoint_variable="p_checkpoint", configured=configured, oldest=oldest
    )


@pytest.mark.parametrize(
    ("params", "checkpoint", "configured", "expected", "reason"),
    [
        ({"start_from": PARAM}, CHECKPOINT, CONFIGURED, PARAM, "start_from param"),
        ({"start_from": "2026-11-20"}, CHECKPOINT, None, cursor_for_time(datetime(2026, 11, 20)), "start_from param"),
        ({"start_from": None}, CHECKPOINT, CONFIGURED, CHECKPOINT, "checkpoint"),
        (None, f" {CHECKPOINT}\n", CONFIGURED, CHECKPOINT, "checkpoint"),
        (None, None, CONFIGURED, cursor_for_time(datetime(2026, 11, 1)), "configured start_from"),
        (None, "", CONFIGURED, cursor_for_time(datetime(2026, 11, 1)), "configured start_from"),
    ],
    ids=["param-wins", "param-date", "empty-param", "checkpoint-trimmed", "configured", "empty-checkpoint"],
)
def test_start_cursor_follows_param_then_checkpoint_then_config(params, checkpoint, configured, expected, reason):
    oldest = Oldest(log(1))
    param = (params or {}).get("start_from")
    assert start(param=param, checkpoint=checkpoint, configured=configured, oldest=oldest) == (expected, reason)
    assert oldest.calls == 0  # no Auth0 request when a setting decides


def test_start_cursor_is_a_little_before_the_oldest_log_when_nothing_is_set():
    oldest = Oldest(log(1, at=BASE))
    cursor, reason = start(oldest=oldest)
    assert (cursor, reason) == (cursor_for_time(BASE - timedelta(minutes=5)), "oldest retained log")


def test_start_cursor_is_a_little_before_now_when_the_tenant_has_no_log():
    cursor, reason = start(oldest=Oldest(None))
    assert reason == "empty tenant"
    assert abs(time_of(cursor) - (datetime.now(UTC) - timedelta(minutes=5))) < timedelta(minutes=1)


@pytest.mark.parametrize("value", ["abc", log_id(1)[:-1], "800" + log_id(1)[3:]], ids=["text", "short", "prefix"])
def test_a_malformed_checkpoint_variable_is_refused_naming_it(value):
    with pytest.raises(InvalidCheckpointError, match=f"Variable p_checkpoint holds '{value}'"):
        start(checkpoint=value, configured=CONFIGURED, oldest=Oldest(log(1)))


def test_a_malformed_start_from_param_is_refused_naming_the_param():
    with pytest.raises(InvalidCheckpointError, match="start_from param 'yesterday'"):
        start(param="yesterday", oldest=Oldest(log(1)))
