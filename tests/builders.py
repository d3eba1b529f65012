"""Typed builders the test layers share: log ids, failed messages, a run's staging as its fetch resolved it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange, BatchStatus
from auth0_log_webhooks.delivery.payloads import encode
from auth0_log_webhooks.delivery.sender import AttemptRecord, Failure
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import Variables


def staging_url_of(pipeline: Pipeline, variables: Variables) -> str:
    """Return the staging root a fetch of ``pipeline`` resolves from these Variables (no params)."""
    return load_config(pipeline, None, variables).staging_root


def staging_of(pipeline: Pipeline, run: RunInfo, variables: Variables) -> RunStaging:
    """Return ``run``'s staging under the root its fetch resolved."""
    return RunStaging.for_run(staging_url_of(pipeline, variables), run.dag_id, run.run_id)


BASE = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)
"""The second the builders date logs at unless told otherwise."""


def log_id(n: int, at: datetime = BASE) -> str:
    """Return the ``n``-th well-formed Auth0 log id of the second ``at``."""
    return "900" + at.strftime("%Y%m%d%H%M%S") + f"{n:039d}"


def log(n: int, code: str = "s", at: datetime = BASE) -> dict[str, Any]:
    """Return a log of type ``code`` dated ``at``, with the ``n``-th log id of that second."""
    return {"log_id": log_id(n, at), "type": code, "date": at.isoformat().replace("+00:00", "Z")}


def batch(count: int, first: int, last: int) -> BatchRange:
    """Return a staged batch of ``count`` logs, from the ``first``-th log id to the ``last``-th."""
    return BatchRange(count=count, first=log_id(first), last=log_id(last))


def failure(first: int, count: int, status: int = 410) -> Failure:
    """Return a message of ``count`` logs from log id ``first`` that the webhook refused with ``status``."""
    message = encode([{"log_id": log_id(n), "type": "f"} for n in range(first, first + count)])
    record = AttemptRecord(status, None, '{"error":"gone"}', attempts=1)
    return Failure(message, f"permanent: {record.describe()}", record)


def settled(
    status: BatchStatus,
    delivered_logs: int,
    dead_letters: list[str] | None = None,
    *,
    batch: BatchRange | None = None,
    generation: int = 1,
) -> BatchOutcome:
    """Return a batch's settled outcome as the delivery ledger records it.

    With ``batch`` the outcome names that batch of ``generation`` (as a delivery task writes it, so
    commit counts it); without, it names no staged batch (count 0, no log ids).
    """
    letters = dead_letters or []
    return BatchOutcome(
        status=status,
        generation=generation,
        count=batch["count"] if batch else 0,
        first=batch["first"] if batch else "",
        last=batch["last"] if batch else "",
        delivered_logs=delivered_logs,
        dead_lettered_logs=0 if status == "delivered" else (batch["count"] if batch else 0) - delivered_logs,
        dead_letters=letters,
    )
