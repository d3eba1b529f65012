"""The three steps of a pipeline run, as plain functions the DAG's tasks call.

* :func:`fetch` reads logs after the checkpoint (or within a backfill's window), selects them,
  cuts batches into staging and returns a small plan (XCom) with one chunk per delivery task.
* :func:`deliver` sends one chunk's batches, one request at a time, and records each batch's
  outcome in the staging ledger; batches already settled by an earlier try are skipped.
* :func:`commit` advances the checkpoint to the end of the longest run of settled batches from the
  start (delivered, or kept as dead letters), then fails the run if anything was left undelivered
  or dead-lettered, after committing what is safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from auth0_log_webhooks.checkpoints import (
    InvalidCheckpointError,
    cursor_before,
    cursor_for_time,
    is_log_id,
    parse_start_from,
    time_of,
)
from auth0_log_webhooks.config import PipelineConfig, parse_variable, resolve_config
from auth0_log_webhooks.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery import DeliveryPolicy, Failure, WebhookSender
from auth0_log_webhooks.filters import LogFilter
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.hooks.webhook import WebhookHook
from auth0_log_webhooks.payloads import Message, messages_for
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.staging import Manifest, RunStaging, chunk_ranges, default_root, prune

log = logging.getLogger(__name__)

WINDOW_MARGIN = timedelta(minutes=5)


class MalformedLogError(ValueError):
    """Auth0 returned a log the pipeline cannot place (no log id, or out of order)."""


class DeliveryIncompleteError(RuntimeError):
    """Some batches were not delivered; the checkpoint was committed only up to the first of them."""


class DeadLettersKeptError(RuntimeError):
    """Some messages were kept as dead letters; the checkpoint passed them."""


class Variables(Protocol):
    """Where checkpoints and settings live (Airflow Variables in a task; a dict in tests)."""

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        ...

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        ...


class AirflowVariables:
    """Airflow Variables through the Task SDK (the Execution API; never the metadata DB)."""

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        from airflow.sdk import Variable

        return Variable.get(key, default=None)

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        from airflow.sdk import Variable

        Variable.set(key, value)


class InMemoryVariables:
    """Variables held in a dict: for running the steps outside Airflow (tests, benchmarks, dry runs)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        self.values[key] = value


@dataclass(frozen=True)
class RunInfo:
    """What a step needs to know about its DAG run."""

    dag_id: str
    run_id: str
    window: tuple[datetime, datetime] | None = None


def backfill_window(run_type: object, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime] | None:
    """Return a backfill run's ``[start, end)`` window; None for every other run (they use the checkpoint).

    ``run_type`` may be the Task SDK's ``DagRunType`` enum (whose ``str()`` is not its value) or a string.
    """
    kind = getattr(run_type, "value", run_type)
    if kind == "backfill" and start is not None and end is not None and start < end:
        return start, end
    return None


def load_config(pipeline: Pipeline, params: Mapping[str, Any] | None, variables: Variables) -> PipelineConfig:
    """Return the run's settings: the config Variable overridden by the run's params."""
    raw = variables.get(pipeline.config_variable)
    variable = parse_variable(raw, pipeline.config_variable)
    return resolve_config(variable, params, pipeline.config_variable)


# -- fetch -------------------------------------------------------------------------------------


def start_cursor(
    pipeline: Pipeline,
    config: PipelineConfig,
    params: Mapping[str, Any] | None,
    variables: Variables,
    oldest: Callable[[], Mapping[str, Any] | None],
) -> tuple[str, str]:
    """Return where this run starts reading and why.

    A ``start_from`` trigger param wins for that run; then the checkpoint Variable; then the
    configured ``start_from``; then a little before the oldest log the tenant still retains.

    :raises InvalidCheckpointError: naming the Variable or setting that holds a bad value.
    """
    param = (params or {}).get("start_from")
    if param:
        return parse_start_from(str(param), "start_from param"), "start_from param"
    checkpoint = variables.get(pipeline.checkpoint_variable)
    if checkpoint:
        if not is_log_id(checkpoint.strip()):
            raise InvalidCheckpointError(
                f"Variable {pipeline.checkpoint_variable} holds {checkpoint!r}, which is not an Auth0 log id "
                "(56 digits starting with 900); fix or delete it"
            )
        return checkpoint.strip(), "checkpoint"
    if config.start_from:
        return parse_start_from(config.start_from), "configured start_from"
    first = oldest()
    if first is None:
        return cursor_before(datetime.now(UTC)), "empty tenant"
    return cursor_before(_log_time(first)), "oldest retained log"


