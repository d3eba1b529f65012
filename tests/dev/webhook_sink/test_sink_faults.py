"""Scripted faults: statuses, randomness, Retry-After, delay, hang, reset and body size."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from dev.webhook_sink.testing import SinkHandle
from tests.waiting import wait_until

pytestmark = pytest.mark.dev


def _post(url: str, log_id: str = "f1", timeout: float = 5, **kwargs: Any) -> requests.Response:
    return requests.post(url, json=[{"log_id": log_id}], timeout=timeout, **kwargs)


@pytest.mark.parametrize("status", [500, 503, 429, 410])
def test_status_is_answered_for_next_n_requests_when_count_fault_set(webhook_sink: SinkHandle, status: int) -> None:
    webhook_sink.add_fault(status=status, count=2)

    statuses = [_post(webhook_sink.hook_url, f"c{n}").status_code for n in range(4)]

    assert statuses == [status, status, 200, 200]
    assert webhook_sink.log_ids() == ["c2", "c3"]
    assert webhook_sink.summary()["statuses"] == {str(status): 2, "200": 2}


def test_rules_apply_in_order_when_several_are_posted(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_faults([{"status": 500, "count": 1}, {"status": 502, "count": 1}])

    statuses = [_post(webhook_sink.hook_url).status_code for _ in range(3)]

    assert statuses == [500, 502, 200]


def test_random_faults_repeat_when_seed_is_the_same(webhook_sink: SinkHandle) -> None:
    def run() -> list[int]:
        webhook_sink.reset()
        webhook_sink.add_fault(status=500, probability=0.5, seed=7)
        return [_post(webhook_sink.hook_url).status_code for _ in range(16)]

    first, second = run(), run()

    assert first == second
    assert {500, 200} == set(first)


def test_random_faults_stop_when_duration_is_over(webhook_sink: SinkHandle) -> None:
    # Long enough that the first request lands inside it on a loaded machine; then poll for its end.
    posted = time.monotonic()
    webhook_sink.add_fault(status=503, probability=1.0, seed=1, duration_seconds=3)

    assert _post(webhook_sink.hook_url).status_code == 503
    wait_until(lambda: _post(webhook_sink.hook_url).status_code == 200, "the 503 fault to end", timeout=60, every=0.2)
    assert time.monotonic() - posted >= 3  # not before its duration was over


@pytest.mark.parametrize(
    "retry_after",
    ["2", format_datetime(datetime(2030, 1, 1, tzinfo=UTC), usegmt=True)],
    ids=["delta-seconds", "http-date"],
)
@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_header_is_sent_when_fault_has_retry_after(
    webhook_sink: SinkHandle, retry_after: Any, status: int
) -> None:
    webhook_sink.add_fault(status=status, count=1, retry_after=retry_after)

    response = _post(webhook_sink.hook_url)

    assert response.status_code == status
    assert response.headers["Retry-After"] == retry_after


def test_a_429_fault_without_retry_after_sends_no_retry_after_header(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(status=429, count=1)

    response = _post(webhook_sink.hook_url)

    assert response.status_code == 429
    assert "Retry-After" not in response.headers


def test_invalid_fault_is_refused_when_key_is_unknown(webhook_sink: SinkHandle) -> None:
    response = requests.post(f"{webhook_sink.url}/__sink/faults", json={"statsu": 500}, timeout=5)

    assert response.status_code == 400
    assert "statsu" in response.json()["error"]


def test_answer_is_late_when_delay_fault_set(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(delay_seconds=0.4, count=1)

    started = time.monotonic()
    response = _post(webhook_sink.hook_url)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4
    assert webhook_sink.log_ids() == ["f1"]


def test_client_times_out_while_others_are_served_when_hang_fault_set(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(hang=True, count=1)

    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(_post, webhook_sink.hook_url, "hung", 2)
        wait_until(lambda: webhook_sink.summary()["in_flight"], "the first request to reach the sink", every=0.05)
        served = _post(webhook_sink.hook_url, "served")
        with pytest.raises(requests.exceptions.Timeout):
            hanging.result()

    assert served.status_code == 200
    assert webhook_sink.log_ids() == ["served"]
    assert webhook_sink.requests()[0]["why"] == "fault:hang"


def test_client_sees_connection_error_when_reset_fault_set(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(reset=True, count=1)

    with pytest.raises(requests.exceptions.ConnectionError):
        _post(webhook_sink.hook_url)

    assert _post(webhook_sink.hook_url).status_code == 200
    summary = webhook_sink.summary()
    assert summary["statuses"] == {"no_response": 1, "200": 1}
    assert summary["in_flight"] == 0


def test_large_body_is_refused_413_until_cleared_when_max_body_bytes_set(webhook_sink: SinkHandle) -> None:
    webhook_sink.add_fault(max_body_bytes=100)
    big = [{"log_id": f"big{n}"} for n in range(20)]

    small = _post(webhook_sink.hook_url, "small").status_code
    refused = [requests.post(webhook_sink.hook_url, json=big, timeout=5).status_code for _ in range(2)]
    webhook_sink.clear_faults()
    accepted = requests.post(webhook_sink.hook_url, json=big, timeout=5).status_code

    assert (small, refused, accepted) == (200, [413, 413], 200)
    assert webhook_sink.requests()[1]["why"] == "too large"
