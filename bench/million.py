"""A million logs in process (``--only million``): each step's time and peak memory, against a smaller size.

One emulated tenant holding 1,000,000 logs (no rate limit) and one webhook sink, each a process of
its own. For each size (100,000 then 1,000,000 logs, read from the oldest) the three steps run one
after the other, each in a fresh ``python -m bench.million STEP`` process that imports Airflow and
the library, notes its high-water mark (the baseline), runs the step and prints its peak RSS
(``VmHWM``, as bench/memory.py reads it) and its time:

* fetch: reads the logs and stages the batches and the plan (``fetch_logs``, the ``fetch`` task);
* deliver: every chunk ``fetch`` planned (at most 16), 5 at a time in threads, as the pool's 5
  slots run the mapped ``deliver`` tasks; so the peak is that of 5 tasks' work in one process, more
  than one task holds;
* commit: reads the plan and the ledger and moves the checkpoint (``commit_checkpoint``).

Memory is flat when each step's peak at 1,000,000 logs is within ``FLAT_TOLERANCE`` of its peak
at 100,000.

``BENCH_PROFILE=commit`` (or fetch, deliver) runs that step under cProfile in every size and prints
the 15 functions with the most cumulative time after its line.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.memory import FLAT_TOLERANCE, LIMIT_MB, max_rss_mb, step_command
from bench.pipeline import (
    DELIVERY_SLOTS,
    STEPS_APART,
    pipeline_variables,
    prepare_airflow,
    quiet_library_logs,
    wire_connections,
)
from bench.servers import REPO, Emulator, Sink, start_emulator, start_sink

LOGS = 1_000_000
SMALL = 100_000
STEPS = ("fetch", "deliver", "commit")
PROFILE_MARK = "bench.million profile:\n"


def _say(message: str) -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class StepResult:
    """One step's time and peak memory in a fresh process."""

    step: str
    logs: int
    baseline_mb: float
    peak_mb: float
    seconds: float
    detail: str


