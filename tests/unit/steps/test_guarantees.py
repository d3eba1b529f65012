"""The steps' loss guards, run for real on a temporary staging folder with an in-memory tenant and receiver.

Stale writers and re-cut batches, compare-and-set commits, the ledger cross-check, idempotent
commits, expired checkpoints, start_from limits, intake repair and a log without an id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.contracts import BatchRange, Chunk, DeliveryReport
from auth0_log_webhooks.delivery.sender import WebhookSender
from auth0_log_webhooks.log_ids import InvalidCheckpointError
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.kinds import ExpiredCheckpointError
from auth0_log_webhooks.run.settlement import CheckpointChangedError, LedgerMismatchError
from auth0_log_webhooks.run.staging import MalformedLogError, SupersededTryError
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeliveryIncompleteError, commit_checkpoint
from auth0_log_webhooks.steps.deliver import StaleChunkError, deliver_chunk
from auth0_log_webhooks.steps.fetch import fetch_logs
from tests.builders import settled, staging_of, staging_url_of
from tests.memory import MemoryReceiver, MemoryTenant, sender_for

pytestmark = pytest.mark.unit

PIPELINE = AUTHENTICATION_API
CHECKPOINT = PIPELINE.checkpoint_variable
RUN = RunInfo(dag_id=PIPELINE.dag_id, run_id="manual__guarantees")


@pytest.fixture
def variables(tmp_path: Path) -> InMemoryVariables:
    config = {
        "staging_url": f"file://{tmp_path}/staging",
        "dead_letter_url": f"file://{tmp_path}/dead",
        "min_batches_per_task": 1,  # one delivery task per batch, so a test can run one batch's task
    }
    return InMemoryVariables({PIPELINE.config_variable: json.dumps(config)})


@pytest.fixture
def tenant() -> MemoryTenant:
    return MemoryTenant()


@pytest.fixture
def receiver() -> MemoryReceiver:
    return MemoryReceiver()


def config_of(variables: InMemoryVariables) -> PipelineConfig:
    return PipelineConfig.model_validate(json.loads(variables.get(PIPELINE.config_variable) or "{}"))


def deliver_all(
    chunks: list[Chunk], variables: InMemoryVariables, receiver: MemoryReceiver, run: RunInfo = RUN
) -> list[DeliveryReport]:
    sender = sender_for(receiver, config_of(variables))
    return [deliver_chunk(PIPELINE, run, chunk, sender=sender) for chunk in chunks]


def test_a_delivery_task_of_an_earlier_fetch_try_cannot_settle_a_re_cut_batch(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    """The issue's stale writer: batch 1 is logs 101-130 in try 1 and 101-170 in try 2."""
    ids = tenant.add(["s"] * 130)
    first_try = fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"]
    ids += tenant.add(["s"] * 40)
    second = RunInfo(dag_id=RUN.dag_id, run_id=RUN.run_id, try_number=2)
    second_try = fetch_logs(PIPELINE, second, None, variables=variables, hook=tenant)["chunks"]

    with pytest.raises(StaleChunkError, match=r"planned by fetch try 1, but the run's fetch ran again \(try 2\)"):
        deliver_all(first_try, variables, receiver)
    assert receiver.arrivals == []

    staging = staging_of(PIPELINE, RUN, variables).with_generation(2)
    stale = BatchRange(count=30, first=ids[100], last=ids[129])
    staging.mark(1, settled("delivered", 30, batch=stale, generation=1))
    deliver_all(second_try[:1], variables, receiver, second)
    with pytest.raises(DeliveryIncompleteError, match="1 of 2 batches were not delivered"):
        commit_checkpoint(PIPELINE, second, staging_url_of(PIPELINE, variables), variables=variables)

    assert variables.get(CHECKPOINT) == ids[99]  # the stale marker settles nothing: logs 131-170 stay ahead


def test_a_commit_refuses_when_the_checkpoint_changed_since_the_fetch(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 50)
    variables.set(CHECKPOINT, ids[9])
    deliver_all(fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"], variables, receiver)
    variables.set(CHECKPOINT, ids[4])  # a person (or another run) moved it meanwhile

    with pytest.raises(CheckpointChangedError, match=rf"changed from {ids[9]} to {ids[4]} after this run's fetch"):
        commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)
    assert variables.get(CHECKPOINT) == ids[4]


def test_a_retried_commit_after_a_successful_one_answers_the_same_and_moves_nothing(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 50)
    deliver_all(fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"], variables, receiver)
    first = commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)
    variables.set(CHECKPOINT, ids[-1])

    assert commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables) == first
    assert variables.get(CHECKPOINT) == ids[-1]


def test_a_ledger_that_does_not_add_up_moves_nothing(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 50)
    variables.set(CHECKPOINT, ids[0])
    deliver_all(fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"], variables, receiver)
    staging = staging_of(PIPELINE, RUN, variables).with_generation(1)
    marker = staging.outcome(0)
    assert marker is not None
    staging.mark(0, {**marker, "delivered_logs": marker["count"] - 1})
    (staging.generation_path / "copies").rmdir(recursive=True)  # the commit reads the markers themselves

    with pytest.raises(LedgerMismatchError, match=r"selected 49 logs but its ledger marker accounts for 48"):
        commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)
    assert variables.get(CHECKPOINT) == ids[0]


