"""Completeness manifests on the sender's side: build a committed run's manifest, chain it, send it.

The format and the hash are the receiver kit's (:mod:`auth0_log_webhooks.receiver_kit.manifest`),
so both sides compute them with the same code. The chain's head is the Variable
``<dag_id>_manifest_chain``: the newest manifest's ``sequence`` and ``hash``, and the last
``RECENT`` manifests' numbers, hashes and runs. A commit builds its run's manifest from the ledger
(before the batches are dropped), keeps it in the run's staging (``manifest.json``), moves the head
to it, and sends it. A retried or cleared commit finds the kept manifest: if the head holds it (or
it is the next one), the same manifest goes again, with the same ``webhook-id``; only a manifest
that never made it into the chain is built anew, on the current head. So the chain neither forks
nor skips across retries, re-runs and backfills (every run kind gets a manifest, its ``mode`` says
which); replays send none of their own: the manifest of the run that kept a dead letter lists it,
and the replay delivers it under the same ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth0_log_webhooks.contracts import BatchOutcome, Plan
from auth0_log_webhooks.delivery.payloads import JSON, Message
from auth0_log_webhooks.delivery.sender import WebhookSender
from auth0_log_webhooks.receiver_kit.manifest import (
    KIND_HEADER,
    MANIFEST_KIND,
    MessageEntry,
    build,
    manifest_webhook_id,
)
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import Variables

log = logging.getLogger(__name__)

RECENT = 50
"""How many of the newest manifests the head remembers (a retried commit finds its own among them)."""


class ManifestNotDeliveredError(RuntimeError):
    """The run is committed, but the receiver did not take its manifest; clearing the commit task sends it again."""


class ManifestChainChangedError(RuntimeError):
    """The chain's head moved while this commit chained its manifest; retrying the commit chains it anew."""


def chain_variable(dag_id: str) -> str:
    """Return the Variable holding a pipeline's manifest chain head."""
    return f"{dag_id}_manifest_chain"


@dataclass(frozen=True)
class ChainHead:
    """The newest manifest of a pipeline's chain (sequence 0 and no hash before the first) and the recent ones."""

    sequence: int = 0
    hash: str | None = None
    recent: tuple[tuple[int, str, str], ...] = ()
    """``(sequence, hash, run_id)`` of the newest manifests, oldest first."""

    @classmethod
    def read(cls, variables: Variables, dag_id: str) -> ChainHead:
        """Return the head the Variable holds (an empty chain when it is not set)."""
        raw = variables.get(chain_variable(dag_id))
        if not raw:
            return cls()
        value = json.loads(raw)
        recent = tuple((int(r["sequence"]), str(r["hash"]), str(r["run_id"])) for r in value.get("recent", []))
        return cls(int(value["sequence"]), value.get("hash"), recent)

    def holds(self, manifest: Mapping[str, Any]) -> bool:
        """Return True if ``manifest`` is one of the recent manifests of the chain."""
        return any(chained == manifest["hash"] for _, chained, _ in self.recent)

    def next_is(self, manifest: Mapping[str, Any]) -> bool:
        """Return True if ``manifest`` follows this head."""
        return bool(manifest["sequence"] == self.sequence + 1 and manifest["previous_hash"] == self.hash)

    def after(self, manifest: Mapping[str, Any]) -> ChainHead:
        """Return the head once ``manifest`` follows this one."""
        entry = (int(manifest["sequence"]), str(manifest["hash"]), str(manifest["run_id"]))
        return ChainHead(entry[0], entry[1], (*self.recent, entry)[-RECENT:])

    def as_json(self) -> str:
        """Return the Variable's value."""
        recent = [{"sequence": s, "hash": h, "run_id": r} for s, h, r in self.recent]
        return json.dumps({"sequence": self.sequence, "hash": self.hash, "recent": recent})


def listed(outcomes: Mapping[int, BatchOutcome], settled: int) -> tuple[list[MessageEntry], list[MessageEntry]]:
    """Return the messages of the first ``settled`` batches the receiver took, and those kept as dead letters."""
    delivered: list[MessageEntry] = []
    kept: list[MessageEntry] = []
    for index in range(settled):
        for sent in outcomes[index].get("messages", []):
            entry = MessageEntry(sent["webhook_id"], sent["count"], sent["first"], sent["last"])
            (delivered if sent["status"] == "delivered" else kept).append(entry)
    return delivered, kept


