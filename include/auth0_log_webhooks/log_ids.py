"""Auth0 log ids: their format, the time inside them, and turning a date into a reading cursor.

A log id is 56 decimal digits: ``900``, the UTC time ``yyyyMMddHHmmss``, then 39 more digits. The
format is not documented but every id seen has it, so ids of equal length compare as numbers when
compared as strings, and ``GET /api/v2/logs?from=<id>`` accepts any well-formed id as a position,
which lets a date become a cursor.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

LOG_ID_PATTERN = re.compile(r"^900(\d{14})\d{39}$")


class InvalidCheckpointError(ValueError):
    """A checkpoint or start_from value is neither an Auth0 log id nor an ISO date."""


def is_log_id(value: object) -> bool:
    """Return True if ``value`` is a well-formed Auth0 log id."""
    return isinstance(value, str) and LOG_ID_PATTERN.match(value) is not None


def cursor_for_time(moment: datetime) -> str:
    """Return the smallest cursor whose logs are those from ``moment``'s second onwards."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return "900" + moment.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "0" * 39


def time_of(log_id: str) -> datetime:
    """Return the UTC time embedded in a log id."""
    match = LOG_ID_PATTERN.match(log_id)
    if not match:
        quoted = repr(log_id) if len(log_id) <= 80 else shape(log_id)
        raise InvalidCheckpointError(f"{quoted} is not an Auth0 log id (56 digits starting with 900)")
    return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_start_from(value: str, what: str = "start_from") -> str:
    """Turn a start_from setting (a log id or an ISO 8601 date) into a ``from`` cursor.

    :param value: a log id (delivery starts after it) or a date such as ``2026-11-01`` or
        ``2026-11-01T12:00:00Z`` (delivery starts with the logs of that second).
    :param what: the setting's name, for the error message.
    :raises InvalidCheckpointError: naming the setting and the bad value.
    """
    text = value.strip()
    if is_log_id(text):
        return text
    try:
        if text.isdigit() or "-" not in text:  # digits are meant as a log id; dates need their dashes
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidCheckpointError(
            f"{what} {value!r} is neither an Auth0 log id (56 digits starting with 900) "
            "nor an ISO 8601 date such as 2026-11-01T00:00:00Z"
        ) from None
    return cursor_for_time(moment)


def cursor_before(moment: datetime, margin: timedelta = timedelta(minutes=5)) -> str:
    """Return a cursor a little before ``moment``; log ids and dates may disagree by a few seconds."""
    return cursor_for_time(moment - margin)


def shape(value: object) -> str:
    """Say what kind of JSON value ``value`` is and how big, never what it holds (it may be personal data)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"a string of {len(value):,} character{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        return f"an object with {len(value):,} field{'s' if len(value) != 1 else ''}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value):,} item{'s' if len(value) != 1 else ''}"
    return "a number" if isinstance(value, int | float) else f"a {type(value).__name__}"


def log_id_of(log: Mapping[str, Any]) -> str:
    """Return a log's id: ``log_id``, else the legacy ``_id`` (the one rule every module uses).

    :raises ValueError: if neither is a string, saying what the log is without quoting it.
    """
    for key in ("log_id", "_id"):
        value = log.get(key)
        if isinstance(value, str) and value:
            return value
    raise ValueError(f"log has no log_id ({shape(log)}; its log_id is {shape(log.get('log_id'))})")


def log_time(log: Mapping[str, Any]) -> datetime:
    """Return a log's ``date`` as an aware UTC datetime, falling back to the time in its id."""
    value = log.get("date")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    log_id = log_id_of(log)
    if not is_log_id(log_id):  # the id is the tenant's text: say what it is, never quote it
        raise ValueError(f"a log with neither a valid date nor a valid log_id (its log_id is {shape(log_id)})")
    return time_of(log_id)
