"""Run a pipeline's steps in this process, as its DAG's tasks would: the one runner of tests and benchmarks.

:func:`run_pipeline` calls fetch, then deliver for every chunk (several at once, as the pool's slots
allow), then commit, and returns what each step returned, with timings. :func:`run_replay` does the
same for the replay DAG's steps. Connections come from ``AIRFLOW_CONN_*`` variables and Variables from
:class:`~auth0_log_webhooks.run.variables.InMemoryVariables`: no scheduler and no metadata DB. The DAG's own
wiring (XCom, mapping, trigger rules, params) is tested with ``dag.test()`` (tests/dags/).
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
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import RunInfo, run_staging
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.steps import replay
from auth0_log_webhooks.steps.commit import DeadLettersKeptError, DeliveryIncompleteError, commit_checkpoint
from auth0_log_webhooks.steps.deliver import StaleChunkError, deliver_chunk
from auth0_log_webhooks.steps.fetch import fetch_logs

_runs = itertools.count(1)


def _no_wait(seconds: float) -> None:
    """Take no wait: the sender's backoff is recorded by tests that care, never slept."""


@dataclass
class RunOutcome:
    """What one in-process run did: each step's result, the error commit raised, and phase timings."""

    run: RunInfo
    plan: Plan
    chunks: list[Chunk]
    reports: list[DeliveryReport]
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
    deliver: Callable[[int], bool] = lambda chunk: True,
    sleep: Callable[[float], None] = _no_wait,
    slots: int = 1,
) -> RunOutcome:
    """Run fetch, the deliveries of the chunks ``deliver`` chooses (``slots`` at a time), and commit.

    :param window: a backfill run's ``[start, end)``; None for a scheduled or manual run.
    :param sleep: receives the sender's waits between attempts (default: none are taken).
    """
    run = RunInfo(dag_id=pipeline.dag_id, run_id=run_id or f"manual__inprocess_{next(_runs)}", window=window)
    started = time.perf_counter()
    chunks = fetch_logs(pipeline, run, params, variables=variables)
    plan = run_staging(pipeline, run, variables).read_plan()
    fetched = time.perf_counter()
    chunk_seconds: list[float] = []

    failed: list[Exception] = []

    def send(chunk: Chunk) -> DeliveryReport | None:
        began = time.perf_counter()
        try:
            report = deliver_chunk(pipeline, run, chunk, variables=variables, sleep=sleep)
        except (CircuitOpenError, StaleChunkError) as exc:  # the task fails; commit runs all the same
            failed.append(exc)
            return None
        chunk_seconds.append(time.perf_counter() - began)
        return report

    chosen = [chunk for chunk in chunks if deliver(chunk["chunk"])]
    with ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="deliver") as pool:
        reports = [report for report in pool.map(send, chosen) if report is not None]
    delivered = time.perf_counter()
    outcome = RunOutcome(run, plan, chunks, reports, chunk_seconds=chunk_seconds, delivery_errors=failed)
    try:
        outcome.summary = commit_checkpoint(pipeline, run, variables=variables)
    except (DeliveryIncompleteError, DeadLettersKeptError, CircuitOpenError) as exc:
        outcome.error = exc
    outcome.seconds = {
        "fetch": fetched - started,
        "deliver": delivered - fetched,
        "commit": time.perf_counter() - delivered,
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
    chunks = replay.plan_replay(pipeline.dag_id, entries, max_entries, max_tasks, variables=variables)
    reports = [replay.replay_chunk(chunk, run, variables=variables, sleep=sleep) for chunk in chunks]
    outcome = ReplayOutcome(run, chunks, reports)
    try:
        outcome.summary = replay.summarise(reports)
    except replay.ReplayIncompleteError as exc:
        outcome.error = exc
    return outcome
