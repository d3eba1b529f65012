"""The delivery log's cost (``--only deliverylog``): delivery with it against delivery without it, and a lookup.

One emulated tenant (no rate limit) and one webhook sink, each a process of its own. For each size
(100,000 then 1,000,000 logs, read from the oldest) the fetch stages the logs once; then every chunk
the fetch planned is delivered (5 at a time in threads, as the pool's 5 slots run the mapped
``deliver`` tasks) in passes that alternate between ``delivery_log_retention_days: 0`` (no delivery
log: the pipeline without it) and the default 30, ``rounds`` passes of each. Between passes the
ledger, the circuit, the claims and the delivery log are removed, so each pass sends every batch.

It prints, per size: the fastest pass of each, the overhead (time with over time without, minus 1)
and the time per log it adds, the delivery log's bytes and files per log, and the median time of a
trace lookup (:meth:`DeliveryLog.find`, one day's listing and the files it names) over 20 log ids.

Target: at most 5% more delivery time at each size (``TARGET_OVERHEAD``). The passes run on a
machine that may be loaded, so the fastest of each is compared and the noise between passes of the
same kind is printed beside it.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pipeline import (
    DELIVERY_SLOTS,
    STEPS_APART,
    pipeline_variables,
    prepare_airflow,
    quiet_library_logs,
    wire_connections,
)
from bench.report import Row, say
from bench.servers import start_emulator, start_sink

TARGET_OVERHEAD = 0.05
RETENTION_ON = 30
LOOKUPS = 20


@dataclass(frozen=True)
class SizeResult:
    """One size's passes: the fastest without and with the delivery log, and what the log holds."""

    logs: int
    selected: int
    without: list[float]
    with_log: list[float]
    log_bytes: int
    log_files: int
    lookup_ms: float

    @property
    def overhead(self) -> float:
        """Time with the delivery log over time without it, minus 1 (fastest pass of each)."""
        return min(self.with_log) / min(self.without) - 1

    @property
    def micros_per_log(self) -> float:
        """The delivery time the delivery log adds per log, in microseconds."""
        return (min(self.with_log) - min(self.without)) / self.logs * 1e6


def _spread(passes: Sequence[float]) -> str:
    return f"{(max(passes) / min(passes) - 1) * 100:.0f}%" if len(passes) > 1 else "one pass"


def _reset(run_folder: Path, log_folder: Path, retention_days: int) -> None:
    """Make the staged run deliverable again, with the delivery log on or off, and no delivery log kept."""
    for generation in run_folder.glob("g*"):
        for name in ("done", "claims", "circuit"):
            shutil.rmtree(generation / name, ignore_errors=True)
        (generation / "done").mkdir(exist_ok=True)
    plan_path = run_folder / "plan.json"
    plan = json.loads(plan_path.read_text())
    plan["config"]["delivery_log_retention_days"] = retention_days
    plan_path.write_text(json.dumps(plan))
    shutil.rmtree(log_folder, ignore_errors=True)


def _folder_size(folder: Path) -> tuple[int, int]:
    files = [path for path in folder.rglob("*.jsonl") if path.is_file()]
    return sum(path.stat().st_size for path in files), sum(1 for path in files if path.stat().st_size)


