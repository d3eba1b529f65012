"""Intake of Auth0's logs: encode each for staging, repairing text that cannot be encoded.

Auth0 answers JSON; JSON may escape a lone UTF-16 surrogate (``"\\ud800"``), which Python decodes
into a ``str`` that no UTF-8 encoder accepts. Such a log is repaired (each lone surrogate becomes
U+FFFD, the replacement character), staged and delivered; the fetch counts the repairs in its log
line and plan. A log without an id cannot be placed at all: the run stops with a message saying how
to step past it.

Such a message is made before the pipeline's personal-data rules could run (they apply to logs that
can be placed), so it never quotes the log: :func:`describe_log` says what it is (its size, a known
type code, a well-formed date, what its log_id is), which finds it in the tenant without repeating
an email or an IP address into task logs, notices and the health page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from auth0_log_webhooks.log_ids import is_log_id, log_id_of, shape
from auth0_log_webhooks.pipelines.log_types import catalog


def repair_text(value: str) -> str:
    """Return ``value`` with each lone surrogate replaced by U+FFFD (surrogate pairs are joined)."""
    return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def repaired(value: Any) -> Any:
    """Return ``value`` (a JSON value) with every string, keys included, repaired."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, Mapping):
        return {repaired(key): repaired(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [repaired(item) for item in value]
    return value


def encode_log(log: Mapping[str, Any]) -> tuple[bytes, bool]:
    """Return a log as one JSON line's bytes, and whether its text had to be repaired.

    :raises TypeError: if the log holds something JSON cannot carry even after repair.
    """
    try:
        return orjson.dumps(log), False
    except orjson.JSONEncodeError:
        return orjson.dumps(repaired(log)), True


def _next_id(page: Sequence[Any], after: Any) -> str | None:
    """Return the id of the first well-formed log after ``after`` in its page, if any."""
    seen = False
    for item in page:
        if item is after:
            seen = True
            continue
        if seen and isinstance(item, Mapping):
            try:
                candidate = log_id_of(item)
            except ValueError:
                continue
            if is_log_id(candidate):
                return candidate
    return None


MAX_DATE_CHARS = 40


def describe_log(item: Any) -> str:
    """Say what a log from the tenant is, never quoting a value: shape, known type code, date, what its log_id is."""
    if not isinstance(item, Mapping):
        return shape(item)
    parts = [shape(item)]
    code = item.get("type")
    if isinstance(code, str) and code in catalog():
        parts.append(f"type {code!r}")
    date = item.get("date")
    if isinstance(date, str) and len(date) <= MAX_DATE_CHARS:
        try:
            datetime.fromisoformat(date.replace("Z", "+00:00"))
            parts.append(f"dated {date}")
        except ValueError:
            pass
    log_id = item.get("log_id", item.get("_id"))
    parts.append("no log_id" if log_id is None else f"a log_id that is {shape(log_id)}")
    return ", ".join(parts)


def missing_id_error(item: Any, previous: str, page: Sequence[Any]) -> str:
    """Return the message of a log without a valid id: what it is, and how to step past it."""
    following = _next_id(page, item)
    then = (
        f"set the checkpoint Variable to {following} (the next log) to step past it"
        if following
        else f"set the checkpoint Variable to the log_id of the log after it (search the tenant's logs after "
        f"{previous}) to step past it"
    )
    return (
        f"Auth0 returned a log without a valid log_id after {previous} ({describe_log(item)}). The run stops so "
        f"that nothing after it is skipped silently. To deliver the logs after it, {then}; this log is not "
        "delivered."
    )
