"""Decode delivered bodies (gzip, JSON array, JSON lines, single object, Auth0 envelope) into log ids."""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from typing import Any

#: Media types read as JSON lines; any other body is parsed as one JSON document first.
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/x-jsonlines"})


class PayloadError(ValueError):
    """The body cannot be decoded or parsed; the message is short and stable."""


@dataclass(frozen=True)
class Logs:
    """Log objects found in one body: how many, and the ids of those that carry one."""

    count: int
    log_ids: list[str]


def decode_body(raw: bytes, content_encoding: str) -> bytes:
    """Undo ``Content-Encoding`` (identity or gzip).

    :raises PayloadError: for a broken gzip stream or an unsupported encoding.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding in ("gzip", "x-gzip"):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise PayloadError("bad gzip body") from exc
    raise PayloadError(f"unsupported content-encoding {encoding!r}")


def parse_logs(body: bytes, content_type: str) -> Logs:
    """Find the log objects in ``body`` and extract their ids.

    JSON lines are recognised by media type, and also as a fallback when a body sent as
    ``application/json`` is not one JSON document (Auth0 JSONLINES streams may be labelled so).

    :raises PayloadError: if the body is empty, not JSON, or holds non-objects.
    """
    if not body.strip():
        raise PayloadError("empty body")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in NDJSON_TYPES:
        items = _parse_lines(body)
    else:
        try:
            document = json.loads(body)
        except ValueError:
            items = _parse_lines(body)
        else:
            items = _items_of(document)
    log_ids = [log_id for log_id in map(log_id_of, items) if log_id is not None]
    return Logs(count=len(items), log_ids=log_ids)


def log_id_of(item: dict[str, Any]) -> str | None:
    """Return the log id of a log object or of an Auth0 Log Streams envelope, if any."""
    for candidate in (item, item.get("data")):
        if not isinstance(candidate, dict):
            continue
        for key in ("log_id", "_id"):
            value = candidate.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
                return str(value)
    return None


def _parse_lines(body: bytes) -> list[dict[str, Any]]:
    items = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise PayloadError(f"line {number} is not JSON") from exc
        if not isinstance(item, dict):
            raise PayloadError(f"line {number} is not a JSON object")
        items.append(item)
    if not items:
        raise PayloadError("no JSON lines")
    return items


def _items_of(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, dict):
        wrapped = document.get("data")
        if isinstance(wrapped, list) and log_id_of(document) is None:
            document = wrapped  # {"data": [...]}: a batch wrapped in one object
        else:
            return [document]
    if not isinstance(document, list):
        raise PayloadError("JSON body must be an array or an object")
    if not all(isinstance(item, dict) for item in document):
        raise PayloadError("array holds non-objects")
    return document
