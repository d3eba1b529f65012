"""The deliver step: send one chunk's staged batches and record each batch's outcome in the ledger.

:func:`deliver` is the whole body of a mapped ``deliver`` task: it labels the task, sends the
chunk (:func:`deliver_chunk`), keeps the 429 count for the commit, and fails the task without a
retry when the chunk kept dead letters (:func:`fail_if_chunk_kept_dead_letters`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange, BatchStatus, Chunk, DeliveryReport, SentMessage
from auth0_log_webhooks.delivery.circuit import STOP_STATUSES, CircuitOpenError, RunCircuit
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import circuit_open_advice, fail_if_still_kept
from auth0_log_webhooks.delivery.payloads import Message
from auth0_log_webhooks.delivery.sender import Failure, WebhookSender, open_sender
from auth0_log_webhooks.monitoring import metrics
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.delivery_log import DeliveryLog, Journal
from auth0_log_webhooks.run.settlement import marker_for, settles
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.task_io import ANSWERS_429, TaskIO
from auth0_log_webhooks.wording import delivery_sentence, plural

log = logging.getLogger(__name__)


class StaleChunkError(RuntimeError):
    """The chunk belongs to a fetch attempt that was run again; the new attempt's tasks deliver its logs."""


def deliver(
    pipeline: Pipeline,
    run: RunInfo,
    chunk: Chunk,
    io: TaskIO,
    *,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Run one mapped delivery task: label it, deliver its chunk, keep its 429 count, fail if it kept dead letters.

    :raises StaleChunkError: if the run's fetch was run again after this chunk was planned.
    :raises CircuitOpenError: if the receiver refused everything (no retry helps: the circuit stays open), with
        what happens to the batches not sent and the replay config of the dead letters kept before.
    :raises DeadLettersInChunkError: if the chunk's batches are settled but kept dead letters (no retry helps).
    """
    io.label(chunk["label"])
    settled = SettledChunk()
    try:
        report = deliver_chunk(pipeline, run, chunk, sender=sender, sleep=sleep, settled=settled)
    except CircuitOpenError as exc:
        store, entries = _chunk_dead_letters(run, chunk)
        advice = circuit_open_advice(opened=str(exc), pipeline=pipeline.dag_id, letters=store.still_kept(entries))
        raise CircuitOpenError(advice) from None
    io.keep(ANSWERS_429, report["answers_429"])  # kept even when the task turns red next
    fail_if_chunk_kept_dead_letters(pipeline, run, chunk, settled=settled)
    return report


@dataclass
class SettledChunk:
    """What a delivery task learnt of its chunk's ledger while it sent: the markers it read or wrote, so that its
    end need not read them again (one GET a batch on S3)."""

    dead_letter_root: str | None = None
    """The run's dead-letter store (from the plan's settings); None until the chunk was read."""
    dead_letters: list[str] = field(default_factory=list)
    """The dead-letter entries of the chunk's settled batches, in batch order."""


def chunk_staging(run: RunInfo, chunk: Chunk) -> RunStaging:
    """Return the run's staging, under the root the run's fetch resolved (the chunk carries it)."""
    return RunStaging.for_run(chunk["staging_url"], run.dag_id, run.run_id)


