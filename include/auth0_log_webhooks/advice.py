"""Failure messages that say, in their first line, what happened; then where the logs are and what to do.

The Airflow UI shows a failed task's exception first, in a log viewer that cuts long lines, so each
message is a few short lines: what happened (with numbers), where to look, and the exact next step
(a ready-to-paste config for the replay DAG, one entry a line). What cannot be cut short, the dead
letters' location, comes last on a line of its own, so it never pushes the reason or the next step
off screen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks import replay
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.contracts import Chunk, ReplayChunk, ReplayReport
from auth0_log_webhooks.dead_letters import DeadLetter, DeadLetterStore
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.pipelines_file import pipeline_named
from auth0_log_webhooks.runtime import AirflowVariables, RunInfo, Variables, run_staging
from auth0_log_webhooks.wording import plural, when

REPLAY_DAG_ID = "auth0_webhooks_replay"
MAX_ENTRIES_SHOWN = 20  # beyond this the replay config names the pipeline only (it replays them all)


class DeadLettersInChunkError(AirflowFailException):
    """A task kept dead letters; it fails without retrying (its batches are settled, a retry changes nothing)."""


def replay_config(pipeline: str, entries: Sequence[str]) -> str:
    """Return the ``auth0_webhooks_replay`` trigger config that replays ``entries`` (all of the pipeline's if many)."""
    conf: dict[str, object] = {"pipeline": pipeline}
    if 0 < len(entries) <= MAX_ENTRIES_SHOWN:
        conf["entries"] = list(entries)
    return json.dumps(conf)


def replay_config_lines(pipeline: str, entries: Sequence[str]) -> list[str]:
    """Return :func:`replay_config` as short lines (one entry a line): the same JSON, pasted as it is."""
    return json.dumps(json.loads(replay_config(pipeline, entries)), indent=1).splitlines()


def answer_of(letter: DeadLetter) -> str:
    """Return what the webhook last did with a dead letter, briefly: ``HTTP 410`` or the network error."""
    if letter.last_status is not None:
        return f"HTTP {letter.last_status}"
    return letter.last_error or "no answer"


def dead_letter_advice(
    *,
    letters: Sequence[DeadLetter],
    pipeline: str,
    location: str,
    where_logged: str,
    checkpoint_passed: bool,
) -> str:
    """Return the message of a task that kept ``letters``: what happened, where, and the replay config."""
    logs = sum(len(letter.log_ids) for letter in letters)
    first = letters[0]
    # The log viewer shows the exception's class before this line and indents the block: keep it short.
    headline = (
        f"{plural(logs, 'log')} not delivered ({answer_of(first)}); kept as {plural(len(letters), 'dead letter')}."
    )
    entries = [letter.entry_id for letter in letters]
    scope = "" if len(entries) <= MAX_ENTRIES_SHOWN else f" (it replays all {len(entries):,} of the pipeline's entries)"
    lines = [
        headline,
        f"Reason: {first.reason}",
        *([f"Answer: {first.last_body_excerpt[:80]}"] if first.last_body_excerpt else []),
        f"Logs: {where_logged}.",
    ]
    if checkpoint_passed:
        lines.append("The checkpoint moved past them, so new logs keep flowing.")
    lines += [
        "Next step: fix the webhook, then trigger",
        f"{REPLAY_DAG_ID} with this config{scope}:",
        *replay_config_lines(pipeline, entries),
        "Dead letters are kept in:",
        location,
    ]
    return "\n".join(lines)


def undelivered_advice(*, undelivered: int, batches: int, checkpoint: str | None) -> str:
    """Return the message of a run that left batches undelivered (a delivery task failed)."""
    return "\n".join(
        [
            f"{undelivered:,} of {plural(batches, 'batch', 'batches')} were not delivered; "
            f"the checkpoint stays at {when(checkpoint)}.",
            "Logs: the failed deliver tasks of this run say why (their first error line).",
            "Next step: fix the webhook if it is down; the next run delivers these batches again, nothing is lost.",
        ]
    )


def fail_if_chunk_kept_dead_letters(
    pipeline: Pipeline, run: RunInfo, chunk: Chunk, *, variables: Variables | None = None
) -> None:
    """Fail the delivery task if its batches kept dead letters (those still waiting for replay).

    Reads the ledger, so a retried or cleared task that skipped its settled batches still fails,
    unless its dead letters were replayed meanwhile.

    :raises DeadLettersInChunkError: with the replay config of the chunk's entries.
    """
    variables = variables or AirflowVariables()
    staging = run_staging(pipeline, run, variables)
    outcomes = (staging.outcome(index) for index in range(chunk["start"], chunk["stop"]))
    entries = [entry for outcome in outcomes if outcome for entry in outcome["dead_letters"]]
    if not entries:
        return
    store = DeadLetterStore(PipelineConfig.model_validate(staging.read_plan()["config"]).dead_letter_root)
    letters = []
    for entry in entries:
        try:
            letters.append(store.get(entry))
        except KeyError:  # replayed since
            continue
    if letters:
        raise DeadLettersInChunkError(
            dead_letter_advice(
                letters=letters,
                pipeline=pipeline.dag_id,
                location=store.location(pipeline.dag_id),
                where_logged="this task's log; its warnings name each batch and entry",
                checkpoint_passed=False,
            )
        )


def fail_if_replay_left_entries(
    chunk: ReplayChunk, report: ReplayReport, run: RunInfo, *, variables: Variables | None = None
) -> None:
    """Fail a replay task whose entries are still refused, saying what the webhook answered.

    The entries still failing are the chunk's that remain, or (a 413 split them) those this run wrote.

    :raises DeadLettersInChunkError: naming the webhook's answer and the config to try again.
    """
    if not report["still_failing"]:
        return
    store = replay.store_for(pipeline_named(chunk["pipeline"]), variables or AirflowVariables())
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
