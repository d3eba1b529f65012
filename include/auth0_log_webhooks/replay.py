"""Replay dead letters: re-send kept messages through the same pool, remove what is delivered.

Each kept message is re-encoded from its logs with the pipeline's current settings, so a fixed
format or secret applies; its webhook-id is derived from the same log ids, so a receiver that saw
an earlier attempt recognises it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auth0_log_webhooks.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery import WebhookSender
from auth0_log_webhooks.pipelines import PIPELINES, Pipeline
from auth0_log_webhooks.staging import chunk_ranges, default_root
from auth0_log_webhooks.tasks import AirflowVariables, RunInfo, Variables, batch_messages, load_config, make_sender

log = logging.getLogger(__name__)


class ReplayIncompleteError(RuntimeError):
    """Some dead letters could not be delivered; they stay in the store."""


def pipeline_named(name: str) -> Pipeline:
    """Return a pipeline by DAG id; raise ValueError listing the known ones."""
    if name not in PIPELINES:
        raise ValueError(f"unknown pipeline {name!r}; known: {', '.join(sorted(PIPELINES))}")
    return PIPELINES[name]


def store_for(pipeline: Pipeline, variables: Variables) -> DeadLetterStore:
    """Return the pipeline's dead-letter store (from its config Variable)."""
    config = load_config(pipeline, None, variables)
    return DeadLetterStore(config.dead_letter_url or default_root("dead_letters"))


def plan_replay(
    pipeline_name: str,
    entries: Sequence[str] | None,
    max_entries: int,
    max_tasks: int,
    *,
    variables: Variables | None = None,
) -> list[dict[str, Any]]:
    """Choose the entries to replay (all, or those named) and split them into chunks for mapped tasks.

    :raises KeyError: naming an entry that does not exist.
    """
    variables = variables or AirflowVariables()
    pipeline = pipeline_named(pipeline_name)
    store = store_for(pipeline, variables)
    if entries:
        chosen = list(dict.fromkeys(store.get(entry).entry_id for entry in entries))  # each once
    else:
        chosen = [letter.entry_id for letter in store.entries(pipeline.dag_id)]
    chosen = chosen[:max_entries]
    log.info("Replaying %d dead letters of %s from %s", len(chosen), pipeline.dag_id, store.location(pipeline.dag_id))
    return [
        {"pipeline": pipeline.dag_id, "entries": chosen[start:stop], "label": f"{stop - start} dead letters"}
        for start, stop in chunk_ranges(len(chosen), max_tasks)
    ]


def replay_chunk(
    chunk: Mapping[str, Any],
    run: RunInfo,
    *,
    variables: Variables | None = None,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, int]:
    """Re-send one chunk's entries; remove each delivered entry, keep the rest with their new failure."""
    variables = variables or AirflowVariables()
    pipeline = pipeline_named(chunk["pipeline"])
    config = load_config(pipeline, None, variables)
    store = store_for(pipeline, variables)
    sender = sender or make_sender(pipeline, config, sleep)
    report = {"delivered": 0, "still_failing": 0, "logs_delivered": 0}
    for entry_id in chunk["entries"]:
        letter = store.get(entry_id)
        failures = [failure for message in batch_messages(config, letter.logs) for failure in sender.send(message)]
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
    log.info("Replayed %s: %s", chunk["label"], report)
    return report


def summarise(reports: Sequence[Mapping[str, int]]) -> dict[str, int]:
    """Add up the chunk reports; raise if anything is still failing.

    :raises ReplayIncompleteError: if an entry could not be delivered.
    """
    total = {key: sum(r.get(key, 0) for r in reports) for key in ("delivered", "still_failing", "logs_delivered")}
    log.info("Replay summary: %s", total)
    if total["still_failing"]:
        raise ReplayIncompleteError(
            f"{total['still_failing']} dead letters could not be delivered and stay in the store; "
            f"{total['delivered']} were delivered and removed"
        )
    return total
