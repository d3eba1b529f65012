"""Payloads: the exact bytes of each format, the Log Streams envelope, and ids stable across retries."""

import json
from typing import Any

import pytest

from auth0_log_webhooks.delivery.payloads import JSON, NDJSON, encode, messages_for, split, webhook_id_for
from tests.builders import log_id

pytestmark = pytest.mark.unit


def logs(*numbers: int) -> list[dict[str, Any]]:
    return [{"log_id": log_id(n), "type": "s", "description": "Zoë logged in"} for n in numbers]


def test_json_array_is_one_compact_array_of_the_logs_when_format_is_default() -> None:
    message = encode(logs(1, 2))
    assert message.content_type == JSON
    assert json.loads(message.body) == logs(1, 2)
    assert ", " not in message.body
    assert "Zoë" in message.body
    assert message.log_ids == (log_id(1), log_id(2))


def test_json_lines_puts_one_log_per_line_when_format_is_json_lines() -> None:
    message = encode(logs(1, 2, 3), "json_lines")
    assert message.content_type == NDJSON
    assert [json.loads(line) for line in message.body.split("\n")] == logs(1, 2, 3)


def test_json_object_is_the_log_itself_when_format_is_json_object() -> None:
    message = encode(logs(1), "json_object")
    assert (message.content_type, json.loads(message.body)) == (JSON, logs(1)[0])


@pytest.mark.parametrize("count", [0, 2], ids=["no-log", "two-logs"])
def test_json_object_is_refused_when_not_exactly_one_log(count: int) -> None:
    with pytest.raises(ValueError, match=f"exactly one log, not {count}"):
        encode(logs(*range(1, count + 1)), "json_object")


def test_an_unknown_format_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match="unknown payload format 'xml'"):
        encode(logs(1), "xml")


@pytest.mark.parametrize(
    ("fmt", "parse"),
    [
        ("json_array", json.loads),
        ("json_lines", lambda body: [json.loads(line) for line in body.split("\n")]),
    ],
    ids=["json_array", "json_lines"],
)
def test_the_envelope_wraps_each_log_with_its_id_when_log_streams_envelope_is_on(fmt: str, parse: Any) -> None:
    message = encode(logs(1, 2), fmt, envelope=True)
    assert parse(message.body) == [{"log_id": log_id(n), "data": log} for n, log in enumerate(logs(1, 2), 1)]


def test_the_envelope_uses_the_underscore_id_when_a_log_has_no_log_id() -> None:
    message = encode([{"_id": log_id(7), "type": "f"}], "json_object", envelope=True)
    assert json.loads(message.body) == {"log_id": log_id(7), "data": {"_id": log_id(7), "type": "f"}}


def test_a_log_without_any_id_is_refused() -> None:
    with pytest.raises(ValueError, match="log has no log_id"):
        encode([{"type": "s"}])


def test_webhook_id_is_the_same_when_the_same_logs_are_encoded_again() -> None:
    first = encode(logs(1, 2))
    again = encode([dict(log) for log in logs(1, 2)], "json_lines", envelope=True)
    assert first.webhook_id == again.webhook_id == webhook_id_for([log_id(1), log_id(2)])


@pytest.mark.parametrize(
    "other",
    [[log_id(1), log_id(3)], [log_id(2), log_id(1)], [log_id(1)], [log_id(1), log_id(2), log_id(3)]],
    ids=["other-log", "other-order", "fewer", "more"],
)
def test_webhook_id_differs_when_the_log_ids_differ(other: list[Any]) -> None:
    assert webhook_id_for(other) != webhook_id_for([log_id(1), log_id(2)])


def test_webhook_id_has_no_dot_because_the_signature_uses_dots_as_separators() -> None:
    webhook_id = webhook_id_for([log_id(1)])
    assert "." not in webhook_id
    assert webhook_id.startswith("msg_")


def test_one_message_carries_the_batch_when_send_as_batch() -> None:
    messages = messages_for(logs(1, 2, 3), send_as_batch=True, fmt="json_lines", envelope=False)
    assert [(m.log_ids, m.content_type) for m in messages] == [((log_id(1), log_id(2), log_id(3)), NDJSON)]


def test_each_log_is_its_own_json_object_message_when_not_send_as_batch() -> None:
    messages = messages_for(logs(1, 2), send_as_batch=False, fmt="json_lines", envelope=False)
    assert [json.loads(m.body) for m in messages] == logs(1, 2)
    assert [m.log_ids for m in messages] == [(log_id(1),), (log_id(2),)]
    assert messages[0].webhook_id != messages[1].webhook_id


@pytest.mark.parametrize("send_as_batch", [True, False], ids=["batch", "per-log"])
def test_no_message_is_made_when_the_batch_is_empty(send_as_batch: bool) -> None:
    assert messages_for([], send_as_batch=send_as_batch, fmt="json_array", envelope=False) == []


@pytest.mark.parametrize(("count", "sizes"), [(2, (1, 1)), (5, (2, 3)), (6, (3, 3))], ids=["2", "5", "6"])
def test_split_halves_keep_every_log_once_in_order(count: int, sizes: tuple[Any, ...]) -> None:
    message = encode(logs(*range(1, count + 1)), "json_lines", envelope=True)
    first, second = split(message, "json_lines", True)
    assert (len(first.logs), len(second.logs)) == sizes
    assert first.log_ids + second.log_ids == message.log_ids
    assert first.body == encode(logs(*range(1, sizes[0] + 1)), "json_lines", envelope=True).body
    assert len({message.webhook_id, first.webhook_id, second.webhook_id}) == 3
    assert first.webhook_id == webhook_id_for(first.log_ids)


def staged_management(*numbers: int) -> list[dict[str, Any]]:
    """Management logs as staged: the original's {date, request, response} and the log_id."""
    original = {"date": "2026-11-26T05:00:00.000Z", "request": {"path": "/api/v2/users"}, "response": None}
    return [original | {"log_id": log_id(n)} for n in numbers]


@pytest.mark.parametrize("send_as_batch", [True, False], ids=["batch", "one-per-log"])
def test_a_management_payload_is_sent_without_log_id_yet_its_message_keeps_the_ids(send_as_batch: bool) -> None:
    staged = staged_management(1, 2)
    messages = messages_for(staged, send_as_batch=send_as_batch, fmt="json_array", envelope=False, omit_log_id=True)
    bodies = [json.loads(m.body) for m in messages]
    items = [item for body in bodies for item in (body if isinstance(body, list) else [body])]
    assert [set(item) for item in items] == [{"date", "request", "response"}] * 2
    assert [i for m in messages for i in m.log_ids] == [log_id(1), log_id(2)]
    assert [log for m in messages for log in m.logs] == staged  # dead letters keep the ids
    kept = messages_for(staged, send_as_batch=send_as_batch, fmt="json_array", envelope=False)
    assert [m.webhook_id for m in messages] == [m.webhook_id for m in kept]


def test_without_log_id_the_envelope_and_a_413_split_still_carry_the_ids_outside_the_payload() -> None:
    message = encode(staged_management(1, 2, 3), envelope=True, omit_log_id=True)
    original = {k: v for k, v in staged_management(1)[0].items() if k != "log_id"}
    assert json.loads(message.body)[0] == {"log_id": log_id(1), "data": original}
    first, second = split(encode(staged_management(1, 2, 3), omit_log_id=True), "json_array", False, omit_log_id=True)
    assert "log_id" not in first.body + second.body
    assert first.log_ids + second.log_ids == (log_id(1), log_id(2), log_id(3))