def _log_time(log_event: Mapping[str, Any]) -> datetime:
    """Return a log's date, falling back to the time in its id."""
    value = log_event.get("date")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return time_of(str(log_event.get("log_id") or log_event.get("_id")))


def _checked(pages: Iterable[list[Any]], start: str) -> Iterator[dict[str, Any]]:
    """Yield logs in order, refusing a log without a log id or out of log id order."""
    previous = start
    for page in pages:
        for item in page:
            log_id = item.get("log_id") or item.get("_id") if isinstance(item, dict) else None
            if not is_log_id(log_id):
                raise MalformedLogError(
                    f"Auth0 returned a log without a valid log_id after {previous}: {str(item)[:200]}"
                )
            if log_id <= previous:
                raise MalformedLogError(f"Auth0 returned log {log_id} out of order, after {previous}")
            previous = log_id
            yield item


@dataclass
class Stager:
    """Select logs and cut them into staged batches, holding one batch in memory at a time."""

    staging: RunStaging
    accept: LogFilter
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    batch_size: int
    max_logs: int
    window: tuple[datetime, datetime] | None = None

    def run(self, pages: Iterable[list[Any]], start: str) -> Manifest:
        """Consume pages and return the manifest (also written to staging)."""
        manifest = Manifest(start_cursor=start, end_cursor=None)
        batch: list[Mapping[str, Any]] = []
        for item in _checked(pages, start):
            if self._past_window(item):
                break
            manifest.fetched += 1
            manifest.end_cursor = item["log_id"] if "log_id" in item else item["_id"]
            if self._in_window(item) and self.accept.accepts(item):
                batch.append(self.transform(item))
                if len(batch) == self.batch_size:
                    self._flush(manifest, batch)
                    batch = []
            # Past the cap, stop on a batch boundary so the next run cuts the same batches (same
            # webhook-ids); when selected logs are rare, stop anyway after a bounded overshoot.
            if manifest.fetched >= self.max_logs and (not batch or manifest.fetched >= 2 * self.max_logs):
                manifest.note = f"stopped after max_logs_per_run={self.max_logs}; the next run continues"
                break
        self._flush(manifest, batch)
        self.staging.write_manifest(manifest)
        return manifest

    def _flush(self, manifest: Manifest, batch: list[Mapping[str, Any]]) -> None:
        if not batch:
            return
        index = len(manifest.batches)
        self.staging.write_batch(index, batch)
        manifest.batches.append([len(batch), _id(batch[0]), _id(batch[-1])])
        manifest.selected += len(batch)

    def _in_window(self, item: Mapping[str, Any]) -> bool:
        if self.window is None:
            return True
        start, end = self.window
        return start <= _log_time(item) < end

    def _past_window(self, item: Mapping[str, Any]) -> bool:
        return self.window is not None and time_of(_id(item)) > self.window[1] + WINDOW_MARGIN


def _id(log_event: Mapping[str, Any]) -> str:
    return str(log_event.get("log_id") or log_event.get("_id"))


def _chunks(manifest: Manifest, max_tasks: int) -> list[dict[str, Any]]:
    chunks = []
    for number, (start, stop) in enumerate(chunk_ranges(len(manifest.batches), max_tasks)):
        logs = sum(count for count, _, _ in manifest.batches[start:stop])
        first, last = manifest.batches[start][1], manifest.batches[stop - 1][2]
        label = f"batches {start}-{stop - 1}: {logs} logs {first}..{last}"
        chunks.append({"chunk": number, "start": start, "stop": stop, "label": label})
    return chunks


