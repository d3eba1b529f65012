"""Turn a batch of Auth0 logs into webhook messages: the exact bytes sent, and their stable id.

Formats (the Log Streams custom webhook offers the first three):

* ``json_array`` (default): one POST per batch, ``application/json``, ``[log, ...]`` — the original
  extension's SEND_AS_BATCH payload;
* ``json_lines``: one POST per batch, ``application/x-ndjson``, one log per line;
* ``send_as_batch=False``: one POST per log, ``application/json``, the log object itself;
* ``cloudevents``: CloudEvents 1.0 in structured JSON mode, as Auth0 Event Streams send them: one POST
  per batch, ``application/cloudevents-batch+json``, ``[event, ...]``; with ``send_as_batch=False``
  one POST per log, ``application/cloudevents+json``, the event itself. Each event's ``id`` is the log
  id, ``source`` the tenant (``urn:auth0:<tenant domain>``), ``type`` ``com.auth0.log.<type code>``
  (``com.auth0.log`` for a log without one, such as a reshaped Management API log), ``time`` the
  log's date in UTC (else the time in its id), and ``data`` the log.

``log_streams_envelope`` wraps every log as ``{"log_id": ..., "data": log}``, as Auth0 Log Streams
do (not with ``cloudevents``, whose events are the envelope). ``omit_log_id`` sends each log without
its ``log_id`` key (a management pipeline's payload is the original's ``{date, request, response}``
unless ``add_log_id`` is set); the message still knows its log ids. The body is serialised once;
retries resend the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

import orjson

from auth0_log_webhooks.log_ids import log_id_of, log_time

JSON = "application/json"
NDJSON = "application/x-ndjson"
CLOUDEVENT = "application/cloudevents+json"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"
EVENT_TYPE_PREFIX = "com.auth0.log"


@dataclass(frozen=True)
class Message:
    """One webhook request's content: its id, the log ids it carries and its body."""

    webhook_id: str
    log_ids: tuple[str, ...]
    body: str
    content_type: str
    logs: tuple[Mapping[str, Any], ...]
    """The logs as staged, each with its ``log_id`` (dead letters keep these)."""
    headers: tuple[tuple[str, str], ...] = ()
    """Headers of this message's own, sent with every attempt (a completeness manifest's ``webhook-kind``)."""


def webhook_id_for(log_ids: Sequence[str]) -> str:
    """Return the Standard Webhooks id of a message: a digest of its log ids, stable across retries.

    A re-fetch of the same logs after a crash yields the same id, so receivers can dedupe on it.
    """
    digest = hashlib.sha256("\n".join(log_ids).encode()).hexdigest()
    return f"msg_{digest[:40]}"


def _dumps(value: Any) -> str:
    # Compact UTF-8 JSON, the same bytes for the same logs; orjson is several times faster than json.
    return orjson.dumps(value).decode()


def _event_time(log: Mapping[str, Any]) -> str | None:
    """Return a log's date (else the time in its id) as an RFC 3339 UTC timestamp; None if it has neither."""
    try:
        moment = log_time(log)
    except ValueError:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cloud_event(log: Mapping[str, Any], log_id: str, source: str) -> dict[str, Any]:
    """Return a log as a CloudEvents 1.0 event in structured JSON form (see the module docstring)."""
    code = log.get("type")
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": log_id,
        "source": source,
        "type": f"{EVENT_TYPE_PREFIX}.{code}" if isinstance(code, str) and code else EVENT_TYPE_PREFIX,
    }
    time = _event_time(log)
    if time is not None:
        event["time"] = time
    event["datacontenttype"] = JSON
    event["data"] = log
    return event


def encode(
    logs: Sequence[Mapping[str, Any]],
    fmt: str = "json_array",
    envelope: bool = False,
    *,
    source: str = "",
    omit_log_id: bool = False,
) -> Message:
    """Encode logs as one message in ``fmt`` (``json_array``, ``json_lines``, ``json_object``,
    ``cloudevents`` for a batch of events or ``cloudevent`` for one); ``source`` names the tenant in events.

    :raises ValueError: for an unknown format, ``json_object`` or ``cloudevent`` with other than one
        log, or an event format without a source.
    """
    log_ids = tuple(log_id_of(log) for log in logs)
    sent = [{k: v for k, v in log.items() if k != "log_id"} for log in logs] if omit_log_id else list(logs)
    if fmt in ("cloudevents", "cloudevent"):
        if not source:
            raise ValueError("CloudEvents need a source (the tenant); none was given")
        items: list[Any] = [cloud_event(log, i, source) for i, log in zip(log_ids, sent, strict=True)]
    elif envelope:
        items = [{"log_id": i, "data": log} for i, log in zip(log_ids, sent, strict=True)]
    else:
        items = sent
    if fmt == "json_array":
        body, content_type = _dumps(items), JSON
    elif fmt == "json_lines":
        body, content_type = "\n".join(_dumps(item) for item in items), NDJSON
    elif fmt == "cloudevents":
        body, content_type = _dumps(items), CLOUDEVENTS_BATCH
    elif fmt in ("json_object", "cloudevent"):
        if len(items) != 1:
            raise ValueError(f"{fmt} carries exactly one log, not {len(items)}")
        body, content_type = _dumps(items[0]), CLOUDEVENT if fmt == "cloudevent" else JSON
    else:
        raise ValueError(f"unknown payload format {fmt!r}")
    return Message(webhook_id_for(log_ids), log_ids, body, content_type, tuple(logs))


T = TypeVar("T")


def message_groups(items: Sequence[T], send_as_batch: bool) -> list[Sequence[T]]:
    """Return what each message of a batch carries: the whole batch, or one item each (no message for none)."""
    if not items:
        return []
    return [items] if send_as_batch else [items[i : i + 1] for i in range(len(items))]


def messages_for(
    logs: Sequence[Mapping[str, Any]],
    *,
    send_as_batch: bool,
    fmt: str,
    envelope: bool,
    source: str = "",
    omit_log_id: bool = False,
) -> list[Message]:
    """Return the messages that deliver a batch: one for the batch, or one per log."""
    shape = fmt if send_as_batch else "cloudevent" if fmt == "cloudevents" else "json_object"
    return [
        encode(group, shape, envelope, source=source, omit_log_id=omit_log_id)
        for group in message_groups(logs, send_as_batch)
    ]


def split(
    message: Message, fmt: str, envelope: bool, *, source: str = "", omit_log_id: bool = False
) -> tuple[Message, Message]:
    """Split a message into two halves (after a 413); each half gets its own stable id."""
    half = len(message.logs) // 2
    return (
        encode(message.logs[:half], fmt, envelope, source=source, omit_log_id=omit_log_id),
        encode(message.logs[half:], fmt, envelope, source=source, omit_log_id=omit_log_id),
    )
