"""Benchmark 3 (``--only memory``): peak memory of the fetch step and of a deliver step, each in a fresh process.

The peak RSS is a high-water mark for the whole process, so every measurement runs in its own
child (``python -m bench.memory fetch|deliver ...``) that imports Airflow and the library, notes
the high-water mark (the baseline), runs one step and prints a JSON line with the new peak. With
``--tracemalloc`` the child instead reports the peak of Python allocations made during the step
(tracemalloc's own bookkeeping inflates RSS, so the two are never taken in the same run).

The fetch child stages its batches and plan under the work directory; the deliver child of the
same run then sends every staged batch in one step (as with ``max_delivery_tasks`` 1, the largest
step there can be). :func:`run` measures both steps at a tenth of ``logs`` and at ``logs``: the
target is a peak under 300 MB that stays flat (within 1.25x) over the tenfold size.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.pipeline import STEPS_APART, pipeline_variables, prepare_airflow, quiet_library_logs, wire_connections
from bench.report import Row, say
from bench.servers import REPO, start_emulator, start_sink

LIMIT_MB = 300.0
FLAT_TOLERANCE = 1.25
"""Peaks within this factor of each other (across a 10x change in logs) count as flat."""


def max_rss_mb() -> float:
    """This process's peak resident set size in MB.

    Linux's ``ru_maxrss`` survives ``fork`` + ``exec``: a child reports at least its parent's peak
    at the time it was started (this benchmark's parent holds 100,000 logs during benchmark 2). So
    the peak of the process's own address space, ``VmHWM`` in /proc/self/status, comes first;
    ``ru_maxrss`` (KiB on Linux) is the fallback elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@dataclass(frozen=True)
class MemoryResult:
    """One step's peak memory in a fresh process."""

    step: str
    logs: int
    baseline_mb: float
    peak_mb: float
    seconds: float
    traced_peak_mb: float | None = None

    @property
    def step_mb(self) -> float:
        """What the step added to the high-water mark left by the imports."""
        return self.peak_mb - self.baseline_mb


def _measure(step: Callable[[], Any], trace: bool) -> tuple[float, float, float, float | None, Any]:
    """Run ``step``; return baseline MB, peak MB, seconds, traced peak MB (or None) and its result."""
    baseline = max_rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    result = step()
    seconds = time.perf_counter() - started
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return baseline, max_rss_mb(), seconds, traced, result


def _child(argv: list[str] | None = None) -> int:
    """Entry point of a measuring child process; prints one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("step", choices=("fetch", "deliver"))
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--logs", type=int, required=True)
    parser.add_argument("--tenant", required=True, help="emulator URL")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--hook", required=True, help="webhook URL")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args(argv)

    prepare_airflow(args.workdir / "airflow_home")
    wire_connections(args.tenant, args.client_id, args.client_secret, args.hook)
    # Import everything the steps use before the baseline, so the peak is the step's own.
    from auth0_log_webhooks.contracts import Chunk
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from auth0_log_webhooks.run.context import RunInfo, load_config
    from auth0_log_webhooks.run.staging import RunStaging
    from auth0_log_webhooks.steps.deliver import deliver_chunk
    from auth0_log_webhooks.steps.fetch import fetch_logs

    quiet_library_logs()
    info = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id=f"bench_memory_{args.logs}")
    variables = pipeline_variables(args.workdir, max_logs_per_run=args.logs, settings=STEPS_APART)
    staging_url = load_config(AUTHENTICATION_API, None, variables).staging_root
    staging = RunStaging.for_run(staging_url, info.dag_id, info.run_id)
    if args.step == "fetch":

        def step() -> Any:
            return fetch_logs(AUTHENTICATION_API, info, None, variables=variables)

    else:
        staged = staging.read_plan()
        batches, generation = len(staged["batches"]), staged["generation"]
        everything = Chunk(
            chunk=0, start=0, stop=batches, label="all batches", generation=generation, staging_url=staging_url
        )

        def step() -> Any:
            return deliver_chunk(AUTHENTICATION_API, info, everything, sleep=lambda seconds: None)

    baseline, peak, seconds, traced, result = _measure(step, args.tracemalloc)
    plan = staging.read_plan()
    if args.step == "fetch" and plan["fetched"] < args.logs:  # max_logs_per_run stops on a batch boundary
        raise RuntimeError(f"fetched {plan['fetched']} logs, expected at least {args.logs}")
    if args.step == "deliver" and result["delivered_logs"] != plan["selected"]:
        raise RuntimeError(f"delivered {result['delivered_logs']} logs, expected {plan['selected']}: {result}")
    line = {"step": args.step, "logs": plan["fetched"], "baseline_mb": baseline, "peak_mb": peak, "seconds": seconds}
    line["traced_peak_mb"] = traced
    print(json.dumps(line), flush=True)
    return 0


def step_command(module: str, step: str, logs: int, workdir: Path, emulator: Any, sink: Any) -> list[str]:
    """The command line that runs one step of ``module`` (bench.memory, bench.million) in a fresh process."""
    return [
        sys.executable,
        "-m",
        module,
        step,
        "--workdir",
        str(workdir),
        "--logs",
        str(logs),
        "--tenant",
        emulator.url,
        "--client-id",
        emulator.client_id,
        "--client-secret",
        emulator.client_secret,
        "--hook",
        sink.hook_url,
    ]


def measure(
    step: str, logs: int, workdir: Path, emulator: Any, sink: Any, *, trace: bool = False, timeout: float = 600
) -> MemoryResult:
    """Run one step in a fresh ``python -m bench.memory`` process and return its numbers.

    The deliver step sends what the fetch step of the same ``logs`` and ``workdir`` staged.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    command = step_command("bench.memory", step, logs, workdir, emulator, sink)
    if trace:
        command.append("--tracemalloc")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:4])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    line = json.loads(done.stdout.strip().splitlines()[-1])
    return MemoryResult(
        step=line["step"],
        logs=line["logs"],
        baseline_mb=line["baseline_mb"],
        peak_mb=line["peak_mb"],
        seconds=line["seconds"],
        traced_peak_mb=line["traced_peak_mb"],
    )


