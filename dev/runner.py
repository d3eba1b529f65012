"""Run a pipeline's steps in this process, as its DAG's tasks would: the one runner of tests and benchmarks.

:func:`run_pipeline` calls the fetch step, then the deliver step for every chunk (several at once,
as the pool's slots allow), then the commit step: the same functions the DAG's task bodies call,
with a :class:`~auth0_log_webhooks.run.task_io.RunRecord` standing in for Airflow's XCom, asset
events and triggered runs. :func:`run_replay` does the same for the replay DAG's steps. Connections
come from ``AIRFLOW_CONN_*`` variables and Variables from
:class:`~auth0_log_webhooks.run.variables.InMemoryVariables`: no scheduler and no metadata DB. The
DAG's own wiring (XCom, mapping, trigger rules, params) is tested with ``dag.test()`` (tests/dags/).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auth0_log_webhooks.contracts import Chunk, DeliveryReport, Plan, ReplayChunk, ReplayReport, RunSummary
from auth0_log_webhooks.delivery.circuit import CircuitOpenError
from auth0_log_webhooks.delivery.failure_advice import DeadLettersInChunkError
from auth0_log_webhooks.delivery.manifests import ManifestNotDeliveredError
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.staging import RunStaging, SupersededTryError
from auth0_log_webhooks.run.task_io import LANE_REPORT, RUN_SUMMARY, STAGING_URL, RunRecord
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.steps import replay
from auth0_log_webhooks.steps.commit import DeadLettersKeptError, DeliveryIncompleteError, commit
from auth0_log_webhooks.steps.deliver import StaleChunkError, deliver
from auth0_log_webhooks.steps.fetch import fetch
from auth0_log_webhooks.steps.pausing import PipelinePausedError

_runs = itertools.count(1)

TASK_FAILURES = (CircuitOpenError, StaleChunkError, SupersededTryError, DeadLettersInChunkError)
"""What fails a delivery task while its run goes on: commit runs all the same (trigger rule all_done)."""

RUN_FAILURES = (DeliveryIncompleteError, DeadLettersKeptError, CircuitOpenError, ManifestNotDeliveredError)
"""What fails a run's commit after it committed what is settled."""


def _no_wait(seconds: float) -> None:
    """Take no wait: the sender's backoff is recorded by tests that care, never slept."""


@dataclass
class RunOutcome:
    """What one in-process run did: each step's result, what failed, what its tasks kept, phase timings."""

    run: RunInfo
    plan: Plan
    chunks: list[Chunk]
    reports: list[DeliveryReport]
    record: RunRecord
    summary: RunSummary | None = None
    error: Exception | None = None
    delivery_errors: list[Exception] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    chunk_seconds: list[float] = field(default_factory=list)


