"""A retried fetch settles, without sending it, each batch an earlier try of the same run already settled.

The fetch reads the ledgers its earlier tries left
(:meth:`~auth0_log_webhooks.run.staging.RunStaging.earlier_outcomes`) before it stages anything. As
each batch is staged, :class:`CarryOver` asks the rule (:class:`EarlierTries`, the one place it lives)
whether an earlier try settled the same messages, and if so writes
the earlier outcome as this try's ledger marker at once. The fetch's delivery lane, the delivery tasks
and the commit then find the batch settled in this try's ledger, as if this try had sent it: the lane
and the tasks skip it, and the commit counts it in the settled prefix the checkpoint may pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import cast

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange
from auth0_log_webhooks.delivery.payloads import message_groups, webhook_id_for
from auth0_log_webhooks.log_ids import log_id_of
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.wording import plural


def _covered(log_ids: Sequence[str], settled: set[str]) -> bool:
    """Return True if the message of ``log_ids`` was settled: itself, or both halves a 413 split it into."""
    if webhook_id_for(log_ids) in settled:
        return True
    half = len(log_ids) // 2
    return half > 0 and _covered(log_ids[:half], settled) and _covered(log_ids[half:], settled)


class EarlierTries:
    """The batches earlier tries of a run's fetch settled (delivered, or kept as dead letters), found by
    what they hold: the rule that a retried fetch does not send a batch again.

    A batch the retry cuts is settled already when an earlier try settled the batch of the same count,
    first and last log id, and every message the retry would send for it has a webhook-id that batch's
    marker records (a message split after a 413 counts by its halves). Webhook-ids are digests of the
    log ids (:func:`~auth0_log_webhooks.delivery.payloads.webhook_id_for`), so this holds exactly when
    the same logs were sent in the same messages; when settings or logs changed, the batch is sent.
    """

    def __init__(self, outcomes: Iterable[BatchOutcome]) -> None:
        self._by_batch: dict[tuple[int, str, str], BatchOutcome] = {}
        for outcome in sorted(outcomes, key=lambda o: o["generation"]):  # the newest try's marker wins
            accounted = outcome["delivered_logs"] + outcome["dead_lettered_logs"]
            if outcome.get("messages") and accounted == outcome["count"]:
                self._by_batch[(outcome["count"], outcome["first"], outcome["last"])] = outcome

    def __len__(self) -> int:
        return len(self._by_batch)

    def candidate(self, batch: BatchRange) -> BatchOutcome | None:
        """Return the earlier marker of a batch with the same count, first and last log id (messages not compared)."""
        return self._by_batch.get((batch["count"], batch["first"], batch["last"]))

    def carried(
        self, batch: BatchRange, log_ids: Sequence[str], send_as_batch: bool, generation: int
    ) -> BatchOutcome | None:
        """Return the marker that settles ``batch`` (holding ``log_ids``) in ``generation`` because an earlier
        try settled the same messages, or None if the batch is to be sent."""
        earlier = self.candidate(batch)
        if earlier is None or len(log_ids) != batch["count"]:
            return None
        settled = {message["webhook_id"] for message in earlier.get("messages", [])}
        if not all(_covered(ids, settled) for ids in message_groups(log_ids, send_as_batch)):
            return None
        sent_by = earlier.get("carried_from", earlier["generation"])
        return cast(BatchOutcome, {**earlier, "generation": generation, "carried_from": sent_by})


class CarryOver:
    """Mark each staged batch an earlier try settled as settled in this try's generation, and count them.

    ``then`` is told of every staged batch after, with whether it was carried over (the delivery lane).
    """

    def __init__(
        self,
        staging: RunStaging,
        earlier: EarlierTries,
        send_as_batch: bool,
        then: Callable[[int, BatchRange, bool], None] | None = None,
    ) -> None:
        self.staging = staging
        self.earlier = earlier
        self.send_as_batch = send_as_batch
        self.then = then
        self.batches = 0
        self.delivered_logs = 0
        self.dead_lettered_logs = 0

    def staged(self, index: int, batch: BatchRange) -> None:
        """Settle batch ``index`` (just staged) if an earlier try settled the same messages; pass it on."""
        carried = None
        if self.earlier.candidate(batch) is not None:  # read back only a batch that may match
            log_ids = [log_id_of(log) for log in self.staging.read_batch(index)]
            carried = self.earlier.carried(batch, log_ids, self.send_as_batch, self.staging.generation)
        if carried is not None:
            self.staging.mark(index, carried)
            self.batches += 1
            self.delivered_logs += carried["delivered_logs"]
            self.dead_lettered_logs += carried["dead_lettered_logs"]
        if self.then is not None:
            self.then(index, batch, carried is not None)

    def sentence(self, cut: int) -> str | None:
        """Return what was carried over, as a sentence of the fetch's log (None for a first try)."""
        if not len(self.earlier):
            return None
        try_number = self.staging.generation
        if not self.batches:
            return (
                f"Earlier tries of this run's fetch settled {plural(len(self.earlier), 'batch', 'batches')}, but try "
                f"{try_number} cut none of its {plural(cut, 'batch', 'batches')} with the same logs (the logs or the "
                "settings changed), so it sends them all."
            )
        kept = f" and kept {plural(self.dead_lettered_logs, 'log')} as dead letters" if self.dead_lettered_logs else ""
        return (
            f"Earlier tries of this run's fetch already delivered {plural(self.delivered_logs, 'log')}{kept} in "
            f"{self.batches} of the {plural(cut, 'batch', 'batches')} try {try_number} cut, with the same "
            f"webhook-ids; they are not sent again, and count as settled for the checkpoint."
        )
