"""Read numbers out of HTTP headers with ASCII-only rules, tolerant of garbage.

A header is outside input: a hostile or broken server may send ``Retry-After: ²``, a thousand
digits, ``NaN`` or bytes that are not text. ``str.isdigit()`` accepts ``²`` and ``int()`` then
raises; here only ASCII digits count, lengths are bounded, and a value that does not parse is
ignored (the caller falls back to its default) and logged once per header name.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from requests.utils import parse_header_links

log = logging.getLogger(__name__)

_INTEGER = re.compile(r"-?[0-9]{1,18}", re.ASCII)
_NUMBER = re.compile(r"[0-9]{1,18}(?:\.[0-9]{1,9})?", re.ASCII)
_HTTP_DATE_MAX_CHARS = 64
_warned: set[str] = set()


def _ignored(name: str, value: str) -> None:
    """Log, once per header name and process, that a header's value was not understood."""
    key = name.lower()
    if key in _warned:
        return
    _warned.add(key)
    log.warning("Ignoring header %s: %r is not a value this client understands", name, value[:40])


def _matching(headers: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str | None:
    """Return a header's stripped value if it matches ``pattern`` whole; None (logged once) otherwise."""
    value = headers.get(name)
    text = value.strip(" \t") if isinstance(value, str) else ""
    if not text:
        return None
    if pattern.fullmatch(text):
        return text
    _ignored(name, text)
    return None


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    """Return a header's value as an integer (ASCII digits, an optional minus), or None."""
    text = _matching(headers, name, _INTEGER)
    return None if text is None else int(text)


def header_number(headers: Mapping[str, str], name: str) -> float | None:
    """Return a header's value as a non-negative number (ASCII digits, one optional fraction), or None."""
    text = _matching(headers, name, _NUMBER)
    return None if text is None else float(text)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` value asks for (delta-seconds or an HTTP date), or None.

    Only ASCII delta-seconds or an RFC 9110 date count; anything else (including a date in the
    past, which means "now") is a finite, non-negative number or None, never an exception.
    """
    if not value:
        return None
    text = value.strip(" \t")
    if _NUMBER.fullmatch(text) and "." not in text:
        return float(text)
    if not text.isascii() or len(text) > _HTTP_DATE_MAX_CHARS or not any(c.isalpha() for c in text):
        if text:
            _ignored("Retry-After", text)
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        _ignored("Retry-After", text)
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        seconds = (when - now).total_seconds()
    except OverflowError:
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def next_link(headers: Mapping[str, str]) -> str | None:
    """Return the URL of a ``Link`` header's ``rel="next"`` entry, or None (garbage is ignored, logged once)."""
    value = headers.get("link")
    if not isinstance(value, str) or not value.strip():
        return None
    if not value.isascii() or len(value) > 8192:
        _ignored("Link", value)
        return None
    try:
        links = parse_header_links(value)
    except (ValueError, IndexError, AttributeError):
        _ignored("Link", value)
        return None
    for link in links:
        if "next" in str(link.get("rel", "")).split():
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None
