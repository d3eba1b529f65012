"""Replay dead letters: re-send kept messages through the same pool, remove what is delivered.

The replay DAG's three tasks call :func:`plan_replay` (choose), :func:`resend` (one mapped task a
chunk) and :func:`summarise` (report). Each kept message is re-encoded from its logs with the
pipeline's current settings, resolved once by ``choose`` and carried in every chunk, so a fixed
format or secret applies; its webhook-id is derived from the same log ids, so a receiver that saw
an earlier attempt recognises it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from auth0_log_webhooks.contracts import ReplayChunk, ReplayReport
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore, InvalidEntryError, split_entry_id
from auth0_log_webhooks.delivery.failure_advice import DeadLettersInChunkError, dead_letter_advice
from auth0_log_webhooks.delivery.sender import WebhookSender, open_sender
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.monitoring import run_history
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import pipeline_named
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.delivery_log import DeliveryLog, Journal
from auth0_log_webhooks.run.staging import chunk_ranges
from auth0_log_webhooks.run.task_io import TaskIO
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.wording import plural, replay_sentence

log = logging.getLogger(__name__)


class ReplayIncompleteError(RuntimeError):
    """Some dead letters could not be delivered; they stay in the store."""


def store_for(config: PipelineConfig) -> DeadLetterStore:
    """Return the dead-letter store of a pipeline with these settings."""
    return DeadLetterStore(config.dead_letter_root)


def pipeline_store(pipeline: Pipeline, variables: Variables) -> DeadLetterStore:
    """Return a pipeline's dead-letter store as its config Variable names it now (for readers outside a run)."""
    return store_for(load_config(pipeline, None, variables))


def checked_entries(pipeline: Pipeline, entries: Sequence[object]) -> list[str]:
    """Return the entry ids if each is ``<pipeline>/msg_<40 hex>`` of ``pipeline``, each once.

    :raises InvalidEntryError: naming the first entry that is malformed or of another pipeline.
    """
    checked: list[str] = []
    for entry in entries:
        if not isinstance(entry, str):
            raise InvalidEntryError(f"dead letter entries are strings, not {type(entry).__name__}")
        name, _ = split_entry_id(entry)
        if name != pipeline.dag_id:
            raise InvalidEntryError(
                f"dead letter entry {entry!r} belongs to pipeline {name!r}; this replay was triggered for "
                f"{pipeline.dag_id!r}. Trigger a replay of {name!r} for it."
            )
        checked.append(entry)
    return list(dict.fromkeys(checked))


def plan_replay(
    pipeline_name: str,
    entries: Sequence[str] | None,
    max_entries: int,
    max_tasks: int,
    *,
    variables: Variables | None = None,
) -> list[ReplayChunk]:
    """Choose the entries to replay (all, or those named) and split them into chunks for mapped tasks.

    :raises InvalidEntryError: naming an entry id that is malformed or of another pipeline.
    :raises KeyError: naming an entry that does not exist.
    """
    variables = variables or AirflowVariables()
    pipeline = pipeline_named(pipeline_name)
    config = load_config(pipeline, None, variables).with_tenant(lambda: Auth0Hook(pipeline.auth0_conn_id).domain)
    store = store_for(config)
    if entries:
        chosen = [store.get(entry).entry_id for entry in checked_entries(pipeline, entries)]
    else:
        chosen = [letter.entry_id for letter in store.entries(pipeline.dag_id)]
    chosen = chosen[:max_entries]
    log.info("Replaying %d dead letters of %s from %s", len(chosen), pipeline.dag_id, store.location(pipeline.dag_id))
    return [
        ReplayChunk(
            pipeline=pipeline.dag_id,
            pool=pipeline.pool,
            entries=chosen[start:stop],
            label=plural(stop - start, "dead letter"),
            config=config.model_dump(mode="json"),
        )
        for start, stop in chunk_ranges(len(chosen), max_tasks)
    ]