def test_an_expired_checkpoint_fails_the_run_saying_how_many_hours_were_lost(
    tenant: MemoryTenant, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 7300)  # two hours of logs, one a second
    tenant.purged = 3600 * 2 + 1  # Auth0 dropped the first two hours and a log
    variables.set(CHECKPOINT, ids[0])

    with pytest.raises(ExpiredCheckpointError, match=r"Logs dated in those 2\.0 hours .*\(lost upstream\)") as error:
        fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant, now=lambda: tenant.start + timedelta(days=1))[
            "chunks"
        ]
    assert "restart_from_oldest" in str(error.value)
    assert variables.get(CHECKPOINT) == ids[0]


def test_restart_from_oldest_reads_on_and_says_what_was_lost(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables, caplog: pytest.LogCaptureFixture
) -> None:
    ids = tenant.add(["s"] * 7300)
    tenant.purged = 7201
    variables.set(CHECKPOINT, ids[0])
    variables.set(
        PIPELINE.config_variable,
        json.dumps(
            {**json.loads(variables.get(PIPELINE.config_variable) or "{}"), "expired_checkpoint": "restart_from_oldest"}
        ),
    )
    later = tenant.start + timedelta(days=1)

    with caplog.at_level(logging.WARNING):
        chunks = fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant, now=lambda: later)["chunks"]
    deliver_all(chunks, variables, receiver)
    commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)

    assert "2.0 hours" in caplog.text
    assert "reads on from the oldest log" in caplog.text
    assert receiver.delivered() == set(ids[7201:])
    assert variables.get(CHECKPOINT) == ids[-1]


@pytest.mark.parametrize(
    ("start_from", "message"),
    [
        (
            "2099-01-01T00:00:00Z",
            r"start_from param '2099-01-01T00:00:00Z' \(2099-01-01 00:00:00 UTC\) is in the future",
        ),
        ("2000-01-01", r"start_from param '2000-01-01' .* is older than the oldest log the tenant retains"),
    ],
    ids=["future", "before-retention"],
)
def test_a_start_from_param_outside_what_the_tenant_holds_is_refused(
    tenant: MemoryTenant, variables: InMemoryVariables, start_from: str, message: str
) -> None:
    tenant.add(["s"] * 10)

    with pytest.raises(InvalidCheckpointError, match=message):
        fetch_logs(PIPELINE, RUN, {"start_from": start_from}, variables=variables, hook=tenant)["chunks"]


def test_a_one_off_run_capped_by_max_logs_says_no_run_continues(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 300)
    variables.set(CHECKPOINT, ids[-1])
    params = {"start_from": ids[0], "max_logs_per_run": 100, "batch_size": 50}

    fetch_logs(PIPELINE, RUN, params, variables=variables, hook=tenant)["chunks"]

    plan = staging_of(PIPELINE, RUN, variables).read_plan()
    assert plan["mode"] == "one_off"
    assert "does not commit, so no run continues from there" in plan["note"]
    assert "the next run continues" not in plan["note"]


def test_a_log_with_a_lone_surrogate_is_repaired_counted_and_delivered(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables, caplog: pytest.LogCaptureFixture
) -> None:
    ids = tenant.add(["s"] * 3)
    tenant.logs[1]["description"] = "bad \ud800 text"
    tenant.logs[1]["details"] = {"\udfff key": ["\ud83d\ude00 ok", "\udc00"]}

    with caplog.at_level(logging.WARNING):
        chunks = fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"]
    deliver_all(chunks, variables, receiver)
    commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)

    assert staging_of(PIPELINE, RUN, variables).read_plan()["repaired"] == 1
    assert "Repaired 1 logs whose text held lone UTF-16 surrogates" in caplog.text
    assert receiver.delivered() == set(ids)
    assert variables.get(CHECKPOINT) == ids[-1]


