"""Trace a log: which pipeline read it, whether a filter left it out, which message carried it, each answer.

For each pipeline, :func:`trace` looks the log id up in the pipeline's delivery log
(:mod:`auth0_log_webhooks.run.delivery_log`: one day's listing, then the files whose range holds it)
and answers in sentences a person reads:

* a message carried it: the message id (the ``webhook-id`` header), its run, each attempt with its
  time, answer and latency, and whether it was delivered; a message that was not delivered is a dead
  letter, and the answer says how to replay it (or that it was replayed since);
* a run read it and its filters left it out, saying which rule;
* no run read it: it is at or before the checkpoint but older than the delivery log's records (its
  retention, or the pipeline started after it), or after the checkpoint (the next run reads it);
* no run read it and Auth0 answers that it has no such log: a mistyped id, one of another tenant, or
  one past the tenant's retention. The answer says so rather than how to send it.

Whether a filter left a log out is decided on the log itself, fetched again from Auth0 by id (the
staging holds selected logs only, and only until the run commits), with the filters of the run that
read it. When Auth0 no longer has the log, the answer says so and names the message whose range
holds it. Nothing of the log's content is shown but its type code and date; answers' excerpts are
the redacted ones the delivery log keeps.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import REPLAY_DAG_ID, replay_config
from auth0_log_webhooks.log_ids import is_log_id
from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.filters import TypeLevelFilter
from auth0_log_webhooks.pipelines.log_types import MANAGEMENT_API_TYPES, category_of, level_of
from auth0_log_webhooks.run.context import load_config
from auth0_log_webhooks.run.delivery_log import Attempt, DeliveryLog, Read
from auth0_log_webhooks.run.store_errors import StoreUnavailableError
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.wording import plural, time_range, when

Verdict = Literal[
    "delivered",
    "dead_letter",
    "not_delivered",
    "filtered",
    "read_not_sent",
    "before_checkpoint",
    "not_read_yet",
    "no_delivery_log",
    "not_in_tenant",
    "unavailable",
]
LEVEL_NAMES = ("debug", "info", "warning", "error", "critical")

FetchLog = Callable[[Pipeline, str], Mapping[str, Any] | None]
"""Fetch a log from the pipeline's tenant by id (None when the tenant no longer has it)."""


class InvalidLogIdError(ValueError):
    """What was given to trace is not an Auth0 log id."""


@dataclass(frozen=True)
class MessageTrace:
    """One message that carried the log, in one run: its attempts in order."""

    message_id: str
    run_id: str
    attempts: list[Attempt]

    @property
    def delivered(self) -> bool:
        """Whether an attempt got a 2xx answer."""
        return any(attempt.verdict == "delivered" for attempt in self.attempts)


