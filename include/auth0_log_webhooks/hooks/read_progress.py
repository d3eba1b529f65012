"""Progress of a long read, for the task log: pages, logs, the date reached and the waits, summarised.

A fetch that reads a backlog waits for Auth0's rate limit many times; one line per wait says
nothing new, so waits are counted (:class:`WaitTally`) and reported in periodic progress lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auth0_log_webhooks.log_ids import is_log_id, log_id_of
from auth0_log_webhooks.wording import duration, plural, when

log = logging.getLogger(__name__)


@dataclass
class WaitTally:
    """Waits for a rate limit: how many, how long in all, and how many were 429 answers."""

    waits: int = 0
    seconds: float = 0.0
    rate_limited: int = 0

    def add(self, seconds: float, *, answered_429: bool = False) -> None:
        """Count one wait of ``seconds`` (and a 429 answer, if that caused it)."""
        self.waits += 1
        self.seconds += max(0.0, seconds)
        self.rate_limited += answered_429

    def sentence(self) -> str:
        """Return ``waited 28 times (28s) for Auth0's rate limit, 0 answers were 429`` or ``no waits``."""
        if not self.waits:
            return "no rate-limit waits"
        return (
            f"waited {plural(self.waits, 'time')} ({duration(self.seconds)}) for Auth0's rate limit, "
            f"{plural(self.rate_limited, 'answer')} 429"
        )


@dataclass
class ReadProgress:
    """Pages and logs read so far and the newest log id seen."""

    pages: int = 0
    logs: int = 0
    last_id: str | None = None

    def sentence(self, waits: WaitTally) -> str:
        """Return ``Read 12 pages, 1,200 logs, up to 2026-11-26 14:02:11 UTC; no rate-limit waits.``"""
        return (
            f"Read {plural(self.pages, 'page')}, {plural(self.logs, 'log')}, up to {when(self.last_id)}; "
            f"{waits.sentence()}."
        )


def tracked(
    pages: Iterable[list[dict[str, Any]]],
    waits: WaitTally,
    progress: ReadProgress,
    *,
    every_seconds: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[list[dict[str, Any]]]:
    """Yield ``pages`` unchanged, updating ``progress`` and logging it at most every ``every_seconds``."""
    last_report = clock()
    for page in pages:
        progress.pages += 1
        progress.logs += len(page)
        last = page[-1] if page else None
        if isinstance(last, dict) and is_log_id(last.get("log_id")):  # a malformed one is the stager's to refuse
            progress.last_id = log_id_of(last)
        if clock() - last_report >= every_seconds:
            log.info("%s", progress.sentence(waits))
            last_report = clock()
        yield page