def test_a_log_without_an_id_stops_the_run_saying_how_to_step_past_it(
    tenant: MemoryTenant, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s"] * 3)
    del tenant.logs[1]["log_id"]

    with pytest.raises(MalformedLogError, match=rf"set the checkpoint Variable to {ids[2]} \(the next log\)"):
        fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"]


def test_a_run_that_reads_nothing_never_moves_the_checkpoint(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    tenant.add(["s"] * 3)
    variables.set(
        PIPELINE.config_variable,
        json.dumps(
            {
                **json.loads(variables.get(PIPELINE.config_variable) or "{}"),
                "start_from": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            }
        ),
    )

    assert fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"] == []
    commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)

    assert variables.get(CHECKPOINT) is None


def test_an_older_try_of_a_delivery_task_stops_before_its_next_batch_once_a_newer_try_claims_the_chunk(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    """Airflow reset a running task (a missed scheduler heartbeat) and started try 2 while try 1 still runs."""
    tenant.add(["s"] * 300)
    chunks = fetch_logs(PIPELINE, RUN, None, variables=variables, hook=tenant)["chunks"]
    everything = chunks[0].copy()  # one task over the three batches
    everything["stop"] = chunks[-1]["stop"]
    staging = staging_of(PIPELINE, RUN, variables).with_generation(everything["generation"])
    second_try = RunInfo(dag_id=RUN.dag_id, run_id=RUN.run_id, try_number=2)
    answers = receiver.answer

    def answer_then_be_replaced(log_ids: tuple[str, ...]) -> int:
        staging.claim(everything["chunk"], second_try.try_number)  # try 2 starts while batch 0 is in flight
        return answers(log_ids)

    receiver.answer = answer_then_be_replaced
    with pytest.raises(
        SupersededTryError, match=r"Try 1 of this delivery task stopped before batch 2: try 2 took chunk"
    ):
        deliver_chunk(PIPELINE, RUN, everything, sender=sender_for(receiver, config_of(variables)))
    assert len(receiver.arrivals) == 1, "try 1 sent the batch in flight, then nothing more"

    receiver.answer = answers
    report = deliver_chunk(PIPELINE, second_try, everything, sender=sender_for(receiver, config_of(variables)))
    assert (report["skipped"], report["batches"]) == (1, 2)  # batch 0 was settled by try 1
    assert receiver.delivered() == {log["log_id"] for log in tenant.logs}
    with pytest.raises(SupersededTryError):  # and try 1, coming back, never takes the chunk from try 2
        deliver_chunk(PIPELINE, RUN, everything, sender=sender_for(receiver, config_of(variables)))


class TakenOverMidRead(MemoryTenant):
    """A tenant whose second page comes only after ``meanwhile`` ran: Airflow gave up on the reading try (its
    heartbeat lost) and started another, while the first try's process reads on."""

    def __init__(self, logs: MemoryTenant, meanwhile: Callable[[], object]) -> None:
        super().__init__(start=logs.start, logs=logs.logs)
        self.meanwhile = meanwhile

    def iter_log_pages(self, from_: str) -> Iterator[list[dict[str, Any]]]:
        for number, page in enumerate(super().iter_log_pages(from_)):
            if number == 1:
                self.meanwhile()
            yield page


def test_an_orphaned_fetch_try_stops_at_its_next_batch_and_leaves_the_newer_try_owning_the_run(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    """The fetch's own fence: try 1 (and its lane) write nothing once try 2 reset the run, so try 2's plan stands."""
    tenant.add(["s"] * 300)
    second = RunInfo(dag_id=RUN.dag_id, run_id=RUN.run_id, try_number=2)
    newer: list[Chunk] = []

    def lane(config: PipelineConfig) -> WebhookSender:
        return sender_for(receiver, config)

    def second_try() -> None:
        newer.extend(fetch_logs(PIPELINE, second, None, variables=variables, hook=tenant, lane_sender=lane)["chunks"])

    orphan = TakenOverMidRead(tenant, second_try)
    with pytest.raises(SupersededTryError) as raised:  # its lane sent batch 1 before page 2 was read
        fetch_logs(PIPELINE, RUN, None, variables=variables, hook=orphan, lane_hold_from=1, lane_sender=lane)

    assert str(raised.value).startswith(
        "Try 1 of this fetch stopped before staging batch 2: try 2 took the run over (Airflow started the task "
        "again). Nothing is lost: try 2 owns the run"
    )
    staging = staging_of(PIPELINE, RUN, variables)
    assert staging.read_plan()["generation"] == 2, "try 1 left try 2's plan alone"
    assert not (staging.path / "g001" / "batches").exists() or not list((staging.path / "g001" / "batches").iterdir())
    deliver_all(newer, variables, receiver, second)
    commit_checkpoint(PIPELINE, second, staging_url_of(PIPELINE, variables), variables=variables)
    assert variables.get(CHECKPOINT) == tenant.logs[-1]["log_id"]
    sent = [log_id for arrival in receiver.arrivals for log_id in arrival.log_ids]
    assert sorted(sent) == [log["log_id"] for log in tenant.logs], "every log once: try 2 carried try 1's batch 1"


def test_a_log_streams_category_param_delivers_that_category_once_off_and_leaves_the_checkpoint(
    tenant: MemoryTenant, receiver: MemoryReceiver, variables: InMemoryVariables
) -> None:
    ids = tenant.add(["s", "f", "fu", "fp", "ss", "seccft"])
    variables.set(CHECKPOINT, ids[0])
    params = {"start_from": ids[0], "log_categories": '[{"type": "category", "name": "auth.login.fail"}]'}

    deliver_all(fetch_logs(PIPELINE, RUN, params, variables=variables, hook=tenant)["chunks"], variables, receiver)
    commit_checkpoint(PIPELINE, RUN, staging_url_of(PIPELINE, variables), variables=variables)

    assert receiver.delivered() == {ids[1], ids[2], ids[3]}  # f, fu, fp: Auth0's Login - Failure category
    assert "log_categories param" in staging_of(PIPELINE, RUN, variables).read_plan()["note"]
    assert variables.get(CHECKPOINT) == ids[0]
