"""Auth0 log ids as checkpoints.

A log id is 56 decimal digits: ``900``, the UTC time ``yyyyMMddHHmmss``, then 39 more digits. The
format is not documented but every id seen has it, so ids of equal length compare as numbers when
compared as strings, and ``GET /api/v2/logs?from=<id>`` accepts any well-formed id as a position,
which lets a date become a cursor.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
        raise InvalidCheckpointError(f"{log_id!r} is not an Auth0 log id (56 digits starting with 900)")
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


def later(a: str | None, b: str | None) -> str | None:
    """Return the later of two cursors (None is earliest)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