def _memory_line(m: MemoryResult) -> str:
    traced = f", Python allocations peak {m.traced_peak_mb:.1f} MB (tracemalloc run)" if m.traced_peak_mb else ""
    return (
        f"    {m.step:>7} {m.logs:>9,} logs: peak RSS {m.peak_mb:6.1f} MB "
        f"(imports {m.baseline_mb:.1f} MB + step {m.step_mb:.1f} MB) in {m.seconds:.2f}s{traced}"
    )


def run(workdir: Path, *, logs: int = 100_000, trace: bool = False) -> list[Row]:
    """Peak RSS of fetch and of one deliver step over every batch, at a tenth of ``logs`` and at ``logs``."""
    sizes = sorted({max(1, logs // 10), logs})
    say(f"\n[3] peak memory, each step in a fresh process: {', '.join(f'{n:,}' for n in sizes)} logs")
    say("    (deliver = one step sending every staged batch, as with max_delivery_tasks=1: the largest step)")
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[MemoryResult]] = {"fetch": [], "deliver": []}
    sink = start_sink(workdir)
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator")
    try:
        for size in sizes:
            where = workdir / f"memory-{size}"
            for step in ("fetch", "deliver"):
                result = measure(step, size, where, emulator, sink)
                if trace:  # a separate pair of children (fetch stages for deliver), so RSS stays untraced
                    traced = measure(step, size, where / "traced", emulator, sink, trace=True)
                    result = replace(result, traced_peak_mb=traced.traced_peak_mb)
                results[step].append(result)
                say(_memory_line(result))
    finally:
        emulator.stop()
        sink.stop()
    rows = []
    for step, found in results.items():
        peaks = [m.peak_mb for m in found]
        growth = max(peaks) / min(peaks)
        flat = growth <= FLAT_TOLERANCE
        within = max(peaks) <= LIMIT_MB
        say(
            f"    {step}: peak {' -> '.join(f'{p:.1f}' for p in peaks)} MB over {sizes[0]:,} -> {sizes[-1]:,} logs "
            f"(x{growth:.2f}): {'flat' if flat else 'NOT flat'}, {'within' if within else 'OVER'} {LIMIT_MB:.0f} MB"
        )
        rows.append(
            Row(
                f"3 memory {step}",
                " / ".join(f"{m.peak_mb:.0f} MB @ {m.logs:,}" for m in found) + f" (x{growth:.2f})",
                f"<= {LIMIT_MB:.0f} MB, flat (x<={FLAT_TOLERANCE})",
                flat and within,
            )
        )
    return rows


if __name__ == "__main__":
    sys.exit(_child())
