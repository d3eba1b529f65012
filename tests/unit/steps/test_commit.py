"""The commit step's counts: what a run read, left out, delivered, kept and left, from the step that knows each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.monitoring.metrics import reconciliation_counts
from auth0_log_webhooks.monitoring.reconciliation import RunCounts, counts_of
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeliveryIncompleteError, commit_checkpoint
from auth0_log_webhooks.steps.deliver import deliver_chunk
from auth0_log_webhooks.steps.fetch import fetch_logs
from tests.builders import staging_of, staging_url_of
from tests.memory import MemoryReceiver, MemoryTenant, sender_for

pytestmark = pytest.mark.unit


def test_a_run_that_filters_keeps_dead_letters_and_leaves_a_chunk_reconciles_to_zero(tmp_path: Path) -> None:
    settings = {
        "staging_url": f"file://{tmp_path}/staging",
        "dead_letter_url": f"file://{tmp_path}/dead",
        "batch_size": 5,
        "max_attempts": 1,
        "min_batches_per_task": 1,
        "max_delivery_tasks": 4,
    }
    variables = InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(settings)})
    tenant = MemoryTenant()
    tenant.add(["s", "f", "sapi", "fp"] * 10)  # 40 read, 10 sapi left out by the default filter
    refused = {tenant.logs[0]["log_id"]}  # the first batch is refused for good: a dead letter of 5 logs
    receiver = MemoryReceiver(answer=lambda ids: 400 if refused & set(ids) else 200)
    run = RunInfo(AUTHENTICATION_API.dag_id, "manual__counts")
    chunks = fetch_logs(AUTHENTICATION_API, run, None, variables=variables, hook=tenant)["chunks"]
    config = PipelineConfig.model_validate(staging_of(AUTHENTICATION_API, run, variables).read_plan()["config"])
    for chunk in chunks[:-1]:  # the last delivery task never runs
        deliver_chunk(AUTHENTICATION_API, run, chunk, sender=sender_for(receiver, config))
    counted: list[RunSummary] = []

    with pytest.raises(DeliveryIncompleteError):
        commit_checkpoint(
            AUTHENTICATION_API,
            run,
            staging_url_of(AUTHENTICATION_API, variables),
            variables=variables,
            counted=counted.append,
        )

    (summary,) = counted
    counts = counts_of(reconciliation_counts(summary))
    last = chunks[-1]
    left = (last["stop"] - last["start"]) * 5
    assert counts == RunCounts(read=40, filtered=10, delivered=30 - 5 - left, dead_lettered=5, unsettled=left)
    assert counts.remainder == 0