def chained(
    staging: RunStaging,
    run: RunInfo,
    plan: Plan,
    outcomes: Mapping[int, BatchOutcome],
    settled: int,
    variables: Variables,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the run's manifest, in the chain: the one kept in staging when the chain holds it or it comes
    next, else a new one built from the ledger on the current head (kept first, then the head moved).

    :raises ManifestChainChangedError: if another commit moved the head meanwhile (nothing was sent).
    """
    kept = chained_kept(staging, run, variables)
    if kept is not None:
        return kept
    head = ChainHead.read(variables, run.dag_id)
    if staging.read_manifest() is not None:
        log.warning(
            "Run %s's manifest was never chained (the chain is at %d now); building it anew", run.run_id, head.sequence
        )
    delivered, dead_letters = listed(outcomes, settled)
    manifest = build(
        pipeline=run.dag_id,
        sequence=head.sequence + 1,
        previous_hash=head.hash,
        run_id=run.run_id,
        mode=plan["mode"],
        created_at=(now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        read_after=plan["start_cursor"] or None,
        read_through=plan["end_cursor"],
        messages=delivered,
        dead_letters=dead_letters,
    )
    staging.write_manifest(manifest)
    _advance(variables, run, head, manifest)
    return manifest


def chained_kept(staging: RunStaging, run: RunInfo, variables: Variables) -> dict[str, Any] | None:
    """Return the manifest kept in the run's staging once it is in the chain; None if there is none, or it was
    left out of the chain (another manifest took its number), when it must be built anew."""
    kept = staging.read_manifest()
    if kept is None:
        return None
    head = ChainHead.read(variables, run.dag_id)
    if head.holds(kept):
        return kept
    if head.next_is(kept):
        _advance(variables, run, head, kept)
        return kept
    return None


def _advance(variables: Variables, run: RunInfo, head: ChainHead, manifest: Mapping[str, Any]) -> None:
    """Move the head to ``manifest`` if it is still ``head`` (Variables have no atomic compare-and-set; with
    ``max_active_runs=1`` the window is the commit task's own).

    :raises ManifestChainChangedError: naming both numbers and the next step.
    """
    current = ChainHead.read(variables, run.dag_id)
    if current != head:
        raise ManifestChainChangedError(
            f"Variable {chain_variable(run.dag_id)} moved from manifest {head.sequence} to {current.sequence} while "
            f"run {run.run_id} chained its manifest; nothing was sent. Clear the commit task: it chains the manifest "
            "after the newest one."
        )
    variables.set(chain_variable(run.dag_id), head.after(manifest).as_json())


def message_for(manifest: Mapping[str, Any]) -> Message:
    """Return the webhook message that carries a manifest: JSON, with the ``webhook-kind: manifest`` header."""
    return Message(
        webhook_id=manifest_webhook_id(manifest["pipeline"], manifest["sequence"], manifest["run_id"]),
        log_ids=(),
        body=json.dumps(manifest, separators=(",", ":")),
        content_type=JSON,
        logs=(),
        headers=((KIND_HEADER, MANIFEST_KIND),),
    )


def send(sender: WebhookSender, manifest: Mapping[str, Any]) -> None:
    """Deliver a manifest (retried as every message is).

    :raises ManifestNotDeliveredError: naming the manifest, the receiver's answer and the next step.
    """
    message = message_for(manifest)
    failures = sender.send(message)
    if failures:
        raise ManifestNotDeliveredError(
            f"Run {manifest['run_id']} is committed, but the webhook did not take its completeness manifest "
            f"{manifest['sequence']} (webhook-id {message.webhook_id}): {failures[0].reason}. Clear this commit task "
            "to send the same manifest again; until it arrives, the receiver kit reports it missing once a later "
            "manifest does."
        )
    log.info(
        "Sent completeness manifest %d of %s: %d messages, %d dead letters (webhook-id %s)",
        manifest["sequence"],
        manifest["pipeline"],
        len(manifest["messages"]),
        len(manifest["dead_letters"]),
        message.webhook_id,
    )
