"""``make bench``: throughput and memory benchmarks of the Auth0 log webhooks pipeline.

1. rate-limited read: ``Auth0Hook.iter_log_pages`` against an emulated tenant limited to a burst
   of 10 and 600 requests/minute, compared with the token bucket's floor; 429s served are counted.
2. unthrottled end to end: fetch + deliver (5 chunks at a time, like the pool) + commit, in this
   process, compared with a bare ``requests`` script doing the same fetch and delivery (after a
   warm-up pass, ``--rounds`` rounds of each; the fastest of each is compared).
3. peak memory (ru_maxrss) of the fetch step and of a deliver step at two sizes, each in a fresh
   process, against the roadmap's limit of 300 MB and flat.
4. slow receiver: 200 ms per request, 5 slots, batches of 100: delivered logs/s against the limit
   slots x batch / latency (target 90%), with 16 and with 15 delivery tasks.
5. distributed (only with ``--only distributed``; ``make bench-distributed``): one run of
   1,000,000 logs on PostgreSQL + CeleryExecutor with two workers + S3 (bench/distributed.py).
6. throughput through a real scheduler: 100,000 logs in one triggered run of ``airflow standalone``
   (run start_date to end_date), against the in-process run of the same logs (bench/scheduler.py).
7. a million logs in process: fetch, deliver and commit each in a fresh process, time and peak
   RSS, against 100,000 (bench/million.py).
8. freshness and 9. idle cost through ``airflow standalone``, in cron and in event mode (bench/freshness.py;
   about 12 minutes a mode; ``--mode`` picks one).
10. rate cap: 3 pipelines x 8 delivery tasks (24 processes) against one receiver capped at 20 requests/s:
   the most requests in any one second and the throughput (bench/rate_cap.py).

The emulator and the webhook sink run as separate processes (their CLIs), so this process holds
only the pipeline's memory and GIL. ``--quick`` is a ~1 minute version; ``--logs N`` scales 2 and 3.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from bench.memory import FLAT_TOLERANCE, LIMIT_MB, MemoryResult, measure
from bench.pipeline import DELIVERY_SLOTS, EndToEndResult, ReadResult, prepare_airflow, wire_connections
from bench.servers import Emulator, ServerProcess, Sink, start_emulator, start_sink

READ_BURST = 10
READ_PER_MINUTE = 600.0
READ_TARGET_RATIO = 1.10
OVERHEAD_TARGET_RATIO = 1.5
BENCHMARKS = (
    "read",
    "e2e",
    "memory",
    "slow",
    "distributed",
    "scheduler",
    "million",
    "freshness",
    "idle",
    "ratecap",
)
# distributed takes minutes and its own stack: ask for it
DEFAULT_BENCHMARKS = ("read", "e2e", "memory", "slow", "scheduler", "million", "freshness", "idle", "ratecap")
DISTRIBUTED_LOGS = 1_000_000
SLOW_LOGS = 20_000


@dataclass
class Row:
    """One line of the final summary table."""

    benchmark: str
    result: str
    target: str
    met: bool | None

    @property
    def verdict(self) -> str:
        """MET, MISSED or n/a."""
        return "n/a" if self.met is None else ("MET" if self.met else "MISSED")


def say(message: str) -> None:
    """Print a line now (the run is long; show progress as it goes)."""
    print(message, flush=True)


@contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    """Stop ``server`` when the block ends, however it ends."""
    try:
        yield server
    finally:
        server.stop()


def wire(emulator: Emulator, sink: Sink) -> None:
    """Point the pipeline's connections at ``emulator`` and ``sink``."""
    wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)


# -- 1 ----------------------------------------------------------------------------------------