def resend(
    chunk: ReplayChunk,
    run: RunInfo,
    io: TaskIO,
    *,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """Run one mapped resend task: label it, re-send its chunk, fail naming the answer if entries are still refused.

    :raises DeadLettersInChunkError: if an entry is still refused (it stays kept).
    """
    io.label(chunk["label"])
    report = replay_chunk(chunk, run, sender=sender, sleep=sleep)
    fail_if_replay_left_entries(chunk, report, run)
    return report


def replay_chunk(
    chunk: ReplayChunk,
    run: RunInfo,
    *,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayReport:
    """Re-send one chunk's entries; remove each delivered entry, keep the rest with their new failure.

    Each attempt goes to the pipeline's delivery log under the replay's run id, written entry by entry.
    """
    pipeline = pipeline_named(chunk["pipeline"])
    config = PipelineConfig.model_validate(chunk["config"])
    store = store_for(config)
    journal = Journal(DeliveryLog(config.staging_root, pipeline.dag_id, config.delivery_log_retention_days), run.run_id)
    sender = sender or open_sender(pipeline.webhook_conn_id, config, kind=pipeline.kind, sleep=sleep)
    sender.journal = journal
    report = ReplayReport(delivered=0, still_failing=0, logs_delivered=0)
    for entry_id in checked_entries(pipeline, chunk["entries"]):
        letter = store.get(entry_id)  # its content is checked to name this same pipeline and webhook id
        try:
            failures = sender.deliver_batch(letter.logs)
        finally:
            journal.flush()
        if failures:
            # Keep the new failures first, then drop the old entry unless one of them replaced it:
            # the logs are never only in memory.
            kept = [store.put(pipeline.dag_id, f, dag_id=run.dag_id, run_id=run.run_id) for f in failures]
            if letter.webhook_id not in {k.webhook_id for k in kept}:
                store.remove(letter)
            report["still_failing"] += 1
            log.warning("%s still failing: %s", entry_id, failures[0].reason)
            continue
        store.remove(letter)
        report["delivered"] += 1
        report["logs_delivered"] += len(letter.logs)
    log.info("%s: %s", chunk["label"], replay_sentence(report))
    return report


def summarise(
    reports: Sequence[ReplayReport],
    pipeline_name: str | None = None,
    run: RunInfo | None = None,
    *,
    variables: Variables | None = None,
) -> ReplayReport:
    """Add up the chunk reports, record them in the pipeline's run history (given the pipeline and the run);
    raise if anything is still failing.

    :raises ReplayIncompleteError: if an entry could not be delivered.
    """
    total = ReplayReport(
        delivered=sum(r["delivered"] for r in reports),
        still_failing=sum(r["still_failing"] for r in reports),
        logs_delivered=sum(r["logs_delivered"] for r in reports),
    )
    log.info("%s", replay_sentence(total))
    if pipeline_name and run:
        run_history.record_replay(variables or AirflowVariables(), pipeline_name, run.run_id, total)
    if total["still_failing"]:
        raise ReplayIncompleteError(
            f"{plural(total['still_failing'], 'dead letter')} could not be delivered and stay in the store; "
            f"{total['delivered']:,} were delivered and removed. The failed resend tasks say why."
        )
    return total


def fail_if_replay_left_entries(chunk: ReplayChunk, report: ReplayReport, run: RunInfo) -> None:
    """Fail a replay task whose entries are still refused, saying what the webhook answered.

    The entries still failing are the chunk's that remain, or (a 413 split them) those this run wrote.

    :raises DeadLettersInChunkError: naming the webhook's answer and the config to try again.
    """
    if not report["still_failing"]:
        return
    store = store_for(PipelineConfig.model_validate(chunk["config"]))
    mine = set(chunk["entries"])
    left = [
        letter
        for letter in store.entries(chunk["pipeline"])
        if letter.entry_id in mine or (letter.run_id == run.run_id and letter.dag_id == run.dag_id)
    ]
    if not left:
        return
    raise DeadLettersInChunkError(
        dead_letter_advice(
            letters=left,
            pipeline=chunk["pipeline"],
            location=store.location(chunk["pipeline"]),
            where_logged="this task's log; its warnings name each entry",
            checkpoint_passed=False,
        ).replace(" not delivered (", " not delivered again (", 1)
    )