@dataclass
class PipelineTrace:
    """What one pipeline did with the log: a verdict and the sentences that explain it."""

    pipeline: str
    verdict: Verdict
    sentences: list[str] = field(default_factory=list)
    messages: list[MessageTrace] = field(default_factory=list)
    dead_letters: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer as a paragraph."""
        return " ".join(self.sentences)


def check_log_id(value: str) -> str:
    """Return the log id stripped of spaces.

    :raises InvalidLogIdError: saying what a log id looks like (and how long the value was, never the value).
    """
    text = value.strip()
    if not is_log_id(text):
        raise InvalidLogIdError(
            f"That is not an Auth0 log id: a log id is 56 digits starting with 900 (the value given has "
            f"{len(text)} characters). Copy it from the log's log_id field, or from a dead letter or message."
        )
    return text


def trace(
    log_id: str,
    pipelines: Mapping[str, Pipeline],
    variables: Variables,
    *,
    fetch_log: FetchLog | None = None,
) -> list[PipelineTrace]:
    """Return what each pipeline did with ``log_id``.

    :param fetch_log: refetches the log from Auth0 to apply a run's filters; None: filters are not checked.
    :raises InvalidLogIdError: if ``log_id`` is not a log id.
    """
    log_id = check_log_id(log_id)
    cache: dict[str, Mapping[str, Any] | None] = {}
    failed: set[str] = set()

    def fetched(pipeline: Pipeline) -> Mapping[str, Any] | None:
        if fetch_log is None:
            return None
        if pipeline.auth0_conn_id not in cache:
            try:
                cache[pipeline.auth0_conn_id] = fetch_log(pipeline, log_id)
            except Exception:  # a trace answers without the filter check rather than not at all
                cache[pipeline.auth0_conn_id] = None
                failed.add(pipeline.auth0_conn_id)
        return cache[pipeline.auth0_conn_id]

    def absent(pipeline: Pipeline) -> bool:
        """Whether Auth0 answered that it has no such log (not merely: nobody asked, or asking failed)."""
        return fetch_log is not None and fetched(pipeline) is None and pipeline.auth0_conn_id not in failed

    return [_answer_for(log_id, pipeline, variables, fetched, absent) for pipeline in pipelines.values()]


def _answer_for(
    log_id: str,
    pipeline: Pipeline,
    variables: Variables,
    fetched: Callable[[Pipeline], Mapping[str, Any] | None],
    absent: Callable[[Pipeline], bool],
) -> PipelineTrace:
    """One pipeline's answer; a pipeline whose settings or store cannot be read says so, and the others answer."""
    try:
        return _trace_one(log_id, pipeline, variables, fetched, absent)
    except (ConfigError, StoreUnavailableError) as exc:
        return PipelineTrace(
            pipeline.dag_id,
            "unavailable",
            [f"Pipeline {pipeline.dag_id} cannot say what happened to log {log_id}: {exc}"],
        )


def _trace_one(
    log_id: str,
    pipeline: Pipeline,
    variables: Variables,
    fetched: Callable[[Pipeline], Mapping[str, Any] | None],
    absent: Callable[[Pipeline], bool],
) -> PipelineTrace:
    config = load_config(pipeline, None, variables)
    delivery_log = DeliveryLog(config.staging_root, pipeline.dag_id, config.delivery_log_retention_days)
    entries = delivery_log.find(log_id)
    reads = sorted((entry for entry in entries if isinstance(entry, Read)), key=lambda read: read.at)
    messages = _messages([entry for entry in entries if isinstance(entry, Attempt)])
    name = pipeline.dag_id
    if not reads and not messages:
        if delivery_log.enabled and absent(pipeline):
            return _not_in_tenant(log_id, pipeline, config)
        return _unread(log_id, pipeline, config, delivery_log, variables)
    result = PipelineTrace(name, "read_not_sent")
    log = fetched(pipeline)
    if reads:
        read = reads[-1]
        result.sentences.append(
            f"Pipeline {name} read log {log_id} ({when(log_id)}) in run {read.run_id} "
            f"(a read of {plural(read.fetched, 'log')} at {_at(read.at)}, {read.selected:,} selected)."
        )
        if log is not None:
            reason = left_out_because(pipeline, read.filters, log)
            if reason is not None:
                result.verdict = "filtered"
                result.sentences.append(f"Its filters left it out: {reason}. No message carried it, by design.")
                return result
    if not messages:
        result.sentences.append(_read_not_sent(log, reads[-1].run_id))
        return result
    if log is None and reads:
        result.sentences.append(
            "Auth0 did not return the log to check the filters against, so the message below is the one whose "
            "range holds it: it carried the log unless a filter left it out."
        )
    letters = DeadLetterStore(config.dead_letter_root)
    seen: set[str] = set()
    for message in messages:
        result.messages.append(message)
        result.sentences += _message_sentences(message, again=message.message_id in seen)
        seen.add(message.message_id)
    result.verdict = _settle(result, name, letters)
    return result


def _messages(attempts: Sequence[Attempt]) -> list[MessageTrace]:
    """Group attempts by message and run, in the order they were made."""
    grouped: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: (a.at, a.attempt)):
        grouped.setdefault((attempt.message_id, attempt.run_id), []).append(attempt)
    return [MessageTrace(message_id, run_id, found) for (message_id, run_id), found in grouped.items()]