def bench_read(workdir: Path, sink: Sink, logs: int) -> list[Row]:
    """Benchmark 1: read ``logs`` logs through the rate limit; print pages, seconds, floor, 429s."""
    from bench.pipeline import rate_limited_read

    say(f"\n[1] rate-limited read: {logs:,} logs, burst {READ_BURST}, {READ_PER_MINUTE:.0f}/minute")
    emulator = start_emulator(
        workdir, logs=logs, burst=READ_BURST, per_minute=READ_PER_MINUTE, name="emulator-rate-limited"
    )
    with running(emulator):
        wire(emulator, sink)
        r: ReadResult = rate_limited_read(emulator, logs, burst=READ_BURST, per_minute=READ_PER_MINUTE)
    met = r.ratio <= READ_TARGET_RATIO and r.rate_limited == 0
    say(
        f"    read {r.logs:,} logs in {r.pages} pages in {r.seconds:.2f}s; "
        f"floor (pages - burst) / rate = ({r.pages} - {r.burst}) / {r.per_second:g}/s = {r.floor_pages:.2f}s; "
        f"ratio {r.ratio:.3f}x; 429s served: {r.rate_limited}"
    )
    say(
        f"    rate-limited API requests sent: {r.api_requests} (pages + the oldest-log search [+ a final "
        f"short page]); their floor {r.floor_requests:.2f}s, ratio {r.seconds / r.floor_requests:.3f}x; "
        f"the hook slept {r.waits} times, {r.waited_seconds:.2f}s in all"
    )
    say(f"    target: within {READ_TARGET_RATIO:.2f}x of the floor and zero 429s -> {'MET' if met else 'NOT MET'}")
    result = f"{r.pages} pages {r.seconds:.2f}s, floor {r.floor_pages:.2f}s, {r.ratio:.3f}x, {r.rate_limited} 429s"
    return [Row("1 rate-limited read", result, f"<= {READ_TARGET_RATIO:.2f}x floor, 0 429s", met)]


# -- 2 ----------------------------------------------------------------------------------------


def _describe(r: EndToEndResult) -> str:
    parts = [
        f"    {r.label:>13}: {r.logs:,} logs read in {r.seconds:.2f}s = {r.rate(r.seconds):,.0f} logs/s",
        f"fetch {r.fetch_seconds:.2f}s ({r.rate(r.fetch_seconds):,.0f} logs/s, {r.fetch_requests} GETs)",
        f"deliver {r.deliver_seconds:.2f}s ({r.delivered_logs:,} selected logs, "
        f"{r.delivered_logs / r.deliver_seconds:,.0f} logs/s, {r.deliver_requests} POSTs)",
    ]
    if r.label == "library":
        parts.append(f"commit {r.commit_seconds:.2f}s")
    return "; ".join(parts)


def bench_end_to_end(workdir: Path, emulator: Emulator, sink: Sink, logs: int, rounds: int) -> list[Row]:
    """Benchmark 2: the library's fetch + deliver + commit against a bare script, same servers.

    After a warm-up pass, ``rounds`` rounds each run the bare script then the library; the fastest
    pass of each is compared (the rounds' ratios are printed too, to show the noise).
    """
    from bench.bare import bare_end_to_end
    from bench.pipeline import library_end_to_end

    say(f"\n[2] unthrottled end to end: {logs:,} logs, deliveries 5 chunks at a time, {rounds} round(s)")
    wire(emulator, sink)
    bare_end_to_end(emulator, sink, logs)  # warm both servers and this process's imports
    bares: list[EndToEndResult] = []
    libraries: list[EndToEndResult] = []
    for number in range(rounds):
        bares.append(bare_end_to_end(emulator, sink, logs))
        libraries.append(library_end_to_end(emulator, sink, workdir / "e2e", logs, run_id=f"bench_e2e_{number}"))
        if rounds > 1:
            say(
                f"    round {number + 1}: library {libraries[-1].seconds:.2f}s, bare {bares[-1].seconds:.2f}s, "
                f"{libraries[-1].seconds / bares[-1].seconds:.2f}x"
            )
    library = min(libraries, key=lambda r: r.seconds)
    bare = min(bares, key=lambda r: r.seconds)
    if rounds > 1:
        say("    fastest pass of each:")
    say(_describe(library))
    say(_describe(bare))
    if library.chunk_seconds:
        work = sum(library.chunk_seconds)
        say(
            f"    library deliver: {len(library.chunk_seconds)} chunks over {DELIVERY_SLOTS} slots, "
            f"{work:.2f}s of chunk time -> {work / DELIVERY_SLOTS:.2f}s if perfectly spread, "
            f"{library.deliver_seconds:.2f}s measured; chunk times {min(library.chunk_seconds):.2f}"
            f"-{max(library.chunk_seconds):.2f}s"
        )
    ratio = library.seconds / bare.seconds
    fetch_ratio = library.fetch_seconds / bare.fetch_seconds
    deliver_ratio = library.deliver_seconds / bare.deliver_seconds
    met = ratio <= OVERHEAD_TARGET_RATIO
    say(
        f"    library / bare wall time: {library.seconds:.2f}s / {bare.seconds:.2f}s = {ratio:.2f}x "
        f"(fetch {fetch_ratio:.2f}x, deliver {deliver_ratio:.2f}x); target <= {OVERHEAD_TARGET_RATIO:.1f}x -> "
        f"{'MET' if met else 'NOT MET'}"
    )
    return [
        Row(
            "2 end to end (library)",
            f"{library.seconds:.2f}s, {library.rate(library.seconds):,.0f} logs/s, "
            f"{library.fetch_requests} GETs + {library.deliver_requests} POSTs",
            "n/a",
            None,
        ),
        Row(
            "2 end to end (bare)",
            f"{bare.seconds:.2f}s, {bare.rate(bare.seconds):,.0f} logs/s, "
            f"{bare.fetch_requests} GETs + {bare.deliver_requests} POSTs",
            "n/a",
            None,
        ),
        Row("2 library / bare", f"{ratio:.2f}x (fastest of {rounds} each)", f"<= {OVERHEAD_TARGET_RATIO:.1f}x", met),
    ]


