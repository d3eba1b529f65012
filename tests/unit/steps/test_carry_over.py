"""A retried fetch does not send again what an earlier try of the same run settled: the rule and the fetch."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange
from auth0_log_webhooks.delivery.payloads import messages_for, split
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.carry_over import CarryOver, EarlierTries
from auth0_log_webhooks.steps.commit import DeadLettersKeptError, commit_checkpoint
from auth0_log_webhooks.steps.deliver import deliver_chunk, sent_messages
from auth0_log_webhooks.steps.fetch import fetch_logs
from tests.builders import log_id, staging_of, staging_url_of
from tests.memory import Crash, MemoryReceiver, MemoryTenant, sender_for

pytestmark = pytest.mark.unit

PIPELINE = AUTHENTICATION_API
CHECKPOINT = PIPELINE.checkpoint_variable


def range_of(ids: Sequence[str]) -> BatchRange:
    return BatchRange(count=len(ids), first=ids[0], last=ids[-1])


def settled_by(
    ids: Sequence[str], send_as_batch: bool, generation: int = 1, *, split_first: bool = False
) -> BatchOutcome:
    """The marker a try of ``generation`` wrote after sending the batch of ``ids`` (all delivered)."""
    messages = messages_for([{"log_id": i} for i in ids], send_as_batch=send_as_batch, fmt="json_array", envelope=False)
    if split_first:  # the receiver answered 413: the first message went as two halves
        messages = [*split(messages[0], "json_array", False), *messages[1:]]
    return BatchOutcome(
        status="delivered",
        generation=generation,
        count=len(ids),
        first=ids[0],
        last=ids[-1],
        delivered_logs=len(ids),
        dead_lettered_logs=0,
        dead_letters=[],
        messages=sent_messages(messages, []),
    )


IDS = [log_id(n) for n in (1, 3, 5, 7, 9)]


@pytest.mark.parametrize("send_as_batch", [True, False])
def test_a_batch_an_earlier_try_settled_with_the_same_logs_is_carried_into_the_new_generation(
    send_as_batch: bool,
) -> None:
    earlier = EarlierTries([settled_by(IDS, send_as_batch, generation=1)])

    carried = earlier.carried(range_of(IDS), IDS, send_as_batch, generation=3)

    assert carried is not None
    assert (carried["generation"], carried.get("carried_from"), carried["delivered_logs"]) == (3, 1, 5)
    again = EarlierTries([carried]).carried(range_of(IDS), IDS, send_as_batch, generation=4)
    assert again is not None
    assert again.get("carried_from") == 1, "a carried marker names the try that sent it"


def test_a_message_split_after_a_413_counts_by_its_halves() -> None:
    earlier = EarlierTries([settled_by(IDS, True, split_first=True)])
    assert earlier.carried(range_of(IDS), IDS, True, generation=2) is not None


def test_other_logs_between_the_same_first_and_last_are_sent() -> None:
    other = [log_id(n) for n in (1, 2, 5, 7, 9)]  # log 2 the earlier try's filter left out, log 3 this one's
    earlier = EarlierTries([settled_by(IDS, True)])
    assert earlier.candidate(range_of(other)) is not None, "the ranges match: only the webhook-ids tell"
    assert earlier.carried(range_of(other), other, True, generation=2) is None


def test_a_batch_shaped_into_other_messages_is_sent() -> None:
    earlier = EarlierTries([settled_by(IDS, send_as_batch=True)])
    assert earlier.carried(range_of(IDS), IDS, send_as_batch=False, generation=2) is None


def test_markers_that_do_not_say_what_they_sent_or_do_not_add_up_carry_nothing() -> None:
    without_messages = settled_by(IDS, True)
    del without_messages["messages"]  # written before 0.3.0
    short = {**settled_by(IDS, True), "delivered_logs": 4}
    earlier = EarlierTries([without_messages, BatchOutcome(**short)])  # type: ignore[typeddict-item]
    assert len(earlier) == 0
    assert earlier.carried(range_of(IDS), IDS, True, generation=2) is None


@given(
    earlier=st.lists(st.integers(0, 12), min_size=1, max_size=8, unique=True),
    now=st.lists(st.integers(0, 12), min_size=1, max_size=8, unique=True),
    batch_then=st.booleans(),
    batch_now=st.booleans(),
)
def test_a_batch_is_carried_exactly_when_the_same_logs_went_in_the_messages_or_in_what_a_413_splits_them_into(
    earlier: list[int], now: list[int], batch_then: bool, batch_now: bool
) -> None:
    then_ids, now_ids = [log_id(n) for n in sorted(earlier)], [log_id(n) for n in sorted(now)]
    rule = EarlierTries([settled_by(then_ids, batch_then)])

    carried = rule.carried(range_of(now_ids), now_ids, batch_now, generation=2)

    # One message per log earlier: a batch message now is covered by its halves, down to single logs.
    delivered_alike = then_ids == now_ids and (batch_now or not batch_then or len(now_ids) == 1)
    assert (carried is not None) == delivered_alike


def test_the_carry_over_marks_the_ledger_tells_the_lane_and_counts_in_a_sentence(tmp_path: Path) -> None:
    staging = RunStaging.for_run(f"file://{tmp_path}", "dag", "run").with_generation(2)
    staging.reset()
    told: list[tuple[int, bool]] = []
    carry = CarryOver(staging, EarlierTries([settled_by(IDS, True)]), True, lambda i, b, s: told.append((i, s)))
    newer = [log_id(n) for n in range(6, 9)]
    for index, ids in enumerate([IDS, newer]):
        staging.write_batch(index, [{"log_id": i} for i in ids])
        carry.staged(index, range_of(ids))

    assert told == [(0, True), (1, False)]
    assert staging.outcome(0) is not None
    assert staging.outcome(1) is None
    assert carry.sentence(2) == (
        "Earlier tries of this run's fetch already delivered 5 logs in 1 of the 2 batches try 2 cut, with the same "
        "webhook-ids; they are not sent again, and count as settled for the checkpoint."
    )


def test_a_first_try_says_nothing_and_a_retry_that_cut_other_batches_says_it_sends_them_all(tmp_path: Path) -> None:
    staging = RunStaging.for_run(f"file://{tmp_path}", "dag", "run")
    assert CarryOver(staging, EarlierTries([]), True).sentence(3) is None
    assert CarryOver(staging.with_generation(2), EarlierTries([settled_by(IDS, True)]), True).sentence(3) == (
        "Earlier tries of this run's fetch settled 1 batch, but try 2 cut none of its 3 batches with the same logs "
        "(the logs or the settings changed), so it sends them all."
    )


# -- the fetch, its lane, its delivery tasks and the commit -------------------------------------------------


@pytest.fixture
def variables(tmp_path: Path) -> InMemoryVariables:
    config = {
        "staging_url": f"file://{tmp_path}/staging",
        "dead_letter_url": f"file://{tmp_path}/dead",
        "batch_size": 10,
        "deliver_while_fetching": True,
        "min_batches_per_task": 1,
        "max_attempts": 1,
    }
    return InMemoryVariables({PIPELINE.config_variable: json.dumps(config)})


class Receiver(MemoryReceiver):
    """A receiver whose process-killing request and refusals the test sets."""

    def __init__(self) -> None:
        super().__init__(self._answer)
        self.crash_at: int | None = None
        self.refuse: set[int] = set()

    def _answer(self, ids: tuple[str, ...]) -> int:
        if len(self.arrivals) + 1 == self.crash_at:
            self.crash_at = None
            raise Crash
        return 422 if len(self.arrivals) + 1 in self.refuse else 200

    def accepted(self) -> list[str]:
        return [a.webhook_id for a in self.arrivals if 200 <= a.status < 300]


def fetch_try(run: RunInfo, variables: InMemoryVariables, tenant: MemoryTenant, receiver: Receiver) -> None:
    """One try of the run's fetch, its delivery tasks and its commit."""
    chunks = fetch_logs(
        PIPELINE, run, None, variables=variables, hook=tenant, lane_sender=lambda c: sender_for(receiver, c)
    )["chunks"]
    config = PipelineConfig.model_validate(staging_of(PIPELINE, run, variables).read_plan()["config"])
    for chunk in chunks:
        deliver_chunk(PIPELINE, run, chunk, sender=sender_for(receiver, config))
    commit_checkpoint(PIPELINE, run, staging_url_of(PIPELINE, variables), variables=variables)


