"""Benchmark 1 (``--only read``): reading through Auth0's rate limit, against the token bucket's floor.

``Auth0Hook.iter_log_pages`` reads ``logs`` logs from an emulated tenant limited to a burst of 10
and 600 requests a minute (a process of its own). The floor is (pages - burst) / rate: no reader
within the limit can be faster. Target: within 1.10x of the floor and no 429 served.
"""

from __future__ import annotations

from pathlib import Path

from bench.pipeline import ReadResult, rate_limited_read, wire_connections
from bench.report import Row, say, verdict_word
from bench.servers import start_emulator, start_sink

BURST = 10
PER_MINUTE = 600.0
TARGET_RATIO = 1.10


def run(workdir: Path, *, logs: int = 20_000, burst: int = BURST, per_minute: float = PER_MINUTE) -> list[Row]:
    """Read ``logs`` logs through the rate limit; print pages, seconds, floor, 429s; return the headline."""
    say(f"\n[1] rate-limited read: {logs:,} logs, burst {burst}, {per_minute:.0f}/minute")
    workdir.mkdir(parents=True, exist_ok=True)
    sink = start_sink(workdir)
    emulator = start_emulator(workdir, logs=logs, burst=burst, per_minute=per_minute, name="emulator-rate-limited")
    try:
        wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)
        r: ReadResult = rate_limited_read(emulator, logs, burst=burst, per_minute=per_minute)
    finally:
        emulator.stop()
        sink.stop()
    met = r.ratio <= TARGET_RATIO and r.rate_limited == 0
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
    say(f"    target: within {TARGET_RATIO:.2f}x of the floor and zero 429s -> {verdict_word(met)}")
    result = f"{r.pages} pages {r.seconds:.2f}s, floor {r.floor_pages:.2f}s, {r.ratio:.3f}x, {r.rate_limited} 429s"
    return [Row("1 rate-limited read", result, f"<= {TARGET_RATIO:.2f}x floor, 0 429s", met)]
