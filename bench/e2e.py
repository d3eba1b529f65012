"""Benchmark 2 (``--only e2e``): the library's fetch + deliver + commit in process against a bare script.

One emulated tenant without a rate limit and one webhook sink (processes of their own) serve both:
the library's steps (``library_end_to_end``: fetch, every delivery chunk 5 at a time as the pool's
slots run them, commit) and a bare ``requests`` script doing the same fetch and delivery
(bench/bare.py). After a warm-up pass, ``rounds`` rounds each run the bare script then the library;
the fastest pass of each is compared (each round's ratio is printed too, to show the noise).
Target: the library at most 1.5x the bare script's wall time.
"""

from __future__ import annotations

from pathlib import Path

from bench.bare import bare_end_to_end
from bench.pipeline import DELIVERY_SLOTS, EndToEndResult, library_end_to_end, wire_connections
from bench.report import Row, say, verdict_word
from bench.servers import start_emulator, start_sink

TARGET_RATIO = 1.5


def _delivery_rate(r: EndToEndResult) -> str:
    """The delivery phase's logs per second; none when the fetch's lane sent every batch while it read (the fetch
    then committed the run too, and the pass has no delivery or commit phase)."""
    if not r.deliver_seconds:
        return "all sent by the fetch's lane while it read"
    return f"{r.delivered_logs / r.deliver_seconds:,.0f} logs/s"


def _describe(r: EndToEndResult) -> str:
    parts = [
        f"    {r.label:>13}: {r.logs:,} logs read in {r.seconds:.2f}s = {r.rate(r.seconds):,.0f} logs/s",
        f"fetch {r.fetch_seconds:.2f}s ({r.rate(r.fetch_seconds):,.0f} logs/s, {r.fetch_requests} GETs)",
        f"deliver {r.deliver_seconds:.2f}s ({r.delivered_logs:,} selected logs, {_delivery_rate(r)}, "
        f"{r.deliver_requests} POSTs)",
    ]
    if r.label == "library":
        parts.append(f"commit {r.commit_seconds:.2f}s")
    return "; ".join(parts)


def run(workdir: Path, *, logs: int = 100_000, rounds: int = 2) -> list[Row]:
    """Compare the library with the bare script over ``logs`` logs, fastest of ``rounds`` each."""
    say(f"\n[2] unthrottled end to end: {logs:,} logs, deliveries {DELIVERY_SLOTS} chunks at a time, {rounds} round(s)")
    workdir.mkdir(parents=True, exist_ok=True)
    sink = start_sink(workdir)
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator")
    bares: list[EndToEndResult] = []
    libraries: list[EndToEndResult] = []
    try:
        wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)
        bare_end_to_end(emulator, sink, logs)  # warm both servers and this process's imports
        for number in range(rounds):
            bares.append(bare_end_to_end(emulator, sink, logs))
            libraries.append(library_end_to_end(emulator, sink, workdir, logs, run_id=f"bench_e2e_{number}"))
            if rounds > 1:
                say(
                    f"    round {number + 1}: library {libraries[-1].seconds:.2f}s, bare {bares[-1].seconds:.2f}s, "
                    f"{libraries[-1].seconds / bares[-1].seconds:.2f}x"
                )
    finally:
        emulator.stop()
        sink.stop()
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
    met = ratio <= TARGET_RATIO
    say(
        f"    library / bare wall time: {library.seconds:.2f}s / {bare.seconds:.2f}s = {ratio:.2f}x "
        f"(fetch {fetch_ratio:.2f}x, deliver {deliver_ratio:.2f}x); target <= {TARGET_RATIO:.1f}x -> "
        f"{verdict_word(met)}"
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
        Row("2 library / bare", f"{ratio:.2f}x (fastest of {rounds} each)", f"<= {TARGET_RATIO:.1f}x", met),
    ]