# -- 3 ----------------------------------------------------------------------------------------


def _memory_line(m: MemoryResult) -> str:
    traced = f", Python allocations peak {m.traced_peak_mb:.1f} MB (tracemalloc run)" if m.traced_peak_mb else ""
    return (
        f"    {m.step:>7} {m.logs:>9,} logs: peak RSS {m.peak_mb:6.1f} MB "
        f"(imports {m.baseline_mb:.1f} MB + step {m.step_mb:.1f} MB) in {m.seconds:.2f}s{traced}"
    )


def bench_memory(workdir: Path, emulator: Emulator, sink: Sink, sizes: list[int], trace: bool) -> list[Row]:
    """Benchmark 3: peak RSS of fetch and of one deliver step over every batch, per size."""
    say(f"\n[3] peak memory, each step in a fresh process: {', '.join(f'{n:,}' for n in sizes)} logs")
    say("    (deliver = one step sending every staged batch, as with max_delivery_tasks=1: the largest step)")
    results: dict[str, list[MemoryResult]] = {"fetch": [], "deliver": []}
    for logs in sizes:
        where = workdir / f"memory-{logs}"
        for step in ("fetch", "deliver"):
            result = measure(step, logs, where, emulator, sink)
            if trace:  # a separate pair of children (fetch stages for deliver), so RSS stays untraced
                traced = measure(step, logs, where / "traced", emulator, sink, trace=True)
                result = replace(result, traced_peak_mb=traced.traced_peak_mb)
            results[step].append(result)
            say(_memory_line(result))
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


# -- 4 ----------------------------------------------------------------------------------------


def bench_slow(workdir: Path, emulator: Emulator, sink: Sink, logs: int) -> list[Row]:
    """Benchmark 4: a receiver answering in 200 ms; logs/s against slots x batch / latency."""
    from bench.slow import LATENCY_SECONDS, TARGET_SHARE, slow_receiver

    say(f"\n[4] slow receiver: {logs:,} logs, {LATENCY_SECONDS * 1000:.0f} ms per request, {DELIVERY_SLOTS} slots")
    wire(emulator, sink)
    rows = []
    for max_tasks in (16, 3 * DELIVERY_SLOTS):
        r = slow_receiver(emulator, sink, workdir / f"slow-{max_tasks}", logs, max_tasks)
        met = r.share >= TARGET_SHARE
        say(
            f"    max_delivery_tasks={max_tasks}: {r.chunks} chunks, {r.delivered_logs:,} logs in {r.requests} "
            f"requests in {r.deliver_seconds:.2f}s = {r.rate:,.0f} logs/s = {r.share:.0%} of the limit "
            f"{r.limit:,.0f} logs/s; target >= {TARGET_SHARE:.0%} -> {'MET' if met else 'NOT MET'}"
        )
        rows.append(
            Row(f"4 slow receiver, {max_tasks} tasks", f"{r.rate:,.0f} logs/s, {r.share:.0%} of limit", ">= 90%", met)
        )
    return rows


