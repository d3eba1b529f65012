"""Aggregate recorded requests into the summary and the delivered-vs-expected check.

The live sink feeds each record to a :class:`Tally` as it is written; the ``summary`` CLI replays
the record file into a fresh one, so both report the same numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: Record types that start a new session: counting restarts after the last one.
MARKERS = frozenset({"start", "reset"})
MISSING_SHOWN = 100
#: ``why`` of a request the sink does not serve: a delivery that is not a POST, an unknown control path.
UNEXPECTED = frozenset({"method not allowed", "unknown control endpoint"})


class Tally:
    """Counters over recorded requests; logs count only for accepted (2xx) requests."""

    def __init__(self) -> None:
        self.requests = 0
        self.accepted_requests = 0
        self.logs_received = 0
        self.logs_without_id = 0
        self.bad_signatures = 0
        self.unexpected_requests = 0
        self.max_in_flight = 0
        self.statuses: Counter[str] = Counter()
        self._webhook_ids: set[str] = set()
        self._first_webhook_id: dict[str, str | None] = {}  # insertion order = arrival order
        self._inconsistent: set[str] = set()

    def add(self, record: dict[str, Any]) -> None:
        """Count one request record."""
        self.requests += 1
        status = record.get("status")
        self.statuses["no_response" if status is None else str(status)] += 1
        self.max_in_flight = max(self.max_in_flight, record.get("in_flight") or 0)
        why = record.get("why", "")
        self.bad_signatures += why == "bad signature"
        self.unexpected_requests += why in UNEXPECTED
        if status is not None and 200 <= status < 300:
            self._add_accepted(record)

    def _add_accepted(self, record: dict[str, Any]) -> None:
        self.accepted_requests += 1
        log_ids = record.get("log_ids") or []
        self.logs_received += record.get("log_count", len(log_ids))
        self.logs_without_id += record.get("log_count", len(log_ids)) - len(log_ids)
        webhook_id = (record.get("headers") or {}).get("webhook-id")
        if webhook_id is not None:
            self._webhook_ids.add(webhook_id)
        first = self._first_webhook_id
        for log_id in log_ids:
            if log_id not in first:
                first[log_id] = webhook_id
            elif first[log_id] != webhook_id:
                self._inconsistent.add(log_id)

    def log_ids(self) -> list[str]:
        """Return the unique delivered log ids in arrival order."""
        return list(self._first_webhook_id)

    def summary(self) -> dict[str, Any]:
        """Return the counters as a JSON-ready dict."""
        unique = len(self._first_webhook_id)
        return {
            "requests": self.requests,
            "accepted_requests": self.accepted_requests,
            "logs_received": self.logs_received,
            "logs_without_id": self.logs_without_id,
            "unique_log_ids": unique,
            "duplicate_log_ids": self.logs_received - self.logs_without_id - unique,
            "duplicates_with_same_webhook_id": not self._inconsistent,
            "webhook_ids": len(self._webhook_ids),
            "max_in_flight": self.max_in_flight,
            "in_flight": None,
            "statuses": dict(sorted(self.statuses.items())),
            "bad_signatures": self.bad_signatures,
            "unexpected_requests": self.unexpected_requests,
        }

    def check(self, expected_log_ids: Iterable[str]) -> dict[str, Any]:
        """Compare delivered log ids with the expected ones; ``ok`` means nothing is missing.

        Duplicates are reported but tolerated (delivery is at least once).
        """
        delivered = self._first_webhook_id
        expected = dict.fromkeys(expected_log_ids)
        missing = [log_id for log_id in expected if log_id not in delivered]
        unexpected = sum(1 for log_id in delivered if log_id not in expected)
        return {
            "missing": missing[:MISSING_SHOWN],
            "missing_count": len(missing),
            "unexpected_count": unexpected,
            "duplicate_count": self.logs_received - self.logs_without_id - len(delivered),
            "ok": not missing,
        }


def read_records(path: Path, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Yield every complete JSON line of a record file from byte ``offset`` (a torn last line is skipped)."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        for line in handle:
            if not line.endswith(b"\n"):
                return  # still being written, or torn by a crash
            yield json.loads(line)


def session_records(path: Path) -> list[dict[str, Any]]:
    """Return the request records written after the last start/reset marker."""
    session: list[dict[str, Any]] = []
    for record in read_records(path):
        if record.get("type") in MARKERS:
            session = []
        elif record.get("type") == "request":
            session.append(record)
    return session


def tally_file(path: Path) -> Tally:
    """Replay the current session of a record file into a tally."""
    tally = Tally()
    for record in session_records(path):
        tally.add(record)
    return tally