def _child(argv: list[str] | None = None) -> int:
    """Entry point of a measuring child: run one step and print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.million")
    parser.add_argument("step", choices=STEPS)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--logs", type=int, required=True)
    parser.add_argument("--tenant", required=True, help="emulator URL")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--hook", required=True, help="webhook URL")
    args = parser.parse_args(argv)

    prepare_airflow(args.workdir / "airflow_home")
    wire_connections(args.tenant, args.client_id, args.client_secret, args.hook)
    # Import everything the steps use before the baseline, so the peak is the step's own.
    from auth0_log_webhooks.contracts import Chunk
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from auth0_log_webhooks.run.context import RunInfo
    from auth0_log_webhooks.run.staging import RunStaging
    from auth0_log_webhooks.steps.commit import commit_checkpoint
    from auth0_log_webhooks.steps.deliver import deliver_chunk
    from auth0_log_webhooks.steps.fetch import fetch_logs

    quiet_library_logs()
    info = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id=f"bench_million_{args.logs}")
    variables = pipeline_variables(args.workdir, max_logs_per_run=args.logs, settings=STEPS_APART)
    chunks_file = args.workdir / "chunks.json"
    baseline = max_rss_mb()
    profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") == args.step else None
    if profiler:
        profiler.enable()
    started = time.perf_counter()
    if args.step == "fetch":
        fetched = fetch_logs(AUTHENTICATION_API, info, None, variables=variables)
        seconds = time.perf_counter() - started
        chunks_file.write_text(json.dumps(fetched))
        plan = RunStaging.for_run(fetched["staging_url"], info.dag_id, info.run_id).read_plan()
        detail = f"{plan['fetched']:,} read, {plan['selected']:,} selected in {len(plan['batches']):,} batches"
        if plan["fetched"] < args.logs:
            raise RuntimeError(f"fetched {plan['fetched']} logs, expected at least {args.logs}")
    elif args.step == "deliver":
        planned: list[Chunk] = json.loads(chunks_file.read_text())["chunks"]

        def send(chunk: Chunk) -> Any:
            return deliver_chunk(AUTHENTICATION_API, info, chunk, sleep=lambda seconds: None)

        with ThreadPoolExecutor(max_workers=DELIVERY_SLOTS) as pool:
            reports = list(pool.map(send, planned))
        seconds = time.perf_counter() - started
        delivered = sum(r["delivered_logs"] for r in reports)
        requests = sum(r["requests"] for r in reports)
        detail = f"{delivered:,} logs in {requests:,} requests, {len(planned)} chunks {DELIVERY_SLOTS} at a time"
    else:
        staging_url = json.loads(chunks_file.read_text())["staging_url"]
        summary = commit_checkpoint(AUTHENTICATION_API, info, staging_url, variables=variables)
        seconds = time.perf_counter() - started
        detail = f"{summary['settled_batches']:,} of {summary['batches']:,} batches settled"
    if profiler:
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(15)
        print(PROFILE_MARK + text.getvalue(), file=sys.stderr, flush=True)
    line = {"step": args.step, "logs": args.logs, "baseline_mb": baseline, "peak_mb": max_rss_mb()}
    line.update({"seconds": seconds, "detail": detail})
    print(json.dumps(line), flush=True)
    return 0


def measure(step: str, logs: int, workdir: Path, emulator: Emulator, sink: Sink, timeout: float = 1800) -> StepResult:
    """Run one step in a fresh ``python -m bench.million`` process and return its numbers."""
    workdir.mkdir(parents=True, exist_ok=True)
    command = step_command("bench.million", step, logs, workdir, emulator, sink)
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.million {step} {logs} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    if PROFILE_MARK in done.stderr:
        _say(done.stderr.split(PROFILE_MARK, 1)[1].rstrip())
    line = json.loads(done.stdout.strip().splitlines()[-1])
    return StepResult(line["step"], line["logs"], line["baseline_mb"], line["peak_mb"], line["seconds"], line["detail"])


def bench_million(workdir: Path, logs: int = LOGS, small: int = SMALL) -> list[tuple[str, str, str, bool | None]]:
    """Run fetch, deliver and commit at ``small`` then ``logs`` logs; return summary rows."""
    sizes = (small, logs)
    _say(f"\n[7] in process, each step in a fresh process: {' and '.join(f'{n:,}' for n in sizes)} logs")
    started = time.perf_counter()
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator-million")
    sink = start_sink(workdir, name="sink-million")
    _say(f"    emulator with {logs:,} logs and sink up in {time.perf_counter() - started:.0f}s (not timed)")
    results: dict[int, list[StepResult]] = {}
    try:
        for size in sizes:
            sink.reset()
            found = results[size] = []
            for step in STEPS:
                r = measure(step, size, workdir / f"million-{size}", emulator, sink)
                found.append(r)
                _say(
                    f"    {size:>9,} logs {step:>7}: {r.seconds:7.2f}s ({size / r.seconds:>9,.0f} logs/s), peak RSS "
                    f"{r.peak_mb:6.1f} MB (imports {r.baseline_mb:.1f} + step {r.peak_mb - r.baseline_mb:.1f}); "
                    f"{r.detail}"
                )
            total = sum(r.seconds for r in found)
            received = sink.summary()
            _say(
                f"    {size:>9,} logs in all: {total:.2f}s = {size / total:,.0f} logs/s; the sink received "
                f"{received['logs_received']:,} logs ({received['unique_log_ids']:,} distinct)"
            )
    finally:
        sink.stop()
        emulator.stop()
    rows: list[tuple[str, str, str, bool | None]] = []
    for number, step in enumerate(STEPS):
        low, high = results[small][number], results[logs][number]
        growth = high.peak_mb / low.peak_mb
        met = growth <= FLAT_TOLERANCE and high.peak_mb <= LIMIT_MB
        _say(
            f"    {step}: peak {low.peak_mb:.1f} -> {high.peak_mb:.1f} MB over {small:,} -> {logs:,} logs "
            f"(x{growth:.2f}), {low.seconds:.2f}s -> {high.seconds:.2f}s (x{high.seconds / low.seconds:.1f}): "
            f"{'flat' if growth <= FLAT_TOLERANCE else 'NOT flat'}, {'within' if high.peak_mb <= LIMIT_MB else 'OVER'} "
            f"{LIMIT_MB:.0f} MB"
        )
        rows.append(
            (
                f"7 million {step}",
                f"{high.seconds:.1f}s, {high.peak_mb:.0f} MB @ {logs:,} / "
                f"{low.peak_mb:.0f} MB @ {small:,} (x{growth:.2f})",
                f"<= {LIMIT_MB:.0f} MB, flat (x<={FLAT_TOLERANCE})",
                met,
            )
        )
    total = sum(r.seconds for r in results[logs])
    rows.append(("7 million in all", f"{logs:,} logs in {total:.1f}s, {logs / total:,.0f} logs/s", "n/a", None))
    return rows


if __name__ == "__main__":
    sys.exit(_child())
