"""The checkpoint's rules: where a run starts reading, and how far its commit may move the checkpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange
from auth0_log_webhooks.log_ids import InvalidCheckpointError, cursor_before, is_log_id, log_time, parse_start_from

# -- where a run starts ------------------------------------------------------------------------


def start_cursor(
    *,
    param: object,
    checkpoint: str | None,
    checkpoint_variable: str,
    configured: str | None,
    oldest: Callable[[], Mapping[str, Any] | None],
) -> tuple[str, str]:
    """Return where a run starts reading and why.

    A ``start_from`` trigger param wins for that run; then the checkpoint Variable; then the
    configured ``start_from``; then a little before the oldest log the tenant still retains
    (``oldest`` is asked only then: it costs an Auth0 request).

    :raises InvalidCheckpointError: naming the Variable or setting that holds a bad value.
    """
    if param:
        return parse_start_from(str(param), "start_from param"), "start_from param"
    if checkpoint and checkpoint.strip():
        if not is_log_id(checkpoint.strip()):
            raise InvalidCheckpointError(
                f"Variable {checkpoint_variable} holds {checkpoint!r}, which is not an Auth0 log id "
                "(56 digits starting with 900); fix or delete it"
            )
        return checkpoint.strip(), "checkpoint"
    if configured:
        return parse_start_from(configured), "configured start_from"
    first = oldest()
    if first is None:
        return cursor_before(datetime.now(UTC)), "empty tenant"
    return cursor_before(log_time(first)), "oldest retained log"


# -- how far a run commits ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommitDecision:
    """How far the checkpoint may move, and what is left."""

    settled: int
    checkpoint: str | None
    undelivered_batches: int
    delivered_logs: int
    dead_letters: tuple[str, ...]


def decide(
    batches: Sequence[BatchRange],
    end: str | None,
    outcomes: Mapping[int, BatchOutcome],
) -> CommitDecision:
    """Return the checkpoint after the longest prefix of settled batches.

    When every batch is settled the checkpoint goes to the fetch's ``end`` cursor, past logs that
    were read but not selected; otherwise to the last log of the last settled batch of the prefix.
    A fetch that read nothing (``end`` is None) gives no checkpoint: the start cursor may be a date
    or a param, never a position the pipeline has read up to.
    """
    settled = 0
    while settled < len(batches) and settled in outcomes:
        settled += 1
    if settled == len(batches):
        checkpoint = end
    elif settled:
        checkpoint = batches[settled - 1]["last"]
    else:
        checkpoint = None
    delivered = sum(outcome["delivered_logs"] for outcome in outcomes.values())
    letters = tuple(entry for outcome in outcomes.values() for entry in outcome["dead_letters"])
    return CommitDecision(settled, checkpoint, len(batches) - settled, delivered, letters)


def advanced(current: str | None, candidate: str | None) -> str | None:
    """Return the checkpoint to write: ``candidate`` if it is past ``current``, else None (never backwards)."""
    if candidate is None:
        return None
    if current and current.strip() and candidate <= current.strip():
        return None
    return candidate
