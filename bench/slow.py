"""Benchmark 4 (``--only slow``): delivery to a slow receiver, against the limit the pool's slots set.

The sink answers every request 200 ms late; deliveries run 5 chunks at a time (the pool's slots),
batches of 100. No pipeline can deliver faster than slots x batch / latency = 2,500 logs/s; the
benchmark prints the delivered logs/s and its share of that limit, with the default
``max_delivery_tasks`` (16) and with a multiple of the slots (15): chunks run in waves of 5, so 16
chunks take 4 waves, the last one a single chunk, and the slots idle meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.pipeline import DELIVERY_SLOTS, quiet_library_logs, wire_connections
from bench.report import Row, say, verdict_word
from bench.servers import start_emulator, start_sink

LATENCY_SECONDS = 0.2
BATCH_SIZE = 100
TARGET_SHARE = 0.90


@dataclass(frozen=True)
class SlowResult:
    """One delivery pass against the slow sink."""

    max_tasks: int
    chunks: int
    delivered_logs: int
    requests: int
    deliver_seconds: float

    @property
    def limit(self) -> float:
        """slots x batch / latency, in logs/s."""
        return DELIVERY_SLOTS * BATCH_SIZE / LATENCY_SECONDS

    @property
    def rate(self) -> float:
        """Delivered logs/s over the deliver phase."""
        return self.delivered_logs / self.deliver_seconds

    @property
    def share(self) -> float:
        """The rate over the limit."""
        return self.rate / self.limit


def slow_receiver(emulator: Any, sink: Any, workdir: Path, logs: int, max_tasks: int) -> SlowResult:
    """Fetch ``logs`` logs, deliver them to the sink answering ``LATENCY_SECONDS`` late, and commit."""
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from auth0_log_webhooks.run.variables import InMemoryVariables
    from dev.runner import run_pipeline

    quiet_library_logs()
    config = {
        "staging_url": f"file://{workdir}/staging",
        "dead_letter_url": f"file://{workdir}/dead_letters",
        "max_logs_per_run": logs,
        "batch_size": BATCH_SIZE,
        "max_delivery_tasks": max_tasks,
    }
    variables = InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})
    sink.reset()
    sink.control("POST", "/__sink/faults", json={"delay_seconds": LATENCY_SECONDS})
    try:
        outcome = run_pipeline(AUTHENTICATION_API, variables, run_id=f"bench_slow_{max_tasks}", slots=DELIVERY_SLOTS)
    finally:
        sink.control("DELETE", "/__sink/faults")
    if outcome.summary is None:
        raise RuntimeError(f"the slow-receiver run did not deliver everything: {outcome.error}")
    return SlowResult(
        max_tasks=max_tasks,
        chunks=len(outcome.chunks),
        delivered_logs=outcome.summary["delivered_logs"],
        requests=sink.summary()["requests"],
        deliver_seconds=outcome.seconds["deliver"],
    )


def run(workdir: Path, *, logs: int = 20_000) -> list[Row]:
    """Deliver ``logs`` logs to a receiver answering in 200 ms with 16 and with 15 delivery tasks."""
    say(f"\n[4] slow receiver: {logs:,} logs, {LATENCY_SECONDS * 1000:.0f} ms per request, {DELIVERY_SLOTS} slots")
    workdir.mkdir(parents=True, exist_ok=True)
    sink = start_sink(workdir)
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator")
    rows = []
    try:
        wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)
        for max_tasks in (16, 3 * DELIVERY_SLOTS):
            r = slow_receiver(emulator, sink, workdir / f"slow-{max_tasks}", logs, max_tasks)
            met = r.share >= TARGET_SHARE
            say(
                f"    max_delivery_tasks={max_tasks}: {r.chunks} chunks, {r.delivered_logs:,} logs in {r.requests} "
                f"requests in {r.deliver_seconds:.2f}s = {r.rate:,.0f} logs/s = {r.share:.0%} of the limit "
                f"{r.limit:,.0f} logs/s; target >= {TARGET_SHARE:.0%} -> {verdict_word(met)}"
            )
            rows.append(
                Row(
                    f"4 slow receiver, {max_tasks} tasks",
                    f"{r.rate:,.0f} logs/s, {r.share:.0%} of limit",
                    f">= {TARGET_SHARE:.0%}",
                    met,
                )
            )
    finally:
        emulator.stop()
        sink.stop()
    return rows
