"""The commit step: its counts (what a run read, left out, delivered, kept and left, from the step that knows each), and
the commit a fetch makes of a run that leaves nothing to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.monitoring.metrics import reconciliation_counts
from auth0_log_webhooks.monitoring.reconciliation import RunCounts, counts_of
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.settlement import CheckpointChangedError
from auth0_log_webhooks.run.task_io import RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeliveryIncompleteError, FetchKept, commit_checkpoint, commit_in_fetch
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


class InFetch:
    """A run fetched with the lane off and ``settings``, its chunks then delivered (or not) to ``receiver``: the
    state a fetch whose delivery lane sent what ``deliver`` chose would leave for :func:`commit_in_fetch`."""

    def __init__(self, tmp_path: Path, logs: int, **settings: Any) -> None:
        config = {
            "staging_url": f"file://{tmp_path}/staging",
            "dead_letter_url": f"file://{tmp_path}/dead",
            "batch_size": 5,
            "max_attempts": 1,
            "deliver_while_fetching": False,
            **settings,
        }
        self.variables = InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})
        self.tenant = MemoryTenant()
        self.ids = self.tenant.add(["s"] * logs)
        self.run = RunInfo(AUTHENTICATION_API.dag_id, "manual__in_fetch")
        self.fetched = fetch_logs(AUTHENTICATION_API, self.run, None, variables=self.variables, hook=self.tenant)
        self.record = RunRecord()

    def deliver(self, receiver: MemoryReceiver, chunks: int | None = None) -> None:
        plan = staging_of(AUTHENTICATION_API, self.run, self.variables).read_plan()
        config = PipelineConfig.model_validate(plan["config"])
        for chunk in self.fetched["chunks"][:chunks]:
            deliver_chunk(AUTHENTICATION_API, self.run, chunk, sender=sender_for(receiver, config))

    def commit(self) -> RunSummary | None:
        kept = FetchKept(self.fetched["staging_url"], auth0_429=2, webhook_429=3)
        return commit_in_fetch(AUTHENTICATION_API, self.run, self.record.task("fetch"), kept, variables=self.variables)

    @property
    def checkpoint(self) -> str | None:
        return self.variables.get(AUTHENTICATION_API.checkpoint_variable)


def test_the_fetch_commits_a_run_that_leaves_nothing_as_the_commit_task_would(tmp_path: Path) -> None:
    run = InFetch(tmp_path, 20)
    receiver = MemoryReceiver()
    run.deliver(receiver)

    summary = run.commit()

    assert summary is not None
    assert (summary["delivered_logs"], summary["settled_batches"], summary["checkpoint"]) == (20, 4, run.ids[-1])
    assert run.checkpoint == run.ids[-1]
    (extra,) = run.record.extras  # the delivered asset's event, with the 429 answers the fetch and lane waited out
    assert (extra["logs_delivered"], extra["run_id"], extra["auth0_429"], extra["webhook_429"]) == (
        20,
        "manual__in_fetch",
        2,
        3,
    )
    # The commit task, if it ever runs (a user clears it), gives the same answer and moves nothing.
    again = commit_checkpoint(AUTHENTICATION_API, run.run, run.fetched["staging_url"], variables=run.variables)
    assert again == summary
    assert receiver.delivered() == set(run.ids)


@pytest.mark.parametrize(
    ("settings", "answer", "chunks", "left"),
    [
        ({}, 200, 1, "a chunk not delivered"),
        ({}, 400, None, "a dead letter"),
        ({"max_logs_per_run": 10}, 200, None, "more logs to read: a follow-up run"),
        ({"completeness_manifests": True}, 200, None, "a manifest to send"),
    ],
)
def test_the_fetch_leaves_a_run_that_leaves_something_to_the_commit_task_and_moves_nothing(
    tmp_path: Path, settings: dict[str, Any], answer: int, chunks: int | None, left: str
) -> None:
    run = InFetch(tmp_path, 20, min_batches_per_task=1, **settings)
    run.deliver(MemoryReceiver(answer=lambda ids: answer), chunks)

    assert run.commit() is None, left
    assert run.checkpoint is None
    assert run.record.extras == []
    assert staging_of(AUTHENTICATION_API, run.run, run.variables).read_committed() is None


def test_the_fetch_leaves_a_run_whose_checkpoint_changed_to_the_commit_task_which_fails_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = InFetch(tmp_path, 10)
    run.deliver(MemoryReceiver())
    run.variables.set(AUTHENTICATION_API.checkpoint_variable, "moved by hand")

    with caplog.at_level("WARNING"):
        assert run.commit() is None

    assert "The commit task commits this run instead, and fails with this: " in caplog.text
    assert run.checkpoint == "moved by hand"
    with pytest.raises(CheckpointChangedError):
        commit_checkpoint(AUTHENTICATION_API, run.run, run.fetched["staging_url"], variables=run.variables)