def measure_size(workdir: Path, sink: Any, logs: int, rounds: int) -> SizeResult:
    """Fetch ``logs`` logs once, then deliver them ``rounds`` times without and with the delivery log."""
    from auth0_log_webhooks.contracts import Chunk
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from auth0_log_webhooks.run.context import RunInfo
    from auth0_log_webhooks.run.delivery_log import FOLDER, DeliveryLog
    from auth0_log_webhooks.run.staging import RunStaging, run_key
    from auth0_log_webhooks.steps.deliver import deliver_chunk
    from auth0_log_webhooks.steps.fetch import fetch_logs

    quiet_library_logs()
    folder = workdir / f"deliverylog-{logs}"
    info = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id=f"bench_delivery_log_{logs}")
    variables = pipeline_variables(folder, max_logs_per_run=logs, settings=STEPS_APART)
    started = time.perf_counter()
    fetched = fetch_logs(AUTHENTICATION_API, info, None, variables=variables)
    plan = RunStaging.for_run(fetched["staging_url"], info.dag_id, info.run_id).read_plan()
    say(
        f"    {logs:>9,} logs: fetched and staged in {time.perf_counter() - started:.1f}s (not compared); "
        f"{plan['selected']:,} selected in {len(plan['batches']):,} batches, {len(fetched['chunks'])} chunks"
    )
    run_folder = folder / "staging" / info.dag_id / run_key(info.run_id)
    log_folder = folder / "staging" / info.dag_id / FOLDER
    chunks: list[Chunk] = fetched["chunks"]
    times: dict[int, list[float]] = {0: [], RETENTION_ON: []}
    log_bytes = log_files = 0
    for _ in range(rounds):
        for retention in (0, RETENTION_ON):
            _reset(run_folder, log_folder, retention)
            sink.reset()
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=DELIVERY_SLOTS) as pool:
                reports = list(
                    pool.map(lambda c: deliver_chunk(AUTHENTICATION_API, info, c, sleep=lambda s: None), chunks)
                )
            seconds = time.perf_counter() - began
            delivered = sum(r["delivered_logs"] for r in reports)
            if delivered != plan["selected"]:
                raise RuntimeError(f"a pass delivered {delivered:,} logs of {plan['selected']:,}")
            times[retention].append(seconds)
            kind = "with the delivery log" if retention else "without it"
            say(f"    {logs:>9,} logs: delivered in {seconds:6.2f}s {kind}")
            if retention:
                log_bytes, log_files = _folder_size(log_folder)
    delivery_log = DeliveryLog(f"file://{folder}/staging", info.dag_id, RETENTION_ON)
    probes = random.Random(logs).sample([b["first"] for b in plan["batches"]], min(LOOKUPS, len(plan["batches"])))
    lookups = []
    for probe in probes:
        began = time.perf_counter()
        if not delivery_log.find(probe):
            raise RuntimeError(f"the delivery log has no record of {probe}")
        lookups.append(time.perf_counter() - began)
    shutil.rmtree(folder, ignore_errors=True)
    return SizeResult(
        logs, plan["selected"], times[0], times[RETENTION_ON], log_bytes, log_files, statistics.median(lookups) * 1000
    )


def run(workdir: Path, *, sizes: Sequence[int] = (100_000, 1_000_000), rounds: int = 2) -> list[Row]:
    """Measure the delivery log's cost at each size; return a headline row per size."""
    counts = " and ".join(f"{n:,}" for n in sizes)
    say(f"\n[11] the delivery log's cost: delivery with it against without it, at {counts} logs")
    prepare_airflow(workdir / "airflow_home")
    emulator = start_emulator(workdir, logs=max(sizes), per_minute=0, name="emulator-deliverylog")
    sink = start_sink(workdir, name="sink-deliverylog")
    wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)
    rows: list[Row] = []
    try:
        for size in sizes:
            result = measure_size(workdir, sink, size, rounds)
            met = result.overhead <= TARGET_OVERHEAD
            say(
                f"    {size:>9,} logs: {min(result.without):.2f}s without, {min(result.with_log):.2f}s with the "
                f"delivery log (fastest of {rounds}; spread between passes {_spread(result.without)} and "
                f"{_spread(result.with_log)}): {result.overhead * 100:+.1f}%, {result.micros_per_log:+.1f} us a log; "
                f"{result.log_bytes / size:.2f} bytes a log ({result.log_bytes:,} bytes in {result.log_files:,} "
                f"files); a trace lookup {result.lookup_ms:.1f} ms (median of {LOOKUPS})"
            )
            rows.append(
                Row(
                    f"11 delivery log @ {size:,}",
                    f"{result.overhead * 100:+.1f}% time ({result.micros_per_log:+.1f} us/log), "
                    f"{result.log_bytes / size:.2f} B/log, lookup {result.lookup_ms:.1f} ms",
                    f"<= +{TARGET_OVERHEAD * 100:.0f}% delivery time",
                    met,
                )
            )
    finally:
        sink.stop()
        emulator.stop()
    return rows
