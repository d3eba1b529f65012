"""The checkpoint policy: where a run starts, how far it commits, never backwards."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.log_ids import (
    InvalidCheckpointError,
    cursor_for_time,
    time_of,
)
from auth0_log_webhooks.run.checkpoint_policy import advanced, decide, start_cursor
from tests.builders import BASE, batch, log, log_id, settled

pytestmark = pytest.mark.unit

LOG_ID = "90020211201185132572079310688835925971249535794074878050"


# -- decide ------------------------------------------------------------------------------------

BATCHES = [batch(2, 1, 2), batch(2, 4, 5), batch(1, 7, 7)]
START, END = log_id(0), log_id(9)  # logs 8 and 9 were read but not selected
DELIVERED = settled("delivered", 2, [])


def test_the_checkpoint_passes_unselected_logs_when_every_batch_is_settled() -> None:
    decision = decide(BATCHES, END, {0: DELIVERED, 1: DELIVERED, 2: {**DELIVERED, "delivered_logs": 1}})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (3, log_id(9), 0)
    assert (decision.delivered_logs, decision.dead_letters) == (5, ())


def test_the_checkpoint_stops_before_the_first_unsettled_batch_when_there_is_a_gap() -> None:
    decision = decide(BATCHES, END, {0: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (1, log_id(2), 2)


def test_there_is_no_checkpoint_when_the_first_batch_is_unsettled() -> None:
    decision = decide(BATCHES, END, {1: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, None, 3)


def test_dead_lettered_batches_count_as_settled_and_their_entries_are_listed() -> None:
    # A 413 split: one half of batch 1 was delivered, the other kept.
    letters = settled("dead_lettered", 1, ["p/msg_a"])
    decision = decide(BATCHES, END, {0: DELIVERED, 1: letters, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint) == (3, log_id(9))
    assert decision.dead_letters == ("p/msg_a",)
    assert decision.delivered_logs == 5


@pytest.mark.parametrize(
    ("end_cursor", "checkpoint"),
    [(log_id(9), log_id(9)), (None, None)],
    ids=["logs-read-none-selected", "nothing-read-never-moves-it"],
)
def test_the_checkpoint_moves_past_what_was_read_when_nothing_was_staged(end_cursor: Any, checkpoint: Any) -> None:
    decision = decide([], end_cursor, {})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, checkpoint, 0)


@given(current=st.one_of(st.none(), st.integers(0, 10**6)), candidate=st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_commit_never_moves_the_checkpoint_backwards(current: Any, candidate: Any) -> None:
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

    def __init__(self, item: dict[str, Any] | None) -> None:
        self.item = item
        self.calls = 0

    def __call__(self) -> dict[str, Any] | None:
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
def test_start_cursor_follows_param_then_checkpoint_then_config(
    params: dict[str, Any] | None, checkpoint: Any, configured: Any, expected: Any, reason: str
) -> None:
    oldest = Oldest(log(1))
    param = (params or {}).get("start_from")
    assert start(param=param, checkpoint=checkpoint, configured=configured, oldest=oldest) == (expected, reason)
    assert oldest.calls == 0  # no Auth0 request when a setting decides


def test_start_cursor_is_a_little_before_the_oldest_log_when_nothing_is_set() -> None:
    oldest = Oldest(log(1, at=BASE))
    cursor, reason = start(oldest=oldest)
    assert (cursor, reason) == (cursor_for_time(BASE - timedelta(minutes=5)), "oldest retained log")


def test_start_cursor_is_a_little_before_now_when_the_tenant_has_no_log() -> None:
    cursor, reason = start(oldest=Oldest(None))
    assert reason == "empty tenant"
    assert abs(time_of(cursor) - (datetime.now(UTC) - timedelta(minutes=5))) < timedelta(minutes=1)


@pytest.mark.parametrize("value", ["abc", log_id(1)[:-1], "800" + log_id(1)[3:]], ids=["text", "short", "prefix"])
def test_a_malformed_checkpoint_variable_is_refused_naming_it(value: Any) -> None:
    with pytest.raises(InvalidCheckpointError, match=f"Variable p_checkpoint holds '{value}'"):
        start(checkpoint=value, configured=CONFIGURED, oldest=Oldest(log(1)))


def test_a_malformed_start_from_param_is_refused_naming_the_param() -> None:
    with pytest.raises(InvalidCheckpointError, match="start_from param 'yesterday'"):
        start(param="yesterday", oldest=Oldest(log(1)))