def _at(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return "an unknown time"


def _answer(attempt: Attempt) -> str:
    got = (attempt.error or "no answer") if attempt.status is None else f"HTTP {attempt.status}"
    then = {
        "delivered": "delivered",
        "retry": "to be retried",
        "split": "too large, so it was split in halves and each half sent on its own",
        "permanent": "refused for good",
    }.get(attempt.verdict, attempt.verdict)
    said = (
        f' (the answer began "{attempt.excerpt.strip()[:160]}")'
        if attempt.excerpt.strip() and not (attempt.status is not None and 200 <= attempt.status < 300)
        else ""
    )
    return f"attempt {attempt.attempt} at {_at(attempt.at)} got {got} after {attempt.latency_ms:,} ms: {then}{said}"


def _message_sentences(message: MessageTrace, *, again: bool) -> list[str]:
    first = message.attempts[0]
    if again:
        lead = f"Run {message.run_id} sent the same message again (a replay of the dead letter)."
    else:
        lead = (
            f"Message {message.message_id} (the webhook-id header) carried it in run {message.run_id}, with "
            f"{plural(first.count, 'log')} from {time_range(first.first, first.last)}."
        )
    steps = "; ".join(_answer(attempt) for attempt in message.attempts)
    return [lead, steps[0].upper() + steps[1:] + "."]


def _settle(result: PipelineTrace, pipeline: str, letters: DeadLetterStore) -> Verdict:
    """Say how the log's story ends: delivered, kept as a dead letter (and how to replay it), or neither."""
    if any(message.delivered for message in result.messages):
        last = next(m for m in reversed(result.messages) if m.delivered)
        done = next(a for a in last.attempts if a.verdict == "delivered")
        result.sentences.append(f"It was delivered at {_at(done.at)} (message {last.message_id}, run {last.run_id}).")
        return "delivered"
    kept = []
    for message in result.messages:
        entry = f"{pipeline}/{message.message_id}"
        with contextlib.suppress(KeyError, ValueError):
            letters.get(entry)
            if entry not in kept:
                kept.append(entry)
    if kept:
        result.dead_letters = kept
        result.sentences.append(
            f"It was not delivered: it is a dead letter, kept as {' and '.join(kept)} in {letters.location(pipeline)}. "
            f"Once the webhook takes it, replay it by triggering the DAG {REPLAY_DAG_ID} with the config "
            f"{replay_config(pipeline, kept)}."
        )
        return "dead_letter"
    result.sentences.append(
        "It was not delivered, and no dead letter is kept for it: it was removed from the dead letters by hand, "
        "or the delivery task stopped before keeping it (the run then failed, and its next run sends it again)."
    )
    return "not_delivered"


def _read_not_sent(log: Mapping[str, Any] | None, run_id: str) -> str:
    checked = (
        "Its filters selected it, but" if log is not None else "Auth0 did not return the log to check the filters, and"
    )
    return (
        f"{checked} no attempt to send it is on record: run {run_id}'s delivery may still be under way, or its "
        "delivery tasks failed before sending it (the run then did not move the checkpoint past it, so a later run "
        "sends it). Look at that run's deliver tasks."
    )


def _not_in_tenant(log_id: str, pipeline: Pipeline, config: PipelineConfig) -> PipelineTrace:
    """Answer for a log no run of ``pipeline`` read and its tenant does not have."""
    name = pipeline.dag_id
    return PipelineTrace(
        name,
        "not_in_tenant",
        [
            f"Auth0 has no log {log_id} ({when(log_id)}) on the connection {pipeline.auth0_conn_id} that pipeline "
            f"{name} reads, and no run of {name} is recorded reading it, so there is nothing to send. Check that "
            "the id was copied whole and comes from this tenant. If it does, Auth0 deleted the log once it was "
            "older than the tenant's log retention (1 to 30 days by plan), and its delivery, if there was one, is "
            f"older than the delivery log's records (kept {plural(config.delivery_log_retention_days, 'day')})."
        ],
    )


def _unread(
    log_id: str, pipeline: Pipeline, config: PipelineConfig, delivery_log: DeliveryLog, variables: Variables
) -> PipelineTrace:
    """Answer for a log no run of ``pipeline`` is recorded to have read."""
    name = pipeline.dag_id
    checkpoint = variables.get(pipeline.checkpoint_variable)
    if not delivery_log.enabled:
        return PipelineTrace(
            name,
            "no_delivery_log",
            [
                f"Pipeline {name} keeps no delivery log (delivery_log_retention_days is 0), so it cannot say what "
                f"happened to log {log_id}; set delivery_log_retention_days to keep one."
            ],
        )
    if checkpoint and is_log_id(checkpoint) and log_id <= checkpoint:
        earliest = delivery_log.earliest_read()
        if earliest is None:
            why = (
                "the delivery log holds no read of it: the run that read it ran before the delivery log existed, "
                "or its records are older than the delivery log keeps "
                f"({plural(config.delivery_log_retention_days, 'day')})"
            )
        elif log_id <= earliest[1]:
            why = (
                f"the first run on record (records since {earliest[0].isoformat()}, kept for "
                f"{plural(config.delivery_log_retention_days, 'day')}) started reading after it, at "
                f"{when(earliest[1])}: the pipeline started after it (its start_from, or the checkpoint it was "
                "given), or the run that read it is older than the delivery log's records"
            )
        else:
            why = (
                "it lies between runs on record and no run read it: the checkpoint was moved past it by hand "
                "(the checkpoint Variable was edited)"
            )
        return PipelineTrace(
            name,
            "before_checkpoint",
            [
                f"Log {log_id} ({when(log_id)}) is from before pipeline {name}'s checkpoint ({when(checkpoint)}), "
                f"and {why}. To send it (again), trigger {name} with start_from set to a log id just before it."
            ],
        )
    if checkpoint and is_log_id(checkpoint):
        return PipelineTrace(
            name,
            "not_read_yet",
            [
                f"Log {log_id} ({when(log_id)}) is after pipeline {name}'s checkpoint ({when(checkpoint)}): no run has "
                "read it yet. The next run reads it; if it is a run in progress, trace it again once that run is done."
            ],
        )
    return PipelineTrace(
        name,
        "not_read_yet",
        [
            f"Pipeline {name} has no checkpoint yet (no run committed) and no run recorded reading log {log_id} "
            f"({when(log_id)}). Unpause or trigger {name}; trace it again once a run is done."
        ],
    )


def left_out_because(pipeline: Pipeline, filters: Mapping[str, Any], log: Mapping[str, Any]) -> str | None:
    """Return why a run's filters (as its delivery log ``read`` kept them) leave ``log`` out; None if they select it.

    Only the log's type code, its level and category and the pipeline's own settings are named, never its content.
    """
    settings = PipelineConfig.model_validate(dict(filters))
    selector = pipeline.select(settings)
    if selector.accepts(log):
        return None
    raw = log.get("type")
    code = raw if isinstance(raw, str) else ""
    if pipeline.kind == "management":
        if code not in MANAGEMENT_API_TYPES:
            return f"it is a log of type {code!r}, and a management pipeline delivers Management API operations only"
        return (
            f"its Management API endpoint matches none of api_endpoints ({', '.join(settings.api_endpoints)}, "
            f"matched by {settings.endpoint_match})"
        )
    if isinstance(selector, TypeLevelFilter) and selector.selects_everything_but_defaults:
        return (
            f"its type {code!r} is a Management API operation, which an authentication pipeline leaves out unless "
            "log_types, log_level or log_categories select it"
        )
    level = level_of(code)
    parts = []
    if settings.log_types:
        parts.append(f"its type {code!r} is not among log_types ({', '.join(settings.log_types)})")
    if settings.log_level is not None:
        parts.append(
            f"its level, {LEVEL_NAMES[min(level, 4)]} ({level}), is below log_level {settings.log_level} "
            f"({LEVEL_NAMES[min(settings.log_level, 4)]})"
        )
    if settings.log_categories:
        parts.append(
            f"its category ({category_of(code) or 'none'}) is not among log_categories "
            f"({', '.join(settings.log_categories)})"
        )
    return ", ".join(parts) or f"its type {code!r} is not selected"