# -- main ---------------------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    """Print the summary table."""
    headers = ("benchmark", "result", "target", "verdict")
    table = [headers, *((r.benchmark, r.result, r.target, r.verdict) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    say("\nSummary")
    for number, line in enumerate(table):
        say("  " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            say("  " + "-+-".join("-" * width for width in widths))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line; ``--quick`` changes the defaults of the sizes not given."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a ~1 minute version (smaller sizes)")
    parser.add_argument("--logs", type=int, help="logs for the end to end run and the larger memory size")
    parser.add_argument("--read-logs", type=int, help="logs read through the rate limit (default 20,000)")
    parser.add_argument("--only", choices=BENCHMARKS, action="append", help="run only these (repeatable)")
    parser.add_argument(
        "--distributed-logs", type=int, default=DISTRIBUTED_LOGS, help="logs of the distributed run (1,000,000)"
    )
    parser.add_argument(
        "--scheduler-logs", type=int, help="logs of the run through airflow standalone (100,000; 10,000 with --quick)"
    )
    parser.add_argument(
        "--million-logs",
        type=int,
        help="logs of the in-process steps at scale, against a tenth (1,000,000; 100,000 with --quick)",
    )
    parser.add_argument("--rounds", type=int, help="end to end rounds, fastest kept (default 2; 1 with --quick)")
    parser.add_argument("--mode", choices=("cron", "event"), action="append", help="freshness/idle modes (both)")
    parser.add_argument("--traffic-minutes", type=float, default=5.0, help="freshness: minutes of live traffic")
    parser.add_argument("--idle-minutes", type=float, default=5.0, help="idle cost: minutes measured")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations per step")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    args.logs = args.logs or (10_000 if args.quick else 100_000)
    args.read_logs = args.read_logs or (3_000 if args.quick else 20_000)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.scheduler_logs = args.scheduler_logs or (10_000 if args.quick else 100_000)
    args.million_logs = args.million_logs or (100_000 if args.quick else 1_000_000)
    args.only = args.only or list(DEFAULT_BENCHMARKS)
    args.mode = args.mode or ["cron", "event"]
    return args


def bench_airflow_stacks(args: argparse.Namespace, workdir: Path) -> list[Row]:
    """The parts with a stack of their own: an Airflow (distributed, scheduler, freshness, idle) or 1M logs."""
    rows: list[Row] = []
    if "distributed" in args.only:
        from bench.distributed import bench_distributed

        distributed = bench_distributed(workdir, args.distributed_logs)
        rows += [Row(name, result, "n/a", None) for name, result in distributed]
    if "scheduler" in args.only:
        from bench.pipeline import library_end_to_end
        from bench.scheduler import bench_scheduler

        found = bench_scheduler(workdir, args.scheduler_logs, args.rounds, library_end_to_end)
        rows += [Row(*row) for row in found]
    if "million" in args.only:
        from bench.million import bench_million

        rows += [Row(*row) for row in bench_million(workdir, args.million_logs, args.million_logs // 10)]
    if {"freshness", "idle"} & set(args.only):
        from bench.freshness import bench_freshness

        rows += [
            Row(*row)
            for row in bench_freshness(
                workdir,
                say,
                modes=args.mode,
                traffic_minutes=args.traffic_minutes if "freshness" in args.only else 0,
                idle_minutes=args.idle_minutes if "idle" in args.only else 0,
            )
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks, print their numbers and a summary; exit 0 even if targets are missed."""
    args = parse_args(argv)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="auth0-webhooks-bench-"))
    prepare_airflow(workdir / "airflow_home")
    say(f"bench: work directory {workdir}; python {sys.version.split()[0]}")
    rows: list[Row] = []
    try:
        sink = start_sink(workdir)
        with running(sink):
            if "read" in args.only:
                rows += bench_read(workdir, sink, args.read_logs)
            if "ratecap" in args.only:
                from bench.rate_cap import bench_rate_cap

                say("\n[10] rate cap: 3 pipelines x 8 delivery tasks, one receiver capped at 20 requests/s")
                rows += [Row(*row) for row in bench_rate_cap(workdir, sink)]
            if {"e2e", "memory", "slow"} & set(args.only):
                emulator = start_emulator(workdir, logs=args.logs, per_minute=0, name="emulator")
                with running(emulator):
                    if "e2e" in args.only:
                        rows += bench_end_to_end(workdir, emulator, sink, args.logs, args.rounds)
                    if "memory" in args.only:
                        sizes = sorted({max(1, args.logs // 10), args.logs})
                        rows += bench_memory(workdir, emulator, sink, sizes, args.tracemalloc)
                    if "slow" in args.only:
                        rows += bench_slow(workdir, emulator, sink, min(args.logs, SLOW_LOGS))
        rows += bench_airflow_stacks(args, workdir)
    finally:
        if args.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(rows)
    say(f"\nbench finished in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
