"""Body formats, the record file and unexpected requests."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import requests

from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import SinkFactory

pytestmark = pytest.mark.dev

ARRAY = json.dumps([{"log_id": "a1"}, {"log_id": "a2"}]).encode()
NDJSON = b'{"log_id": "n1"}\n{"log_id": "n2"}\n\n{"_id": "n3"}'
SINGLE = json.dumps({"log_id": "s1", "type": "s"}).encode()
ENVELOPE = json.dumps([{"log_id": "e1", "data": {"type": "s"}}, {"data": {"log_id": "e2"}}]).encode()


@pytest.mark.parametrize(
    ("body", "headers", "log_ids"),
    [
        pytest.param(ARRAY, {"content-type": "application/json"}, ["a1", "a2"], id="array"),
        pytest.param(NDJSON, {"content-type": "application/x-ndjson"}, ["n1", "n2", "n3"], id="ndjson"),
        pytest.param(NDJSON, {"content-type": "application/json"}, ["n1", "n2", "n3"], id="ndjson-as-json"),
        pytest.param(SINGLE, {"content-type": "application/json"}, ["s1"], id="single-object"),
        pytest.param(ENVELOPE, {"content-type": "application/json"}, ["e1", "e2"], id="auth0-envelope"),
        pytest.param(
            gzip.compress(ARRAY),
            {"content-type": "application/json", "content-encoding": "gzip"},
            ["a1", "a2"],
            id="gzip-array",
        ),
    ],
)
def test_log_ids_are_recorded_when_body_has_format(
    webhook_sink: SinkHandle, body: Any, headers: dict[str, Any], log_ids: list[Any]
) -> None:
    response = requests.post(webhook_sink.hook_url, data=body, headers=headers, timeout=5)

    assert response.status_code == 200
    assert webhook_sink.log_ids() == log_ids
    (record,) = webhook_sink.requests()
    assert record["log_ids"] == log_ids
    assert record["why"] == "ok"
    assert record["body"] == (gzip.decompress(body) if "content-encoding" in headers else body).decode()
    assert record["body_bytes"] == len(body)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        pytest.param(b"{not json", {"content-type": "application/json"}, id="not-json"),
        pytest.param(b"[1, 2]", {"content-type": "application/json"}, id="array-of-numbers"),
        pytest.param(b"", {"content-type": "application/json"}, id="empty"),
        pytest.param(b"not gzip", {"content-encoding": "gzip"}, id="bad-gzip"),
        pytest.param(b"\xff\xfe\x00", {"content-type": "application/x-ndjson"}, id="binary"),
    ],
)
def test_malformed_body_is_answered_400_and_recorded_when_unparseable(
    webhook_sink: SinkHandle, body: bytes, headers: dict[str, Any]
) -> None:
    response = requests.post(webhook_sink.hook_url, data=body, headers=headers, timeout=5)

    assert response.status_code == 400
    (record,) = webhook_sink.requests()
    assert (record["status"], record["why"]) == (400, "malformed")
    assert webhook_sink.summary()["accepted_requests"] == 0


def test_record_file_is_parseable_when_server_still_runs(webhook_sink: SinkHandle) -> None:
    for number in range(5):
        requests.post(webhook_sink.hook_url, json=[{"log_id": f"r{number}"}], timeout=5)

    lines = webhook_sink.record_path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]

    assert [r["type"] for r in records] == ["start"] + ["request"] * 5
    assert [r["seq"] for r in records[1:]] == [1, 2, 3, 4, 5]
    assert all(r["headers"]["content-type"] == "application/json" for r in records[1:])


def test_record_file_keeps_undecodable_body_as_base64_when_not_utf8(webhook_sink: SinkHandle) -> None:
    requests.post(webhook_sink.hook_url, data=b"\xff\xfe", timeout=5)

    (record,) = webhook_sink.requests()
    assert (record["body_encoding"], record["body"]) == ("base64", "//4=")


@pytest.mark.allow_unexpected_requests
def test_unexpected_request_surfaces_when_method_is_not_post(webhook_sink: SinkHandle) -> None:
    response = requests.get(webhook_sink.hook_url, timeout=5)
    unknown = requests.get(f"{webhook_sink.url}/__sink/nothing-here", timeout=5)

    assert (response.status_code, unknown.status_code) == (405, 404)
    assert webhook_sink.summary()["unexpected_requests"] == 2
    with pytest.raises(AssertionError, match="unexpected requests"):
        webhook_sink.assert_no_unexpected()


def test_authorization_is_enforced_when_configured(webhook_sink_factory: SinkFactory) -> None:
    sink = webhook_sink_factory(authorization="Bearer good")

    wrong = requests.post(sink.hook_url, json={"log_id": "x"}, headers={"Authorization": "Bearer bad"}, timeout=5)
    right = requests.post(sink.hook_url, json={"log_id": "y"}, headers={"Authorization": "Bearer good"}, timeout=5)

    assert (wrong.status_code, right.status_code) == (401, 200)
    assert sink.log_ids() == ["y"]
    assert sink.requests()[0]["headers"]["authorization"] == "Bearer bad"
