"""In-flight accounting, duplicates, the check endpoint, reset and the summary CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from dev.webhook_sink.testing import SinkHandle

pytestmark = pytest.mark.dev

REPO = Path(__file__).resolve().parents[3]


def _deliver(url: str, log_ids: list[str], webhook_id: str) -> int:
    body = [{"log_id": log_id} for log_id in log_ids]
    return requests.post(url, json=body, headers={"webhook-id": webhook_id}, timeout=10).status_code


@pytest.mark.parametrize("concurrency", [1, 4, 12])
def test_max_in_flight_equals_concurrency_when_requests_overlap(webhook_sink: SinkHandle, concurrency: int) -> None:
    webhook_sink.add_fault(delay_seconds=0.5)
    barrier = threading.Barrier(concurrency)

    def send(number: int) -> int:
        barrier.wait()
        return _deliver(webhook_sink.hook_url, [f"k{number}"], f"msg_{number}")

    with ThreadPoolExecutor(concurrency) as pool:
        statuses = list(pool.map(send, range(concurrency)))

    summary = webhook_sink.summary()
    assert statuses == [200] * concurrency
    assert (summary["max_in_flight"], summary["in_flight"]) == (concurrency, 0)


def test_duplicates_are_counted_when_same_webhook_id_is_retried(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(status=503, count=1)
    for _ in range(3):  # 503, then two successful copies of the same batch
        _deliver(webhook_sink.hook_url, ["d1", "d2"], "msg_a")
    _deliver(webhook_sink.hook_url, ["d3"], "msg_b")

    summary = webhook_sink.summary()

    assert summary["logs_received"] == 5
    assert (summary["unique_log_ids"], summary["duplicate_log_ids"]) == (3, 2)
    assert summary["duplicates_with_same_webhook_id"] is True
    assert (summary["webhook_ids"], summary["accepted_requests"], summary["requests"]) == (2, 3, 4)


def test_duplicates_are_flagged_when_webhook_id_differs(webhook_sink: SinkHandle) -> None:
    _deliver(webhook_sink.hook_url, ["d1"], "msg_a")
    _deliver(webhook_sink.hook_url, ["d1"], "msg_b")

    assert webhook_sink.summary()["duplicates_with_same_webhook_id"] is False


def test_check_reports_missing_and_unexpected_when_sets_differ(webhook_sink: SinkHandle) -> None:
    _deliver(webhook_sink.hook_url, ["a", "b", "x"], "msg_1")
    _deliver(webhook_sink.hook_url, ["b"], "msg_2")

    result = webhook_sink.check(["a", "b", "c", "d"])

    assert result == {
        "missing": ["c", "d"],
        "missing_count": 2,
        "unexpected_count": 1,
        "duplicate_count": 1,
        "ok": False,
    }
    assert webhook_sink.check(["a", "b"])["ok"] is True


def test_counters_restart_when_sink_is_reset(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(status=500)
    _deliver(webhook_sink.hook_url, ["r1"], "msg_1")

    webhook_sink.reset()
    _deliver(webhook_sink.hook_url, ["r2"], "msg_2")

    assert webhook_sink.log_ids() == ["r2"]
    assert webhook_sink.summary()["requests"] == 1
    assert [r["log_ids"] for r in webhook_sink.requests()] == [["r2"]]
    kinds = [json.loads(line)["type"] for line in webhook_sink.record_path.read_text().splitlines()]
    assert kinds == ["start", "request", "reset", "request"]


def _summary_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dev.webhook_sink", "summary", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(
    ("expected", "exit_code", "missing_count"),
    [(["a", "b"], 0, 0), (["a", "b", "c"], 1, 1)],
    ids=["all-delivered", "one-missing"],
)
def test_summary_cli_exits_1_when_expected_logs_are_missing(
    webhook_sink: SinkHandle, tmp_path: Path, expected: list[Any], exit_code: int, missing_count: int
) -> None:
    _deliver(webhook_sink.hook_url, ["a", "b"], "msg_1")
    _deliver(webhook_sink.hook_url, ["b"], "msg_1")
    expected_file = tmp_path / "expected.txt"
    expected_file.write_text("\n".join(expected) + "\n")

    result = _summary_cli("--record", str(webhook_sink.record_path), "--expected", str(expected_file), "--json")

    assert result.returncode == exit_code, result.stderr
    report = json.loads(result.stdout)
    assert report["check"]["missing_count"] == missing_count
    assert report["summary"]["unique_log_ids"] == 2
    assert report["summary"]["duplicate_log_ids"] == 1
    assert report["summary"] | {"in_flight": 0} == webhook_sink.summary()


def test_summary_cli_prints_text_when_json_not_requested(webhook_sink: SinkHandle) -> None:
    _deliver(webhook_sink.hook_url, ["a"], "msg_1")

    result = _summary_cli("--record", str(webhook_sink.record_path))

    assert result.returncode == 0, result.stderr
    assert "unique_log_ids: 1" in result.stdout


@pytest.mark.parametrize(
    ("stop_signal", "return_code"),
    [(signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)],
    ids=["sigterm", "crash"],
)
def test_cli_records_survive_when_sink_stops_or_crashes(tmp_path: Path, stop_signal: Any, return_code: Any) -> None:
    record = tmp_path / "cli.jsonl"
    command = [sys.executable, "-m", "dev.webhook_sink", "--port", "0", "--record", str(record)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        assert _deliver(f"{url}/hook", ["cli1", "cli2"], "msg_1") == 200
    finally:
        process.send_signal(stop_signal)
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()

    assert process.returncode == return_code
    result = _summary_cli("--record", str(record), "--json")
    assert json.loads(result.stdout)["summary"]["unique_log_ids"] == 2
