"""Typed builders the test layers share: log ids, failed messages, a run's staging as its fetch resolved it."""

from __future__ import annotations

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


def log_id(n: int, stamp: str = "20261126050000") -> str:
    """Return the ``n``-th well-formed Auth0 log id of the second ``stamp`` (``yyyyMMddHHmmss``)."""
    return "900" + stamp + f"{n:039d}"


def failure(first: int, count: int, status: int = 410) -> Failure:
    """Return a message of ``count`` logs from log id ``first`` that the webhook refused with ``status``."""
    message = encode([{"log_id": log_id(n), "type": "f"} for n in range(first, first + count)])
    record = AttemptRecord(status, None, '{"error":"gone"}', attempts=1)
    return Failure(message, f"permanent: {record.describe()}", record)