def fetch(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    *,
    variables: Variables | None = None,
    hook: Auth0Hook | None = None,
) -> dict[str, Any]:
    """Pull, select and stage the run's logs; return the plan the other steps use (small, for XCom)."""
    variables = variables or AirflowVariables()
    config = load_config(pipeline, params, variables)
    hook = hook or Auth0Hook(pipeline.auth0_conn_id)
    if run.window:
        start, reason = cursor_for_time(run.window[0] - WINDOW_MARGIN), "backfill window"
    else:
        start, reason = start_cursor(pipeline, config, params, variables, hook.oldest_log)
    staging_root = config.staging_url or default_root("staging")
    pruned = prune(staging_root, run.dag_id, timedelta(days=config.staging_retention_days))
    if pruned:
        log.info("Removed the staging of %d runs older than %s days", pruned, config.staging_retention_days)
    staging = RunStaging(staging_root, run.dag_id, run.run_id)
    staging.reset()
    log.info("Reading logs after %s (%s)%s", start, reason, f" for window {run.window}" if run.window else "")
    stager = Stager(
        staging,
        pipeline.select(config),
        pipeline.transform,
        config.batch_size,
        config.max_logs_per_run,
        run.window,
    )
    manifest = stager.run(hook.iter_log_pages(start), start)
    log.info(
        "Fetched %d logs, selected %d in %d batches; end cursor %s. %s",
        manifest.fetched,
        manifest.selected,
        len(manifest.batches),
        manifest.end_cursor,
        manifest.note,
    )
    return {
        "staging": str(staging.path),
        "mode": "window" if run.window else "checkpoint",
        "start_cursor": start,
        "end_cursor": manifest.end_cursor,
        "fetched": manifest.fetched,
        "selected": manifest.selected,
        "batches": len(manifest.batches),
        "chunks": _chunks(manifest, config.max_delivery_tasks),
        "config": config.model_dump(mode="json"),
    }


# -- deliver -----------------------------------------------------------------------------------


def _policy(config: PipelineConfig, timeout: float) -> DeliveryPolicy:
    return DeliveryPolicy(
        max_attempts=config.max_attempts,
        backoff_initial_seconds=config.backoff_initial_seconds,
        backoff_max_seconds=config.backoff_max_seconds,
        retry_after_max_seconds=config.retry_after_max_seconds,
        timeout_seconds=timeout,
        fmt=config.format,
        envelope=config.log_streams_envelope,
        gzip=config.gzip,
    )


def batch_messages(config: PipelineConfig, logs: Sequence[Mapping[str, Any]]) -> list[Message]:
    """Return the requests that deliver ``logs`` under ``config``: one per batch, or one per log."""
    return messages_for(
        logs, send_as_batch=config.send_as_batch, fmt=config.format, envelope=config.log_streams_envelope
    )


def make_sender(pipeline: Pipeline, config: PipelineConfig, sleep: Callable[[float], None]) -> WebhookSender:
    """Return a sender for the pipeline's webhook connection."""
    hook = WebhookHook(pipeline.webhook_conn_id)
    session = hook.get_conn()
    return WebhookSender(session, hook.url(), hook.signing_secrets(), _policy(config, hook.timeout()), sleep=sleep)


