"""Intake of Auth0's logs: encode each for staging, repairing text that cannot be encoded.

Auth0 answers JSON; JSON may escape a lone UTF-16 surrogate (``"\\ud800"``), which Python decodes
into a ``str`` that no UTF-8 encoder accepts. Such a log is repaired (each lone surrogate becomes
U+FFFD, the replacement character), staged and delivered; the fetch counts the repairs in its log
line and plan. A log without an id cannot be placed at all: the run stops with a message saying how
to step past it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from auth0_log_webhooks.log_ids import is_log_id, log_id_of


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
        f"Auth0 returned a log without a valid log_id after {previous}: {str(item)[:200]}. The run stops so "
        f"that nothing after it is skipped silently. To deliver the logs after it, {then}; this log is not "
        "delivered."
    )
