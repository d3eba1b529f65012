"""Waiting in tests: poll for a condition with a generous limit instead of sleeping a fixed time.

A fixed sleep is either too short on a loaded machine (the test fails) or too long everywhere (the
suite crawls); polling returns as soon as the condition holds and fails only after ``timeout``.
The polling is :class:`dev.waiting.Waiter`'s, the demo's, without its progress lines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dev.waiting import Waiter

T = TypeVar("T")


def wait_until(condition: Callable[[], T | None], what: str, *, timeout: float = 180.0, every: float = 0.5) -> T:
    """Call ``condition`` every ``every`` seconds until it returns something truthy, and return that.

    :raises TimeoutError: naming ``what`` and the limit, when ``timeout`` seconds pass first
        (a :class:`dev.waiting.WaitTimeout`).
    """
    return Waiter(timeout, report=lambda line: None, poll=every).until(what, lambda: condition() or None)
