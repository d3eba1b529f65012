"""The sink as a receiver using the receiver kit: it stores what it accepts once per webhook-id, and a ``drop``
fault answers 2xx but stores nothing (the receiver that said yes and lost the message)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from auth0_log_webhooks.receiver_kit.receiving import MessageStore
from tests.dev.webhook_sink.sink_helpers import SECRET, sign
from tests.fixture_types import SinkFactory

pytestmark = pytest.mark.dev


def body(n: int) -> bytes:
    return json.dumps([{"log_id": f"id{n}"}]).encode()


def post(url: str, n: int) -> int:
    return requests.post(url, data=body(n), headers=sign(body(n), msg_id=f"msg_{n}"), timeout=10).status_code


def stored(folder: Path) -> list[str]:
    return [m.webhook_id for m in MessageStore(folder).messages()]


def test_the_sink_stores_each_accepted_message_once_by_webhook_id(
    webhook_sink_factory: SinkFactory, tmp_path: Path
) -> None:
    sink = webhook_sink_factory(secrets=[SECRET], store_dir=tmp_path / "store")

    statuses = [post(sink.hook_url, n) for n in (1, 2, 1)]

    assert statuses == [200, 200, 200]
    assert stored(tmp_path / "store") == ["msg_1", "msg_2"]


def test_a_drop_fault_answers_200_but_stores_none_of_the_next_n_messages(
    webhook_sink_factory: SinkFactory, tmp_path: Path
) -> None:
    sink = webhook_sink_factory(secrets=[SECRET], store_dir=tmp_path / "store")
    sink.add_fault(drop=True, count=2)

    statuses = [post(sink.hook_url, n) for n in range(1, 5)]

    assert statuses == [200, 200, 200, 200]
    assert stored(tmp_path / "store") == ["msg_3", "msg_4"]
    assert [r["why"] for r in sink.requests()] == ["dropped", "dropped", "ok", "ok"]


def test_a_drop_fault_for_given_webhook_ids_drops_only_those(webhook_sink_factory: SinkFactory, tmp_path: Path) -> None:
    sink = webhook_sink_factory(secrets=[SECRET], store_dir=tmp_path / "store")
    sink.add_fault(drop=True, webhook_ids=["msg_2", "msg_4"])

    for n in range(1, 6):
        post(sink.hook_url, n)

    assert stored(tmp_path / "store") == ["msg_1", "msg_3", "msg_5"]


def test_a_message_with_a_bad_signature_is_neither_stored_nor_counted_as_dropped(
    webhook_sink_factory: SinkFactory, tmp_path: Path
) -> None:
    sink = webhook_sink_factory(secrets=[SECRET], store_dir=tmp_path / "store")
    sink.add_fault(drop=True, count=1)
    headers = sign(body(9), msg_id="msg_9")

    response = requests.post(sink.hook_url, data=body(8), headers=headers, timeout=10)

    assert response.status_code == 401
    assert stored(tmp_path / "store") == []


def test_a_drop_rule_with_webhook_ids_that_are_not_strings_is_refused(webhook_sink_factory: SinkFactory) -> None:
    sink = webhook_sink_factory()

    response = requests.post(f"{sink.url}/__sink/faults", json={"drop": True, "webhook_ids": [1]}, timeout=10)

    assert response.status_code == 400
    assert "webhook_ids must be a list of webhook-id strings" in response.json()["error"]