def deliver_chunk(
    pipeline: Pipeline,
    run: RunInfo,
    chunk: Chunk,
    *,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
    settled: SettledChunk | None = None,
) -> DeliveryReport:
    """Deliver one chunk's batches in order, one request at a time; return counts (small, for XCom).

    A batch already settled in the ledger (for the same batch of the same generation) is skipped: the
    task lists the ledger once, after claiming the chunk, and reads the markers of its batches listed. A
    message the webhook refuses for good, or that runs out of attempts, is kept as a dead letter; the
    batch then counts as settled, so the checkpoint may pass it. When the run's circuit opens (see
    :mod:`~auth0_log_webhooks.delivery.circuit`) the task stops sending and fails, leaving the rest unsettled.

    The task's try claims the chunk before sending and checks the claim before each batch
    (:meth:`~auth0_log_webhooks.run.staging.RunStaging.stop_if_superseded`, the fence the fetch uses too):
    when Airflow starts the task again while an older try still runs (a reset after a missed scheduler
    heartbeat, a cleared task), the older try stops before its next batch, so the two send at most
    one batch twice (with the same webhook-id) instead of racing through the whole chunk.

    Every attempt goes to the pipeline's delivery log (:mod:`~auth0_log_webhooks.run.delivery_log`),
    written once per batch, before the batch's ledger marker.

    ``settled``, if given, gets the dead-letter entries of the chunk's settled batches (read or written here).

    :raises StaleChunkError: if the run's fetch was run again after this chunk was planned.
    :raises SupersededTryError: if a newer try of this task claimed the chunk (or a newer fetch try reset the run).
    :raises CircuitOpenError: if the receiver refused everything.
    """
    staging = chunk_staging(run, chunk)
    plan = staging.read_plan()
    if plan["generation"] != chunk["generation"]:
        raise StaleChunkError(
            f"Chunk {chunk['chunk']} was planned by fetch try {chunk['generation']}, but the run's fetch ran again "
            f"(try {plan['generation']}) and cut its batches anew; that try's delivery tasks send them. Nothing sent."
        )
    report = empty_report(chunk["chunk"])
    if staging.read_committed() is not None:  # the task was cleared after its run was committed
        log.info("Run %s is already committed; chunk %d has nothing left to send", run.run_id, chunk["chunk"])
        report["skipped"] = chunk["stop"] - chunk["start"]
        return report
    staging = staging.with_generation(plan["generation"])
    staging.claim(chunk["chunk"], run.try_number)
    staging.stop_if_superseded(chunk["chunk"], run.try_number, f"batch {chunk['start'] + 1}")
    # Listed after the claim: a marker an older try of this task writes later is of the batch it had in hand
    # (it stops before its next one), and that batch is sent twice at most, as when each marker was read in turn.
    listed = staging.settled_indexes()
    config = PipelineConfig.model_validate(plan["config"])
    settled = settled if settled is not None else SettledChunk()
    settled.dead_letter_root = config.dead_letter_root
    batches = BatchSender.open(
        pipeline,
        run,
        staging,
        config,
        chunk["staging_url"],
        chunk["chunk"],
        sender=sender,
        sleep=sleep,
        batches=len(plan["batches"]),
    )
    try:
        for index in range(chunk["start"], chunk["stop"]):
            batch = plan["batches"][index]
            outcome = staging.outcome(index) if index in listed else None
            if outcome is not None and settles(outcome, batch, plan["generation"]):
                report["skipped"] += 1
                settled.dead_letters += outcome["dead_letters"]
                continue
            staging.stop_if_superseded(chunk["chunk"], run.try_number, f"batch {index + 1}")
            settled.dead_letters += batches.send(index, batch, report)["dead_letters"]
    finally:
        batches.close(report)
        log.info("%s", delivery_sentence(report))
    return report


def empty_report(chunk: int) -> DeliveryReport:
    """A report of nothing sent yet, for delivery task ``chunk`` (or the fetch's lane)."""
    return DeliveryReport(
        chunk=chunk, batches=0, skipped=0, delivered_logs=0, dead_lettered_logs=0, requests=0, answers_429=0
    )


@dataclass
class BatchSender:
    """Send staged batches one at a time and settle each in the ledger: what a delivery task does per batch,
    and what the fetch's delivery lane does while it reads (:mod:`~auth0_log_webhooks.steps.lane`).

    ``chunk`` names the sender in the run's circuit breaker (a mapped task's chunk number, or the fetch's lane).
    """

    pipeline: Pipeline
    run: RunInfo
    staging: RunStaging
    sender: WebhookSender
    journal: Journal
    letters: DeadLetterStore
    circuit: RunCircuit
    chunk: int
    requests_before: int = 0
    limited_before: int = 0
    written: dict[int, BatchOutcome] = field(default_factory=dict)
    """The ledger markers this sender wrote, copied into one object when it closes (see ``RunStaging.keep_copies``)."""

    @classmethod
    def open(
        cls,
        pipeline: Pipeline,
        run: RunInfo,
        staging: RunStaging,
        config: PipelineConfig,
        staging_url: str,
        chunk: int,
        *,
        sender: WebhookSender | None = None,
        sleep: Callable[[float], None] = time.sleep,
        batches: int | None = None,
    ) -> BatchSender:
        """Return a batch sender for ``staging`` (in the generation it sends), with the run's settings ``config``
        and, when known (not while the fetch still reads), how many ``batches`` the run has."""
        journal = Journal(DeliveryLog(staging_url, pipeline.dag_id, config.delivery_log_retention_days), run.run_id)
        sender = sender or open_sender(pipeline.webhook_conn_id, config, kind=pipeline.kind, sleep=sleep)
        sender.journal = journal  # every attempt goes to the delivery log, flushed batch by batch
        return cls(
            pipeline,
            run,
            staging,
            sender,
            journal,
            DeadLetterStore(config.dead_letter_root),
            RunCircuit(staging.generation_path / "circuit", config.circuit_breaker_failures, batches=batches),
            chunk,
            sender.requests_sent,
            sender.answers_429,
        )

    def send(self, index: int, batch: BatchRange, report: DeliveryReport) -> BatchOutcome:
        """Send batch ``index`` (``batch`` as the fetch cut it), settle it in the ledger, and count it in ``report``;
        return the ledger marker written.

        :raises CircuitOpenError: if the receiver refused everything; the batch is left unsettled.
        """
        logs = self.staging.read_batch(index)
        delivered: list[Message] = []
        try:
            failures = _send_batch(self.sender, self.circuit, self.chunk, index, logs, delivered)
        finally:  # before the ledger marker: a settled batch always has its attempts on record
            self.journal.flush()
        run = self.run
        kept = [self.letters.put(self.pipeline.dag_id, f, dag_id=run.dag_id, run_id=run.run_id) for f in failures]
        kept_logs = sum(len(letter.log_ids) for letter in kept)
        for letter in kept:
            log.warning(
                "Batch %d: kept %s as dead letter %s: %s",
                index,
                plural(len(letter.log_ids), "log"),
                letter.entry_id,
                letter.reason,
            )
        generation, count, first, last = marker_for(batch, self.staging.generation)
        outcome = BatchOutcome(
            status="dead_lettered" if kept else "delivered",
            generation=generation,
            count=count,
            first=first,
            last=last,
            delivered_logs=len(logs) - kept_logs,
            dead_lettered_logs=kept_logs,
            dead_letters=[letter.entry_id for letter in kept],
            messages=sent_messages(delivered, [f.message for f in failures]),
        )
        self.staging.mark(index, outcome)
        self.written[index] = outcome
        report["batches"] += 1
        report["delivered_logs"] += len(logs) - kept_logs
        report["dead_lettered_logs"] += kept_logs
        return outcome

    def close(self, report: DeliveryReport) -> None:
        """Count the requests and 429 answers since this batch sender opened into ``report``, and the 429s' metric;
        keep a copy of the markers written for the commit (a copy that cannot be written is only logged: the commit
        reads those markers instead)."""
        report["requests"] = self.sender.requests_sent - self.requests_before
        report["answers_429"] = self.sender.answers_429 - self.limited_before
        metrics.record_rate_limited(self.pipeline.dag_id, report["answers_429"], metric="webhook_429")
        try:
            self.staging.keep_copies(f"{self.chunk:04d}-{self.run.try_number:03d}", self.written)
        except Exception as exc:  # the markers stand: the commit reads them one by one
            log.warning("Could not keep a copy of %d ledger markers: %s", len(self.written), type(exc).__name__)


