"""Waiting for something slow (Airflow starting, a DAG parsed, a run finishing), saying what and how long.

A :class:`Waiter` polls a check until it returns something other than None, prints a line every
``every`` seconds naming what it waits for and for how long, and gives up after ``limit`` seconds
with a :class:`WaitTimeout` whose message is one sentence. The clock and the sleep are parameters,
so a test can make a slow start happen in no time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """Something did not happen within the limit; the message says what, and for how long it was awaited."""

    def __init__(self, what: str, waited: float) -> None:
        super().__init__(f"gave up waiting for {what} after {waited:.0f} s")
        self.what = what
        self.waited = waited


@dataclass
class Waiter:
    """Poll checks until they give a result, reporting progress; ``limit`` seconds per wait."""

    limit: float
    report: Callable[[str], None] = print
    every: float = 30.0
    poll: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(self, what: str, check: Callable[[], T | None]) -> T:
        """Return the first result of ``check`` that is not None.

        :raises WaitTimeout: if ``limit`` seconds pass first.
        """
        start = self.clock()
        next_report = start + self.every
        self.report(f"waiting for {what} (up to {self.limit:.0f} s)")
        while True:
            result = check()
            if result is not None:
                waited = self.clock() - start
                if waited >= self.every:
                    self.report(f"{what}: done after {waited:.0f} s")
                return result
            now = self.clock()
            if now - start >= self.limit:
                raise WaitTimeout(what, now - start)
            if now >= next_report:
                self.report(f"still waiting for {what}: {now - start:.0f} s so far, up to {self.limit:.0f} s")
                next_report += self.every
            self.sleep(min(self.poll, max(0.0, start + self.limit - now)))
