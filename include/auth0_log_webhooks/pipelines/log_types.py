"""Auth0 log type codes and their levels (0 debug, 1 info, 2 warning, 3 error, 4 critical).

The original extensions assigned a level to 98 codes (auth0-log-extension-tools ``logTypes.js``);
Auth0 has added many since. ``data/log_types.tsv`` carries every code of the reference catalog with
the level we use and where it came from:

* ``original``: the level the original extensions gave the code, kept for parity.
* ``rule``: a code the original did not know. Its level follows from Auth0's own category and name:
  a failure category (``*-fail``) or a name with "Failed", "Failure", "Error" or "Blocked" is 3
  (error); a name with "Warning", "Breached" or "Max Amount", or a ``limit_`` code, is 2 (warning);
  anything else (successes, notices, information) is 1 (info). No rule yields 0 or 4: the original
  used 4 only for a handful of outages and its 0 for nothing.

A code that is in neither (one Auth0 adds later) has :data:`UNKNOWN_LEVEL`, the highest level, so
that no level filter drops it; filters log such codes instead of silently discarding them.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVEL_NAMES: dict[int, str] = {0: "debug", 1: "info", 2: "warning", 3: "error", 4: "critical"}
UNKNOWN_LEVEL = 4
MANAGEMENT_API_TYPES: frozenset[str] = frozenset({"sapi", "fapi"})

_ERROR_WORDS = re.compile(r"\b(failed|failure|error|blocked)\b", re.IGNORECASE)
_WARNING_WORDS = re.compile(r"\b(warning|breached|max amount)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LogType:
    """One log type code: its Auth0 event name, level and where the level came from."""

    code: str
    event: str
    level: int
    level_source: str


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
    return {row["code"]: LogType(row["code"], row["event"], int(row["level"]), row["level_source"]) for row in rows}


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
