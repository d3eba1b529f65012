"""Auth0 log type codes, their levels (0 debug, 1 info, 2 warning, 3 error, 4 critical) and Log Streams categories.

The original extensions assigned a level to 98 codes (auth0-log-extension-tools ``logTypes.js``);
Auth0 has added many since. ``data/log_types.tsv`` carries every code of the reference catalog with
the level we use and where it came from:

* ``original``: the level the original extensions gave the code, kept for parity.
* ``rule``: a code the original did not know. Its level follows from Auth0's own category and name:
  a failure category (``*-fail``) or a name with "Failed", "Failure", "Error" or "Blocked" is 3
  (error); a name with "Warning", "Breached" or "Max Amount", or a ``limit_`` code, is 2 (warning);
  anything else (successes, notices, information) is 1 (info). No rule yields 0 or 4: the original
  used 4 only for a handful of outages and its 0 for nothing.

Each code also has the category a Log Stream filters on (``auth.login.fail``, ``user.success``, ...;
the 20 names of :data:`CATEGORIES`), and where it came from:

* ``stream``: Auth0's Log Stream filter page lists the code under that category.
* ``catalog``: the page does not; Auth0's tenant log catalog files the code in a folder of that name
  (``auth-token-exchange-fail`` is ``auth.token_exchange.fail``).
* ``rule``: neither lists it: ``fapi`` (failed Management API operation) is ``management.fail``,
  which Auth0 lists with no codes; the rest are ``other``.

A code that is in neither (one Auth0 adds later) has :data:`UNKNOWN_LEVEL`, the highest level, so
that no level filter drops it, and no category, so that no category filter drops it; filters log
such codes instead of silently discarding them.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVEL_NAMES: dict[int, str] = {0: "debug", 1: "info", 2: "warning", 3: "error", 4: "critical"}
UNKNOWN_LEVEL = 4
MANAGEMENT_API_TYPES: frozenset[str] = frozenset({"sapi", "fapi"})
CATEGORIES: tuple[str, ...] = (
    "auth.login.fail",
    "auth.login.notification",
    "auth.login.success",
    "auth.logout.fail",
    "auth.logout.success",
    "auth.signup.fail",
    "auth.signup.success",
    "auth.silent_auth.fail",
    "auth.silent_auth.success",
    "auth.token_exchange.fail",
    "auth.token_exchange.success",
    "management.fail",
    "management.success",
    "scim.event",
    "system.notification",
    "user.fail",
    "user.notification",
    "user.success",
    "actions",
    "other",
)
"""The categories a Log Stream filters on: the ``name`` of its ``{"type": "category"}`` filters."""

_ERROR_WORDS = re.compile(r"\b(failed|failure|error|blocked)\b", re.IGNORECASE)
_WARNING_WORDS = re.compile(r"\b(warning|breached|max amount)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LogType:
    """One log type code: its Auth0 event name, level, Log Streams category and where each came from."""

    code: str
    event: str
    level: int
    level_source: str
    category: str
    category_source: str


def derive_level(code: str, event: str, category: str = "") -> int:
    """Return the level of a code the original extensions did not know (the ``rule`` above)."""
    if category.endswith("-fail") or category.endswith(".fail") or _ERROR_WORDS.search(event):
        return 3
    if code.startswith("limit_") or _WARNING_WORDS.search(event):
        return 2
    return 1


@cache
def catalog() -> dict[str, LogType]:
    """Return every known code, read once from the packaged table."""
    text = resources.files("auth0_log_webhooks").joinpath("data/log_types.tsv").read_text("utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {
        row["code"]: LogType(
            row["code"], row["event"], int(row["level"]), row["level_source"], row["category"], row["category_source"]
        )
        for row in rows
    }


def level_of(code: str) -> int:
    """Return a code's level; :data:`UNKNOWN_LEVEL` for a code the catalog does not know."""
    known = catalog().get(code)
    return known.level if known else UNKNOWN_LEVEL


def parse_level(value: int | str) -> int:
    """Accept a level as 0-4 or its name ("warning"); raise ValueError naming the accepted values."""
    if isinstance(value, str) and not value.strip().isdigit():
        by_name = {name: number for number, name in LEVEL_NAMES.items()}
        key = value.strip().lower()
        if key not in by_name:
            raise ValueError(f"unknown log level {value!r}; use 0-4 or one of {', '.join(by_name)}")
        return by_name[key]
    number = int(value)
    if number not in LEVEL_NAMES:
        raise ValueError(f"log level {number} is out of range; use 0 (debug) to 4 (critical)")
    return number


def category_of(code: str) -> str | None:
    """Return a code's Log Streams category; None for a code the catalog does not know."""
    known = catalog().get(code)
    return known.category if known else None


_CATEGORY_FORMS = (
    'names, comma-separated names, or a Log Stream\'s filters such as [{"type": "category", "name": "auth.login.fail"}]'
)


def _category_entries(value: object) -> list[object]:
    """Return the entries of a categories setting: a list as is, text split on commas or parsed as JSON."""
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("["):
            return [part for part in re.split(r"[\s,]+", text) if part]
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"looks like a Log Stream's filters JSON but is not valid JSON: {exc}") from None
    if not isinstance(value, list | tuple):
        raise ValueError(f"must be a list of category names; use {_CATEGORY_FORMS}")
    return list(value)


def _category_name(entry: object) -> str | None:
    """Return the category an entry names (a name, or a Log Stream's ``{"type": "category"}`` filter)."""
    if isinstance(entry, dict) and entry.get("type") == "category":
        entry = entry.get("name")
    if isinstance(entry, str) and entry.strip() in CATEGORIES:
        return entry.strip()
    return None


def parse_categories(value: object) -> tuple[str, ...]:
    """Accept Log Streams categories as names, comma-separated text, or a Log Stream's ``filters`` JSON as is.

    A Log Stream's filters are ``[{"type": "category", "name": "auth.login.fail"}, ...]``; that
    list, or its JSON text, is accepted unchanged, and so are plain names.

    :raises ValueError: naming each entry that is not a category and listing the accepted names.
    """
    if value is None:
        return ()
    entries = _category_entries(value)
    names = [_category_name(entry) for entry in entries]
    bad = [repr(entry)[:80] for entry, name in zip(entries, names, strict=True) if name is None]
    if bad:
        raise ValueError(
            f"not Log Streams categories: {', '.join(bad)}; use {', '.join(CATEGORIES)} ({_CATEGORY_FORMS})"
        )
    return tuple(dict.fromkeys(name for name in names if name))
