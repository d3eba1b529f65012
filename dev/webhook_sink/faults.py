"""Scripted faults: rules posted to ``/__sink/faults``, consulted in order for every delivery.

A rule is one JSON object. Its action is one of ``status`` (answer that status), ``hang`` (never
answer; the connection is dropped when the client gives up, after ``hang_seconds`` or at shutdown),
``reset`` (close the TCP connection with RST and no response), ``max_body_bytes`` (413 for bodies
larger than that many bytes as received, i.e. before gunzip), or only ``delay_seconds`` (answer
normally but late; it may also be combined with the other actions), or ``drop`` (answer as the
sink would, 2xx when the delivery is good, but do not store the message in the sink's
``store_dir``: a receiver that said yes and then lost the message).

Selectors: ``count`` (the rule applies to that many requests; default: until cleared),
``probability`` with ``seed`` (request *i* is hit when the *i*-th draw of ``random.Random(seed)``
is below ``probability``; a draw is taken only when earlier rules did not apply),
``duration_seconds`` (the rule stops applying that long after it was posted) and ``webhook_ids``
(a list: the rule applies only to deliveries with one of these ``webhook-id`` headers). ``retry_after``
(delta-seconds or an HTTP date) adds a ``Retry-After`` header to a status or 413 answer.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

ACTIONS = ("status", "hang", "reset", "max_body_bytes", "delay_seconds", "drop")
_NUMBERS = {
    "count": int,
    "max_body_bytes": int,
    "status": int,
    "seed": int,
    "probability": float,
    "duration_seconds": float,
    "delay_seconds": float,
    "hang_seconds": float,
}
_FLAGS = ("hang", "reset", "drop")
_KNOWN = {*_NUMBERS, *_FLAGS, "retry_after", "webhook_ids"}


@dataclass
class FaultRule:
    """One scripted fault; see the module docstring for the meaning of each field."""

    status: int | None = None
    count: int | None = None
    probability: float | None = None
    seed: int | None = None
    duration_seconds: float | None = None
    retry_after: str | None = None
    delay_seconds: float = 0.0
    hang: bool = False
    hang_seconds: float = 300.0
    reset: bool = False
    max_body_bytes: int | None = None
    drop: bool = False
    webhook_ids: tuple[str, ...] | None = None
    used: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)
    _expires_at: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        if self.duration_seconds is not None:
            self._expires_at = time.monotonic() + self.duration_seconds

    def spent(self, now: float) -> bool:
        """Return True once the rule can never apply again (count used up or duration over)."""
        if self.count is not None and self.used >= self.count:
            return True
        return self._expires_at is not None and now >= self._expires_at

    def applies(self, body_size: int, webhook_id: str | None = None) -> bool:
        """Decide whether this rule hits a request of ``body_size`` bytes with ``webhook_id`` (draws once if random)."""
        if self.max_body_bytes is not None and body_size <= self.max_body_bytes:
            return False
        if self.webhook_ids is not None and webhook_id not in self.webhook_ids:
            return False
        return self.probability is None or self._rng.random() < self.probability

    def describe(self) -> dict[str, Any]:
        """Return the rule as posted, plus how often it has applied."""
        keys = sorted({*_KNOWN, "used"} - (set() if self.hang else {"hang_seconds"}))
        return {key: getattr(self, key) for key in keys if getattr(self, key) not in (None, False)}


def parse_rule(raw: Any) -> FaultRule:
    """Validate one posted rule.

    :raises ValueError: naming the unknown key or bad value.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"a fault rule must be a JSON object, got {raw!r}")
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ValueError(f"unknown fault key(s): {', '.join(unknown)}")
    if not any(raw.get(action) not in (None, False) for action in ACTIONS):
        raise ValueError(f"a fault rule needs one of: {', '.join(ACTIONS)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        values[key] = _coerce(key, value)
    probability = values.get("probability")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must be within [0, 1], got {probability}")
    return FaultRule(**values)


def _coerce(key: str, value: Any) -> Any:
    if key in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        return value
    if key == "retry_after":
        return _retry_after(value)
    if key == "webhook_ids":
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ValueError(f"webhook_ids must be a list of webhook-id strings, got {value!r}")
        return tuple(value)
    kind = _NUMBERS[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a non-negative number, got {value!r}")
    if kind is int and value != int(value):
        raise ValueError(f"{key} must be an integer, got {value!r}")
    return kind(value)


def _retry_after(value: Any) -> str:
    text = str(value).strip()
    if text.isdigit():
        return text
    try:
        parsedate_to_datetime(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"retry_after must be delta-seconds or an HTTP date, got {value!r}") from exc
    return text


class FaultBook:
    """The ordered list of active rules. Not thread-safe: the sink calls it under its lock."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []

    def add(self, rules: list[FaultRule]) -> None:
        """Append rules; earlier rules take precedence."""
        self._rules.extend(rules)

    def clear(self) -> None:
        """Drop every rule."""
        self._rules.clear()

    def pick(self, body_size: int, webhook_id: str | None = None) -> FaultRule | None:
        """Return the first rule that hits this request (and count the use), or None."""
        now = time.monotonic()
        self._rules = [rule for rule in self._rules if not rule.spent(now)]
        for rule in self._rules:
            if rule.applies(body_size, webhook_id):
                rule.used += 1
                return rule
        return None

    def describe(self) -> list[dict[str, Any]]:
        """Return the active rules in order."""
        now = time.monotonic()
        return [rule.describe() for rule in self._rules if not rule.spent(now)]
