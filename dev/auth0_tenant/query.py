"""The subset of Lucene query syntax that Auth0's log search (``q``) documents.

Supported: ``field:value``, bare terms (over :data:`DEFAULT_FIELDS`), ``"quoted phrases"``,
``field:(a OR b)`` groups, ``AND`` / ``OR`` / ``NOT`` (precedence NOT > AND > OR; adjacent clauses
are joined by AND, the emulator's default operator), parentheses, ``*`` wildcards (a leading
wildcard needs 3 literal characters), and ranges ``[a TO b]`` / ``{a TO b}`` (mixable, ``*`` for an
open end). Matching is exact and case-sensitive, fields are not tokenised.

Dates (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS[.mmm]]``, optional ``Z``, UTC)
stand for the whole interval they name, rounded as Elasticsearch does: ``[d`` means ``>= start(d)``,
``{d`` means ``>= end(d)``, ``d]`` means ``< end(d)``, ``d}`` means ``< start(d)``; ``date:d`` matches
anything inside the interval.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import UTC, datetime
from typing import Any

SEARCHABLE = frozenset(
    {
        "client_id",
        "client_name",
        "connection",
        "connection_id",
        "description",
        "date",
        "hostname",
        "ip",
        "log_id",
        "organization_id",
        "user_id",
        "user_name",
        "user_agent",
        "strategy",
        "strategy_type",
        "type",
    }
)
DEFAULT_FIELDS = ("client_name", "connection", "description", "ip", "log_id", "type", "user_name")
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?)?)?(?:Z|\+00:00)?$"
)
_SPECIAL = set('()"')


class QueryError(ValueError):
    """The ``q`` parameter is not valid; the message names the problem."""


def parse_date_interval(text: str) -> tuple[int, int]:
    """Return ``[start_ms, end_ms)`` for a date of any supported precision.

    :raises QueryError: if ``text`` is not such a date.
    """
    match = _DATE.match(text)
    if not match:
        raise QueryError(f"Invalid date '{text}': expected YYYY-MM-DD, YYYY-MM or an ISO 8601 date-time")
    groups = list(match.groups())
    if groups[6]:
        groups[6] = groups[6].ljust(3, "0")
    parts = [int(p) if p else None for p in groups]
    try:
        return _interval(parts)
    except ValueError as exc:
        raise QueryError(f"Invalid date '{text}': {exc}") from None


def _interval(parts: list[int | None]) -> tuple[int, int]:
    year, month, day, hour, minute, second, milli = parts
    start = datetime(year or 1970, month or 1, day or 1, hour or 0, minute or 0, second or 0, tzinfo=UTC)
    start_ms = int(start.timestamp() * 1000) + (milli or 0)
    if month is None:
        end = start.replace(year=start.year + 1)
    elif day is None:
        end_ms = start_ms + monthrange(start.year, start.month)[1] * 86_400_000
        return start_ms, end_ms
    else:
        widths = {2: 86_400_000, 4: 60_000, 5: 1000, 6: 1}
        last = max(i for i, p in enumerate(parts) if p is not None)
        return start_ms, start_ms + widths.get(last, 60_000)
    return start_ms, int(end.timestamp() * 1000)


def date_ms(value: str) -> int | None:
    """Parse a log's ``date`` (ISO 8601 with Z) into epoch milliseconds."""
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


class Node:
    """A compiled query node."""

    def match(self, log: dict[str, Any]) -> bool:
        """Whether ``log`` satisfies this node."""
        raise NotImplementedError


@dataclass
class MatchAll(Node):
    """The empty query."""

    def match(self, log: dict[str, Any]) -> bool:
        """Match every log."""
        return True


@dataclass
class And(Node):
    """All children match."""

    children: list[Node]

    def match(self, log: dict[str, Any]) -> bool:
        """Match when every child matches."""
        return all(child.match(log) for child in self.children)


@dataclass
class Or(Node):
    """Any child matches."""

    children: list[Node]

    def match(self, log: dict[str, Any]) -> bool:
        """Match when some child matches."""
        return any(child.match(log) for child in self.children)


@dataclass
class Not(Node):
    """The child does not match."""

    child: Node

    def match(self, log: dict[str, Any]) -> bool:
        """Match when the child does not."""
        return not self.child.match(log)


