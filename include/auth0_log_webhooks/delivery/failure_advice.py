"""Failure messages that say, in their first line, what happened; then where the logs are and what to do.

The Airflow UI shows a failed task's exception first, in a log viewer that cuts long lines, so each
message is a few short lines: what happened (with numbers), where to look, and the exact next step
(a ready-to-paste config for the replay DAG, one entry a line). What cannot be cut short, the dead
letters' location, comes last on a line of its own, so it never pushes the reason or the next step
off screen.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.delivery.dead_letters import DeadLetter, DeadLetterStore
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


def circuit_open_advice(*, opened: str, pipeline: str, letters: Sequence[DeadLetter]) -> str:
    """Return the message of a delivery task that stopped because the run's circuit is open.

    :param opened: the circuit's error (its answer line, then why).
    :param letters: the dead letters this task kept before the circuit opened (still waiting).
    """
    lines = [
        *opened.splitlines()[:2],
        "Not retried: the circuit stays open for this run, so a retry would send nothing.",
        "The batches not sent keep no dead letter: the checkpoint stays before them,",
        "and the next run sends them again once the webhook answers.",
        "Next step: fix the webhook (HTTP 401 or 403: its credentials; 410: its URL),",
        f"then trigger {pipeline} or wait for its next run.",
    ]
    if letters:
        logs = sum(len(letter.log_ids) for letter in letters)
        entries = [letter.entry_id for letter in letters]
        lines += [
            f"Before that this task kept {plural(logs, 'log')} as {plural(len(letters), 'dead letter')};",
            f"once the webhook is fixed, trigger {REPLAY_DAG_ID} with this config:",
            *replay_config_lines(pipeline, entries),
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


def fail_if_still_kept(
    store: DeadLetterStore,
    entries: Iterable[str],
    *,
    pipeline: str,
    where_logged: str,
    checkpoint_passed: bool,
    error: type[Exception] = DeadLettersInChunkError,
) -> None:
    """Raise ``error`` with :func:`dead_letter_advice` if any of ``entries`` is still kept (not replayed meanwhile).

    The one rule for "this task kept dead letters": the delivery task's guard and the commit both use it.
    """
    letters = store.still_kept(entries)
    if letters:
        raise error(
            dead_letter_advice(
                letters=letters,
                pipeline=pipeline,
                location=store.location(pipeline),
                where_logged=where_logged,
                checkpoint_passed=checkpoint_passed,
            )
        )
