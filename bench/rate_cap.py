"""Benchmark 10: the rate cap. 3 pipelines x 8 delivery tasks, 24 processes, send to one receiver capped at 20/s.

The quick form spawns 3 pipelines x 2 tasks, each sending 4 times as many messages: the same 288
requests to the same cap from every pipeline at once, without 18 of the 24 interpreters' starts
(about 40 of its 63 s on 2 cores).

Each process is spawned (a fresh interpreter, as a task's is: a fork of this threaded process could
inherit a lock some thread held), opens its sender as a delivery task does (``open_sender`` on the
shared connection, its own pipeline's settings), waits until all 24 have, and then sends one-log
messages as fast as the cap lets it. The sink records when each request arrived; the benchmark prints
the most requests it saw in any one-second window (target: at most the cap plus one) and the
throughput between the first and the last request (target: at least 90% of the cap).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

PIPELINES = 3
TASKS_PER_PIPELINE = 8
CAP = 20.0
MESSAGES_PER_TASK = 12
CONN_ID = "auth0_rate_capped_bench"
TARGET_SHARE = 0.90
START_SECONDS = 900.0
"""How long 24 fresh interpreters may take to import and open their senders on a loaded machine."""


def most_in_one_second(times: list[float]) -> int:
    """The most requests in any window of one second (each request opens a window)."""
    times = sorted(times)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def _open(pipeline: int, task: int, messages: int = MESSAGES_PER_TASK) -> Callable[[], int]:
    """Open one delivery task's sender; return what sends its ``messages`` (and returns how many failed)."""
    from auth0_log_webhooks.delivery.payloads import encode
    from auth0_log_webhooks.delivery.sender import open_sender
    from auth0_log_webhooks.pipelines.config import PipelineConfig

    formats = ("json_array", "json_lines", "cloudevents")
    config = PipelineConfig(format=formats[pipeline % 3], cloudevents_source="urn:auth0:bench", max_attempts=3)
    sender = open_sender(CONN_ID, config)

    def send() -> int:
        failed = 0
        for n in range(messages):
            log_id = "900" + "20261203000000" + f"{pipeline:03d}{task:016d}{n:020d}"
            message = encode([{"log_id": log_id, "type": "s"}], config.format, source="urn:auth0:bench")
            failed += len(sender.send(message))
        return failed

    return send


def _child(setup: Callable[..., Callable[[], int]], job: tuple[Any, ...], ready: Barrier, results: Queue[int]) -> None:
    send = setup(*job)
    ready.wait(START_SECONDS)  # every sender is up: they all start together, as a run's mapped tasks do
    results.put(send())


def run_together(setup: Callable[..., Callable[[], int]], jobs: Sequence[tuple[Any, ...]]) -> tuple[list[int], float]:
    """Spawn one process per job; each calls ``setup(*job)`` (imports, opens its sender), waits until every one
    has, then calls what setup returned. Return those results (in the order they came) and the seconds from the
    common start to the last.

    Spawned, not forked: a child forked from a threaded process (the sink's server thread, Airflow's) can
    inherit a lock some thread held and hang on it; one did on a fresh-clone run.
    """
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(len(jobs) + 1), context.Queue()
    processes = [context.Process(target=_child, args=(setup, job, ready, results), daemon=True) for job in jobs]
    for process in processes:
        process.start()
    try:
        try:
            ready.wait(START_SECONDS)
        except threading.BrokenBarrierError:
            raise RuntimeError(
                f"{len(jobs)} spawned senders were not all ready within {START_SECONDS:.0f}s; one may have failed "
                "to start (its error is printed above)"
            ) from None
        started = time.perf_counter()
        answers = [results.get(timeout=START_SECONDS) for _ in jobs]
        return answers, time.perf_counter() - started
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()


def bench_rate_cap(
    workdir: Path, sink: Any, *, tasks: int = TASKS_PER_PIPELINE, messages: int = MESSAGES_PER_TASK
) -> list[tuple[str, str, str, bool | None]]:
    """Run ``tasks`` senders a pipeline, ``messages`` each, against ``sink`` (reset first); return the summary rows."""
    extra = {
        "allow_private_network": "true",
        "rate_limit_per_second": CAP,
        "rate_limit_store": str(workdir / "rate_caps"),
    }
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
        {"conn_type": "auth0_webhook", "host": sink.hook_url, "extra": extra}
    )
    sink.reset()
    jobs = [(p, t, messages) for p in range(PIPELINES) for t in range(tasks)]
    answers, seconds = run_together(_open, jobs)
    failed = sum(answers)
    records = [r for r in sink.control("GET", "/__sink/requests", params={"limit": 10_000}) if "received_at" in r]
    times = [r["received_at"] for r in records]
    most = most_in_one_second(times)
    rate = (len(times) - 1) / (max(times) - min(times)) if len(times) > 1 else 0.0
    capped = most <= CAP + 1
    fast = rate >= TARGET_SHARE * CAP and failed == 0
    print(
        f"    {len(jobs)} senders ({PIPELINES} pipelines x {tasks} tasks, {messages} messages each), "
        f"{len(times)} requests in {seconds:.1f}s, {failed} failed; most in any one second: {most} (cap {CAP:g} + 1: "
        f"{'MET' if capped else 'MISSED'}); throughput {rate:.2f}/s = {rate / CAP:.0%} of the cap "
        f"(target {TARGET_SHARE:.0%}: {'MET' if fast else 'MISSED'})",
        flush=True,
    )
    return [
        ("10 rate cap: most in 1 s", f"{most} requests", f"<= {CAP + 1:g}", capped),
        ("10 rate cap: throughput", f"{rate:.2f}/s ({rate / CAP:.0%})", f">= {TARGET_SHARE:.0%} of {CAP:g}/s", fast),
    ]


def run(
    workdir: Path, *, tasks_per_pipeline: int = TASKS_PER_PIPELINE, messages_per_task: int = MESSAGES_PER_TASK
) -> list[tuple[str, str, str, bool | None]]:
    """Start a webhook sink of its own and run the senders against it (``python -m bench --only ratecap``)."""
    from bench.servers import start_sink

    print(
        f"\n[10] rate cap: {PIPELINES} pipelines x {tasks_per_pipeline} delivery tasks, one receiver capped at "
        f"{CAP:g} requests/s",
        flush=True,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    sink = start_sink(workdir)
    try:
        return bench_rate_cap(workdir, sink, tasks=tasks_per_pipeline, messages=messages_per_task)
    finally:
        sink.stop()