def deliver(
    pipeline: Pipeline,
    run: RunInfo,
    plan: Mapping[str, Any],
    chunk: Mapping[str, Any],
    *,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Deliver one chunk's batches in order, one request at a time; return counts (small, for XCom)."""
    config = PipelineConfig.model_validate(plan["config"])
    staging = RunStaging.at(plan["staging"])
    sender = sender or make_sender(pipeline, config, sleep)
    dead_letters = DeadLetterStore(config.dead_letter_url or default_root("dead_letters"))
    report = {"chunk": chunk["chunk"], "batches": 0, "delivered_logs": 0, "dead_lettered_logs": 0, "skipped": 0}
    for index in range(chunk["start"], chunk["stop"]):
        if staging.outcome(index) is not None:
            report["skipped"] += 1
            continue
        logs = staging.read_batch(index)
        failures: list[Failure] = []
        for message in batch_messages(config, logs):
            failures += sender.send(message)
        kept = [dead_letters.put(pipeline.dag_id, f, dag_id=run.dag_id, run_id=run.run_id) for f in failures]
        kept_logs = sum(len(letter.log_ids) for letter in kept)
        for letter in kept:
            log.warning(
                "Batch %d: kept %d logs as dead letter %s (%s)",
                index,
                len(letter.log_ids),
                letter.entry_id,
                letter.reason,
            )
        outcome = "dead_lettered" if kept else "delivered"
        entries = [letter.entry_id for letter in kept]
        staging.mark(index, {"status": outcome, "delivered_logs": len(logs) - kept_logs, "dead_letters": entries})
        report["batches"] += 1
        report["delivered_logs"] += len(logs) - kept_logs
        report["dead_lettered_logs"] += kept_logs
    log.info("Chunk %s done: %s; %d requests sent", chunk["chunk"], report, sender.requests_sent)
    return report


# -- commit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitDecision:
    """How far the checkpoint may move, and what is left."""

    settled: int
    checkpoint: str | None
    undelivered_batches: int
    delivered_logs: int
    dead_letters: tuple[str, ...]


def decide(manifest: Manifest, outcomes: Mapping[int, Mapping[str, Any]]) -> CommitDecision:
    """Return the checkpoint after the longest prefix of settled batches.

    When every batch is settled the checkpoint goes to the fetch's end cursor, past logs that were
    read but not selected; otherwise to the last log of the last settled batch of the prefix.
    """
    settled = 0
    while settled < len(manifest.batches) and settled in outcomes:
        settled += 1
    if settled == len(manifest.batches):
        checkpoint = manifest.end_cursor or manifest.start_cursor
    elif settled:
        checkpoint = manifest.last_log_id(settled - 1)
    else:
        checkpoint = None
    delivered = sum(o.get("delivered_logs", 0) for o in outcomes.values())
    letters = tuple(e for o in outcomes.values() for e in o.get("dead_letters", []))
    return CommitDecision(settled, checkpoint, len(manifest.batches) - settled, delivered, letters)


def commit(
    pipeline: Pipeline,
    run: RunInfo,
    plan: Mapping[str, Any],
    *,
    variables: Variables | None = None,
) -> dict[str, Any]:
    """Advance the checkpoint as far as is safe, then fail loudly if anything is left over.

    :raises DeliveryIncompleteError: if batches were left undelivered (after committing the rest).
    :raises DeadLettersKeptError: if messages were kept as dead letters.
    """
    variables = variables or AirflowVariables()
    config = PipelineConfig.model_validate(plan["config"])
    staging = RunStaging.at(plan["staging"])
    decision = decide(staging.read_manifest(), staging.outcomes())
    committed = None
    if plan["mode"] == "checkpoint" and decision.checkpoint:
        current = variables.get(pipeline.checkpoint_variable)
        if not current or decision.checkpoint > current.strip():  # never backwards
            variables.set(pipeline.checkpoint_variable, decision.checkpoint)
            committed = decision.checkpoint
    summary = {
        "batches": plan["batches"],
        "settled_batches": decision.settled,
        "delivered_logs": decision.delivered_logs,
        "dead_letters": len(decision.dead_letters),
        "checkpoint": committed or variables.get(pipeline.checkpoint_variable)
        if plan["mode"] == "checkpoint"
        else None,
    }
    log.info("Run summary: %s", summary)
    if decision.undelivered_batches:
        raise DeliveryIncompleteError(
            f"{decision.undelivered_batches} of {plan['batches']} batches were not delivered; the checkpoint "
            f"stays before them ({summary['checkpoint']}); the next run delivers them again"
        )
    staging.remove()
    if decision.dead_letters:
        where = DeadLetterStore(config.dead_letter_url or default_root("dead_letters")).location(pipeline.dag_id)
        raise DeadLettersKeptError(
            f"{len(decision.dead_letters)} messages were kept as dead letters in {where}; the checkpoint passed "
            "them. Fix the webhook, then trigger auth0_webhooks_replay to deliver them"
        )
    return summary