@dataclass
class Term(Node):
    """``field:value`` (``field`` None: any default field); ``*`` wildcards unless a phrase."""

    field: str | None
    value: str
    phrase: bool = False
    _pattern: re.Pattern[str] | None = dataclass_field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.phrase and "*" in self.value:
            literal = self.value.replace("*", "")
            if self.value.startswith("*") and literal and len(literal) < 3:
                raise QueryError(f"Wildcard term '{self.value}' needs at least 3 characters besides '*'")
            self._pattern = re.compile(".*".join(re.escape(part) for part in self.value.split("*")), re.DOTALL)

    def _one(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self._pattern is not None:
            return self._pattern.fullmatch(value) is not None
        return value == self.value

    def match(self, log: dict[str, Any]) -> bool:
        """Match the field's value exactly (or by wildcard pattern)."""
        if self.field is None:
            return any(self._one(log.get(name)) for name in DEFAULT_FIELDS)
        return self._one(log.get(self.field))


@dataclass
class DateTerm(Node):
    """``date:2024-01-15``: the log's date falls inside the named interval."""

    start_ms: int
    end_ms: int

    def match(self, log: dict[str, Any]) -> bool:
        """Match dates in ``[start_ms, end_ms)``."""
        value = date_ms(log.get("date", ""))
        return value is not None and self.start_ms <= value < self.end_ms


@dataclass
class Range(Node):
    """``field:[low TO high}``; ``None`` bounds are open; strings compare lexically."""

    field: str
    low: str | None
    high: str | None
    low_inclusive: bool
    high_inclusive: bool

    def match(self, log: dict[str, Any]) -> bool:
        """Compare the field's string value with both bounds."""
        value = log.get(self.field)
        if not isinstance(value, str):
            return False
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        return self.high is None or value < self.high or (value == self.high and self.high_inclusive)


@dataclass
class DateRange(Node):
    """A date range, already resolved to ``min_ms <= date < max_ms`` (None: open)."""

    min_ms: int | None
    max_ms: int | None

    def match(self, log: dict[str, Any]) -> bool:
        """Match dates between the resolved bounds."""
        value = date_ms(log.get("date", ""))
        if value is None:
            return False
        return (self.min_ms is None or value >= self.min_ms) and (self.max_ms is None or value < self.max_ms)


def make_range(name: str, low: str | None, high: str | None, low_inc: bool, high_inc: bool) -> Node:
    """Build a range node; dates are resolved to millisecond bounds."""
    if name != "date":
        return Range(name, low, high, low_inc, high_inc)
    min_ms = None if low is None else parse_date_interval(low)[0 if low_inc else 1]
    max_ms = None if high is None else parse_date_interval(high)[1 if high_inc else 0]
    return DateRange(min_ms, max_ms)


def make_term(name: str | None, value: str, phrase: bool = False) -> Node:
    """Build a term node (``date:`` terms without wildcards become intervals)."""
    if name == "date" and not phrase and "*" not in value:
        return DateTerm(*parse_date_interval(value))
    if name is None and value == "*":
        return MatchAll()
    return Term(name, value, phrase)


class _Parser:
    """Recursive descent over the query text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> Node:
        self._skip()
        if self._end():
            return MatchAll()
        node = self._or(None)
        self._skip()
        if not self._end():
            raise QueryError(f"Unexpected '{self.text[self.pos]}' at position {self.pos}")
        return node

    def _end(self) -> bool:
        return self.pos >= len(self.text)

    def _peek(self) -> str:
        return "" if self._end() else self.text[self.pos]

    def _skip(self) -> None:
        while not self._end() and self.text[self.pos].isspace():
            self.pos += 1

    def _keyword(self, word: str, consume: bool = True) -> bool:
        self._skip()
        end = self.pos + len(word)
        if self.text.startswith(word, self.pos) and (end >= len(self.text) or self.text[end] in ' \t\n("]}'):
            if consume:
                self.pos = end
            return True
        return False

    def _or(self, name: str | None) -> Node:
        nodes = [self._and(name)]
        while self._keyword("OR"):
            nodes.append(self._and(name))
        return nodes[0] if len(nodes) == 1 else Or(nodes)

    def _and(self, name: str | None) -> Node:
        nodes = [self._unary(name)]
        while True:
            self._skip()
            if self._end() or self._peek() == ")" or self._keyword("OR", consume=False):
                break
            self._keyword("AND")
            nodes.append(self._unary(name))
        return nodes[0] if len(nodes) == 1 else And(nodes)

    def _unary(self, name: str | None) -> Node:
        if self._keyword("NOT"):
            return Not(self._unary(name))
        return self._primary(name)

    def _group(self, name: str | None) -> Node:
        self.pos += 1
        node = self._or(name)
        self._skip()
        if self._peek() != ")":
            raise QueryError(f"Missing ')' at position {self.pos}")
        self.pos += 1
        return node

    def _primary(self, name: str | None) -> Node:
        self._skip()
        char = self._peek()
        if char == "":
            raise QueryError("Unexpected end of query")
        if char == ")":
            raise QueryError(f"Unexpected ')' at position {self.pos}")
        if char in '([{"' or name is not None:
            return self._value(name)
        word = self._word(stop_at_colon=True)
        if self._peek() != ":":
            return make_term(None, word)
        self.pos += 1
        if word not in SEARCHABLE:
            raise QueryError(f"Unknown field '{word}'; searchable fields are: {', '.join(sorted(SEARCHABLE))}")
        return self._value(word)

    def _value(self, name: str | None) -> Node:
        char = self._peek()
        if char == "":
            raise QueryError(f"Missing value for field '{name}' at end of query")
        if char == "(":
            return self._group(name)
        if char == '"':
            return make_term(name, self._phrase(), phrase=True)
        if char in "[{":
            if name is None:
                raise QueryError(f"A range needs a field name (position {self.pos})")
            return self._range(name)
        word = self._word(stop_at_colon=False)
        if not word:
            raise QueryError(f"Missing value for field '{name}' at position {self.pos}")
        return make_term(name, word)

    def _word(self, stop_at_colon: bool, stops: str = "") -> str:
        chars = []
        while not self._end():
            char = self.text[self.pos]
            if char.isspace() or char in _SPECIAL or char in stops or (stop_at_colon and char == ":"):
                break
            if char == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
                char = self.text[self.pos]
            chars.append(char)
            self.pos += 1
        return "".join(chars)

    def _phrase(self) -> str:
        end = self.text.find('"', self.pos + 1)
        if end < 0:
            raise QueryError(f"Unterminated quoted phrase starting at position {self.pos}")
        phrase = self.text[self.pos + 1 : end]
        self.pos = end + 1
        return phrase

    def _bound(self, stops: str) -> str | None:
        self._skip()
        value = self._phrase() if self._peek() == '"' else self._word(False, stops)
        if not value:
            raise QueryError(f"Missing range bound at position {self.pos}")
        return None if value == "*" else value

    def _range(self, name: str) -> Node:
        low_inclusive = self._peek() == "["
        self.pos += 1
        low = self._bound("]}")
        if not self._keyword("TO"):
            raise QueryError(f"Expected 'TO' in range at position {self.pos}")
        high = self._bound("]}")
        self._skip()
        closing = self._peek()
        if closing not in ("]", "}"):
            raise QueryError(f"Missing ']' or '}}' to close the range at position {self.pos}")
        self.pos += 1
        return make_range(name, low, high, low_inclusive, closing == "]")


def parse(text: str) -> Node:
    """Parse ``q`` into a node tree with ``.match(log)``.

    :raises QueryError: on bad syntax, an unknown field, a bad date or a too-short wildcard.
    """
    return _Parser(text).parse()


@dataclass
class Bounds:
    """Loose bounds implied by a query's top-level conjunction, used to prune a scan."""

    min_id: str | None = None
    max_id: str | None = None
    min_ms: int | None = None
    max_ms: int | None = None


def _tighten(bounds: Bounds, node: Node) -> None:
    if isinstance(node, Range) and node.field == "log_id":
        if node.low is not None:
            bounds.min_id = max(filter(None, (bounds.min_id, node.low)))
        if node.high is not None:
            bounds.max_id = min(filter(None, (bounds.max_id, node.high)))
    elif isinstance(node, DateRange | DateTerm):
        low, high = (node.min_ms, node.max_ms) if isinstance(node, DateRange) else (node.start_ms, node.end_ms)
        if low is not None:
            bounds.min_ms = low if bounds.min_ms is None else max(bounds.min_ms, low)
        if high is not None:
            bounds.max_ms = high if bounds.max_ms is None else min(bounds.max_ms, high)
    elif isinstance(node, Term) and node.field == "log_id" and node._pattern is None:
        _tighten(bounds, Range("log_id", node.value, node.value, True, True))


def bounds_of(node: Node) -> Bounds:
    """Collect log_id and date bounds from the top-level AND of ``node``."""
    bounds = Bounds()
    for child in node.children if isinstance(node, And) else [node]:
        _tighten(bounds, child)
    return bounds
