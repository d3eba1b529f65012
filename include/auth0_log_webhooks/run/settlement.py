"""What a commit may trust: ledger markers that match the plan, counts that add up, an unchanged checkpoint.

* :func:`matching` keeps only markers written for the plan's generation and for exactly the batch
  the plan cut at that index (count, first and last log id): a delivery task of an earlier fetch
  attempt can never settle a batch the new attempt cut differently.
* :func:`check_counts` refuses a prefix whose delivered and dead-lettered logs do not add up to the
  logs it selected.
* :func:`compare_and_set` moves the checkpoint only from the value the fetch started from.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange
from auth0_log_webhooks.run.variables import Variables

log = logging.getLogger(__name__)


class LedgerMismatchError(RuntimeError):
    """The ledger's counts do not add up to what the fetch selected; the checkpoint was not moved."""


class CheckpointChangedError(RuntimeError):
    """The checkpoint Variable changed after this run's fetch read it; the commit did not move it."""


def marker_for(batch: BatchRange, generation: int) -> tuple[int, int, str, str]:
    """Return what identifies a batch in the ledger: generation, count, first and last log id."""
    return generation, batch["count"], batch["first"], batch["last"]


def settles(outcome: BatchOutcome, batch: BatchRange, generation: int) -> bool:
    """Return True if ``outcome`` was written for exactly this batch of this generation."""
    written = (outcome.get("generation"), outcome.get("count"), outcome.get("first"), outcome.get("last"))
    return written == marker_for(batch, generation)


def matching(
    batches: Sequence[BatchRange], generation: int, outcomes: Mapping[int, BatchOutcome]
) -> dict[int, BatchOutcome]:
    """Return the outcomes that settle the plan's batches; log and drop every other marker."""
    kept: dict[int, BatchOutcome] = {}
    for index, outcome in outcomes.items():
        if 0 <= index < len(batches) and settles(outcome, batches[index], generation):
            kept[index] = outcome
        else:
            log.warning(
                "Ignored ledger marker %d: it settles %s, not batch %s of generation %d",
                index,
                {key: outcome.get(key) for key in ("generation", "count", "first", "last")},
                batches[index] if 0 <= index < len(batches) else "(none)",
                generation,
            )
    return kept


def check_counts(batches: Sequence[BatchRange], outcomes: Mapping[int, BatchOutcome], settled: int) -> None:
    """Refuse a settled prefix whose delivered plus dead-lettered logs differ from the logs selected.

    :raises LedgerMismatchError: naming the first batch that does not add up.
    """
    for index in range(settled):
        outcome, batch = outcomes[index], batches[index]
        accounted = outcome["delivered_logs"] + outcome["dead_lettered_logs"]
        if accounted != batch["count"]:
            raise LedgerMismatchError(
                f"Batch {index} ({batch['first']}..{batch['last']}) selected {batch['count']} logs but its ledger "
                f"marker accounts for {accounted} ({outcome['delivered_logs']} delivered, "
                f"{outcome['dead_lettered_logs']} dead-lettered); the checkpoint was not moved. Clear the run's "
                "fetch task to stage and deliver the run again."
            )


def compare_and_set(variables: Variables, key: str, expected: str | None, target: str) -> None:
    """Set ``key`` to ``target`` if it still holds ``expected`` (Airflow Variables have no atomic
    compare-and-set; with ``max_active_runs=1`` the window between the read and the write is the
    commit task's own).

    A commit that already succeeded (the Variable holds ``target``) is accepted again, so a retried
    commit is harmless.

    :raises CheckpointChangedError: if the Variable holds anything else, saying what and what to do.
    """
    current = variables.get(key)
    if current == target:
        return
    if (current or None) != (expected or None):
        raise CheckpointChangedError(
            f"Variable {key} changed from {expected} to {current} after this run's fetch read it (another run or a "
            f"person set it); this run did not move it to {target}. What it delivered stays delivered; the next "
            f"run reads after {current}."
        )
    variables.set(key, target)