def test_a_fetch_killed_after_its_lane_sent_some_batches_is_retried_and_delivers_each_log_once(
    variables: InMemoryVariables, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, receiver = MemoryTenant(), Receiver()
    ids = tenant.add(["s"] * 95)
    receiver.crash_at = 5  # the process dies while the lane sends its fifth batch
    run = RunInfo(PIPELINE.dag_id, "scheduled__1")
    with pytest.raises(Crash):
        fetch_try(run, variables, tenant, receiver)
    assert len(receiver.accepted()) == 4

    with caplog.at_level(logging.INFO):
        fetch_try(RunInfo(run.dag_id, run.run_id, try_number=2), variables, tenant, receiver)

    assert sorted(receiver.accepted()) == sorted(set(receiver.accepted())), "a webhook-id was delivered twice"
    assert len(receiver.accepted()) == 10
    assert receiver.delivered() == set(ids)
    assert variables.get(CHECKPOINT) == ids[-1]
    assert (
        "Earlier tries of this run's fetch already delivered 40 logs in 4 of the 10 batches try 2 cut, with the same "
        "webhook-ids; they are not sent again" in caplog.text
    )


def test_a_batch_the_earlier_try_kept_as_a_dead_letter_is_not_sent_again_and_still_fails_the_commit(
    variables: InMemoryVariables,
) -> None:
    tenant, receiver = MemoryTenant(), Receiver()
    tenant.add(["s"] * 30)
    receiver.refuse, receiver.crash_at = {2}, 3  # batch 1 is refused for good (kept), the third request kills it
    run = RunInfo(PIPELINE.dag_id, "scheduled__1")
    with pytest.raises(Crash):
        fetch_try(run, variables, tenant, receiver)
    (letter,) = [a.webhook_id for a in receiver.arrivals if a.status == 422]

    with pytest.raises(DeadLettersKeptError, match=letter):
        fetch_try(RunInfo(run.dag_id, run.run_id, try_number=2), variables, tenant, receiver)

    assert [a.webhook_id for a in receiver.arrivals].count(letter) == 1, "the dead letter's message was sent again"
    assert len(receiver.accepted()) == 2


def test_a_cleared_fetch_without_a_lane_skips_what_the_earlier_tries_delivery_tasks_sent(
    variables: InMemoryVariables,
) -> None:
    config = {**json.loads(variables.get(PIPELINE.config_variable) or "{}"), "deliver_while_fetching": False}
    variables.set(PIPELINE.config_variable, json.dumps(config))
    tenant, receiver = MemoryTenant(), Receiver()
    ids = tenant.add(["s"] * 40)
    run = RunInfo(PIPELINE.dag_id, "scheduled__1")
    chunks = fetch_logs(PIPELINE, run, None, variables=variables, hook=tenant)["chunks"]
    deliver_chunk(PIPELINE, run, chunks[0], sender=sender_for(receiver, PipelineConfig.model_validate(config)))
    sent_first = len(receiver.accepted())
    assert 0 < sent_first < 4

    fetch_try(RunInfo(run.dag_id, run.run_id, try_number=2), variables, tenant, receiver)

    assert len(receiver.accepted()) == 4 == len(set(receiver.accepted()))
    assert variables.get(CHECKPOINT) == ids[-1]
