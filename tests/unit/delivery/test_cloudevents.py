"""CloudEvents 1.0: what is sent parses with the official SDK into the event a receiver expects."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat

from auth0_log_webhooks.delivery.payloads import CLOUDEVENT, CLOUDEVENTS_BATCH, encode, messages_for, split
from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig, resolve_config

pytestmark = pytest.mark.unit

SOURCE = "urn:auth0:acme.eu.auth0.com"


def log_id(n: int) -> str:
    return "900" + "20261126050000" + f"{n:039d}"


def auth0_log(n: int, code: str = "fp") -> dict[str, Any]:
    return {"log_id": log_id(n), "type": code, "date": f"2026-11-26T05:00:0{n}.123Z", "description": "Zoë"}


def parsed_batch(body: str) -> list[BaseCloudEvent]:
    """Each event of a batch, read by the SDK (it has no batch reader; the array's items are events)."""
    return [JSONFormat().read(None, orjson.dumps(item)) for item in json.loads(body)]


def assert_is_the_log(event: BaseCloudEvent, log: dict[str, Any]) -> None:
    assert event.get_specversion() == "1.0"
    assert event.get_id() == log["log_id"]
    assert event.get_source() == SOURCE
    assert event.get_type() == f"com.auth0.log.{log['type']}"
    assert event.get_time() == datetime.fromisoformat(log["date"])
    assert event.get_datacontenttype() == "application/json"
    assert event.get_data() == log


def test_a_batch_is_one_cloudevents_batch_whose_events_are_the_logs() -> None:
    batch = [auth0_log(1), auth0_log(2, "s")]
    message = encode(batch, "cloudevents", source=SOURCE)

    assert message.content_type == CLOUDEVENTS_BATCH == "application/cloudevents-batch+json"
    events = parsed_batch(message.body)
    assert len(events) == 2
    for event, log in zip(events, batch, strict=True):
        assert_is_the_log(event, log)
    assert message.log_ids == (log_id(1), log_id(2))


def test_one_request_per_log_is_a_structured_event_the_sdk_reads_from_the_http_request() -> None:
    batch = [auth0_log(1), auth0_log(2, "seccft")]
    messages = messages_for(batch, send_as_batch=False, fmt="cloudevents", envelope=False, source=SOURCE)

    assert [m.content_type for m in messages] == [CLOUDEVENT, CLOUDEVENT]
    for message, log in zip(messages, batch, strict=True):
        event = from_http(HTTPMessage({"content-type": message.content_type}, message.body.encode()), JSONFormat())
        assert_is_the_log(event, log)


def test_time_is_the_log_date_in_utc_and_a_log_without_type_or_date_still_makes_a_valid_event() -> None:
    # Without a date the time is the one in the log id (the SDK would otherwise read "now").
    offset = {"log_id": log_id(1), "type": "s", "date": "2026-11-26T06:00:00+01:00"}
    bare = {"log_id": log_id(2)}
    events = parsed_batch(encode([offset, bare], "cloudevents", source=SOURCE).body)

    assert events[0].get_time() == datetime(2026, 11, 26, 5, tzinfo=UTC)
    assert json.loads(encode([offset], "cloudevents", source=SOURCE).body)[0]["time"] == "2026-11-26T05:00:00.000Z"
    assert (events[1].get_type(), events[1].get_id()) == ("com.auth0.log", log_id(2))
    assert events[1].get_time() == datetime(2026, 11, 26, 5, tzinfo=UTC)


def test_a_413_split_keeps_both_halves_cloudevents_batches() -> None:
    message = encode([auth0_log(n) for n in range(1, 5)], "cloudevents", source=SOURCE)
    halves = split(message, "cloudevents", False, source=SOURCE)
    assert [h.content_type for h in halves] == [CLOUDEVENTS_BATCH, CLOUDEVENTS_BATCH]
    assert [len(parsed_batch(h.body)) for h in halves] == [2, 2]


def test_events_without_a_source_are_refused() -> None:
    with pytest.raises(ValueError, match="CloudEvents need a source"):
        encode([auth0_log(1)], "cloudevents")


def test_the_source_defaults_to_the_tenant_and_a_set_one_is_kept() -> None:
    asked: list[str] = []

    def domain() -> str:
        asked.append("domain")
        return "Acme.EU.auth0.com"

    assert PipelineConfig(format="cloudevents").with_tenant(domain).cloudevents_source == SOURCE
    own = PipelineConfig(format="cloudevents", cloudevents_source="https://logs.example.com/acme")
    assert own.with_tenant(domain).cloudevents_source == "https://logs.example.com/acme"
    assert PipelineConfig().with_tenant(domain).cloudevents_source is None
    assert asked == ["domain"]  # the connection is looked up only when events need it


def test_the_log_streams_envelope_with_cloudevents_is_refused_naming_both() -> None:
    with pytest.raises(ConfigError, match="log_streams_envelope does not apply to format cloudevents"):
        resolve_config({"format": "cloudevents", "log_streams_envelope": True}, None, "x_config")