def sent_messages(delivered: list[Message], failed: list[Message]) -> list[SentMessage]:
    """Return what the ledger records of a batch's messages, in log id order: each id, range and status."""
    sent = [_sent(m, "delivered") for m in delivered] + [_sent(m, "dead_lettered") for m in failed]
    return sorted(sent, key=lambda item: item["first"])


def _sent(message: Message, status: BatchStatus) -> SentMessage:
    return SentMessage(
        webhook_id=message.webhook_id,
        count=len(message.log_ids),
        first=message.log_ids[0],
        last=message.log_ids[-1],
        status=status,
    )


def _send_batch(
    sender: WebhookSender,
    circuit: RunCircuit,
    chunk: int,
    index: int,
    logs: list[dict[str, Any]],
    delivered: list[Message],
) -> list[Failure]:
    """Send a batch's messages, checking the run's circuit before each; return the messages that failed
    (``delivered`` gets those the receiver took).

    :raises CircuitOpenError: if the circuit is (or becomes) open; the batch is then left unsettled.
    """
    policy = sender.policy
    failures: list[Failure] = []
    for message in policy.messages(logs):
        circuit.check()
        failed = sender.send(message, delivered)
        if not failed:
            circuit.delivered(chunk)
            continue
        # A 413 split sends both halves: one half's 401/403/410 must open the circuit whatever the other got.
        worst = next((f for f in failed if f.last.status in STOP_STATUSES), failed[-1])
        circuit.failed(chunk, index, worst.last.status, worst.reason)
        failures += failed
    circuit.flush()
    return failures


def fail_if_chunk_kept_dead_letters(
    pipeline: Pipeline, run: RunInfo, chunk: Chunk, *, settled: SettledChunk | None = None
) -> None:
    """Fail the delivery task if its batches kept dead letters (those still waiting for replay).

    Reads the ledger (unless ``settled`` holds what the task read and wrote of it while sending), so a retried or
    cleared task that skipped its settled batches still fails, unless its dead letters were replayed meanwhile.

    :raises DeadLettersInChunkError: with the replay config of the chunk's entries.
    """
    if settled is not None and settled.dead_letter_root is not None:
        store, entries = DeadLetterStore(settled.dead_letter_root), settled.dead_letters
    else:
        store, entries = _chunk_dead_letters(run, chunk)
    if not entries:
        return
    fail_if_still_kept(
        store,
        entries,
        pipeline=pipeline.dag_id,
        where_logged="this task's log; its warnings name each batch and entry",
        checkpoint_passed=False,
    )


def _chunk_dead_letters(run: RunInfo, chunk: Chunk) -> tuple[DeadLetterStore, list[str]]:
    """Return the run's dead-letter store and the entries the chunk's batches kept (as the ledger has them)."""
    staging = chunk_staging(run, chunk).with_generation(chunk["generation"])
    outcomes = staging.outcomes_of(range(chunk["start"], chunk["stop"]))
    entries = [entry for outcome in outcomes if outcome for entry in outcome["dead_letters"]]
    return DeadLetterStore(PipelineConfig.model_validate(staging.read_plan()["config"]).dead_letter_root), entries