def run_pipeline(
    pipeline: Pipeline,
    variables: Variables,
    params: Mapping[str, Any] | None = None,
    *,
    run_id: str | None = None,
    window: tuple[datetime, datetime] | None = None,
    deliver_if: Callable[[int], bool] = lambda chunk: True,
    sleep: Callable[[float], None] = _no_wait,
    slots: int = 1,
    try_number: int = 1,
) -> RunOutcome:
    """Run the fetch step, the deliver steps of the chunks ``deliver_if`` chooses (``slots`` at a time),
    and the commit step, as the DAG's tasks do: not the last two when the fetch skipped them, having committed the
    run itself.

    :param window: a backfill run's ``[start, end)``; None for a scheduled or manual run.
    :param try_number: the tasks' try (2: Airflow retries run ``run_id`` after its first try failed).
    :param sleep: receives the sender's waits between attempts (default: none are taken).
    :raises PipelinePausedError: if the pipeline is paused (its fetch and commit skipped; nothing was read).
    """
    run_id = run_id or f"manual__inprocess_{next(_runs)}"
    run = RunInfo(dag_id=pipeline.dag_id, run_id=run_id, window=window, try_number=try_number)
    record = RunRecord()
    started = time.perf_counter()
    try:
        fetched = fetch(pipeline, run, params, record.task("fetch"), variables=variables, sleep=sleep)
    except PipelinePausedError:
        # Airflow runs the commit after a skipped fetch (trigger rule all_done): a paused run's commit skips too.
        commit(pipeline, run, params, record.task("commit"), variables=variables)
        raise
    after_fetch = time.perf_counter()
    staging_url = record.task("commit").kept("fetch", STAGING_URL)
    plan = RunStaging.for_run(staging_url, run.dag_id, run.run_id).read_plan()
    lane = record.task("commit").kept("fetch", LANE_REPORT)
    if "commit" in record.skipped:  # the fetch committed the run itself: deliver and commit are skipped
        outcome = RunOutcome(run, plan, fetched, [lane] if lane is not None else [], record)
        outcome.summary = record.task("commit").kept("fetch", RUN_SUMMARY)
        outcome.seconds = {"fetch": after_fetch - started, "deliver": 0.0, "commit": 0.0}
        return outcome
    chunk_seconds: list[float] = []
    failed: list[Exception] = []

    def send(chunk: Chunk) -> DeliveryReport | None:
        began = time.perf_counter()
        try:
            report = deliver(pipeline, run, chunk, record.task("deliver", mapped=True), sleep=sleep)
        except TASK_FAILURES as exc:  # the task fails; commit runs all the same
            failed.append(exc)
            return None
        finally:
            chunk_seconds.append(time.perf_counter() - began)
        return report

    chosen = [chunk for chunk in fetched if deliver_if(chunk["chunk"])]
    with ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="deliver") as pool:
        reports = [report for report in pool.map(send, chosen) if report is not None]
    if lane is not None:  # what the fetch's delivery lane sent while it read (deliver_while_fetching)
        reports.insert(0, lane)
    after_deliver = time.perf_counter()
    outcome = RunOutcome(run, plan, fetched, reports, record, chunk_seconds=chunk_seconds, delivery_errors=failed)
    try:
        outcome.summary = commit(pipeline, run, params, record.task("commit"), variables=variables)
    except RUN_FAILURES as exc:
        outcome.error = exc
    outcome.seconds = {
        "fetch": after_fetch - started,
        "deliver": after_deliver - after_fetch,
        "commit": time.perf_counter() - after_deliver,
    }
    return outcome


@dataclass
class ReplayOutcome:
    """What one in-process replay did: its chunks, their reports, and the summary or the error."""

    run: RunInfo
    chunks: list[ReplayChunk]
    reports: list[ReplayReport]
    summary: ReplayReport | None = None
    error: replay.ReplayIncompleteError | None = None
    task_errors: list[Exception] = field(default_factory=list)


def run_replay(
    pipeline: Pipeline,
    variables: Variables,
    entries: list[str] | None = None,
    *,
    max_entries: int = 1000,
    max_tasks: int = 4,
    sleep: Callable[[float], None] = _no_wait,
) -> ReplayOutcome:
    """Replay dead letters as the replay DAG would: choose, re-send every chunk, summarise."""
    run = RunInfo(dag_id="auth0_webhooks_replay", run_id=f"manual__replay_{next(_runs)}")
    record = RunRecord()
    chunks = replay.plan_replay(pipeline.dag_id, entries, max_entries, max_tasks, variables=variables)
    reports: list[ReplayReport] = []
    task_errors: list[Exception] = []
    for chunk in chunks:
        try:
            reports.append(replay.resend(chunk, run, record.task("resend", mapped=True), sleep=sleep))
        except DeadLettersInChunkError as exc:  # the task fails; the report task still runs
            task_errors.append(exc)
    outcome = ReplayOutcome(run, chunks, reports, task_errors=task_errors)
    try:
        outcome.summary = replay.summarise(reports, pipeline.dag_id, run, variables=variables)
    except replay.ReplayIncompleteError as exc:
        outcome.error = exc
    return outcome
