"""The run's circuit breaker: stop sending when the receiver refuses everything.

A 401, 403 or 410 (the Standard Webhooks spec asks a sender to stop on 410) opens the circuit at
once; so do ``circuit_breaker_failures`` failed messages in a row across the run's batches and
delivery tasks (a message fails when it is refused for good or runs out of attempts). Once open, no
delivery task of the run sends anything more: the batch that opened it and every batch not yet tried
stay unsettled (no dead letter), the commit keeps the checkpoint at the last settled prefix and fails
the run with the receiver's answer in its first line, and the next run sends them again.

The state lives in the run's staging (``<generation>/circuit/``), so every delivery task of the run
sees it, whichever worker it runs on::

    open.json          why the circuit opened (written once)
    ok-<chunk>.json    when that delivery task last had a message delivered (written once per batch)
    fail-<chunk>-<id>  when one of that task's messages failed, and the receiver's status

:meth:`RunCircuit.tally` reads the same files for the commit: whether the run delivered anything and
which failures came after its last delivery (what auto-pause counts across runs).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, cast

from airflow.sdk import ObjectStoragePath
from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.run.store_io import read_or_none, write_bytes

STOP_STATUSES = frozenset({401, 403, 410})
"""Answers that mean "stop sending": bad credentials, forbidden, the endpoint is gone."""


class CircuitState(TypedDict):
    """Why a run's circuit opened."""

    status: int | None
    reason: str
    batch: int
    """The index of the batch that opened it, from 0 (:func:`describe` counts from 1)."""
    at: float


class CircuitOpenError(AirflowFailException):
    """The receiver refused everything; the run stopped sending and kept the rest for the next run.

    The task fails without retrying: the circuit stays open for the whole run, so a retry would send nothing.
    """


@dataclass(frozen=True)
class CircuitTally:
    """What a run's messages did, as its circuit recorded them: for the failures counted across runs."""

    delivered: bool
    """Whether any message of the run was delivered."""
    failures: tuple[float, ...]
    """When each message that failed after the run's last delivered one failed (epoch seconds, in order)."""
    last_status: int | None
    """The receiver's HTTP status for the last of those failures (None: no answer, or no failure)."""


def describe(state: CircuitState, batches: int | None = None) -> str:
    """Return the first two lines of the error a run fails with when its circuit is open: the answer, then why.

    The first line is short (the log viewer shows it after a timestamp and the exception's name and
    cuts long lines); the reason, which quotes the receiver, comes on the next. The batch is counted
    from 1, as a person counts, and out of the run's ``batches`` when the caller knows them (the
    fetch's lane, sending while it reads, does not).
    """
    answer = f"HTTP {state['status']}" if state["status"] is not None else "no answer"
    of = f" of {batches}" if batches else ""
    return f"Webhook answered {answer}: stopped sending at batch {state['batch'] + 1}{of}.\nWhy: {state['reason']}"


class RunCircuit:
    """One run generation's circuit, shared by its delivery tasks through staging."""

    def __init__(
        self,
        path: ObjectStoragePath,
        threshold: int,
        *,
        batches: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """:param batches: how many batches the run has, for the error's "at batch 3 of 10" (None: unknown)."""
        self.path = path
        self.threshold = threshold
        self.batches = batches
        self._clock = clock
        self._delivered_at: tuple[int, float] | None = None

    def state(self) -> CircuitState | None:
        """Return why the circuit is open, or None while it is closed."""
        found = read_or_none(self.path / "open.json")
        return cast(CircuitState, json.loads(found)) if found is not None else None

    def check(self) -> None:
        """Raise if the circuit is open (before each message a task sends).

        :raises CircuitOpenError: with the receiver's answer first.
        """
        state = self.state()
        if state is not None:
            raise CircuitOpenError(f"{describe(state, self.batches)}\nThis task sent nothing more.")

    def delivered(self, chunk: int) -> None:
        """Note that a message of ``chunk`` was delivered: the run's streak of failures is over.

        Written out by :meth:`flush` (once per batch, and before any failure is recorded), not per message.
        """
        self._delivered_at = (chunk, self._clock())

    def flush(self) -> None:
        """Write the last delivery noted by :meth:`delivered`, if any."""
        if self._delivered_at is None:
            return
        chunk, stamp = self._delivered_at
        write_bytes(self.path / f"ok-{chunk}.json", json.dumps(stamp).encode())
        self._delivered_at = None

    def failed(self, chunk: int, batch: int, status: int | None, reason: str) -> None:
        """Record a failed message; open the circuit on a stop status or a long enough streak.

        :raises CircuitOpenError: if the circuit is now open (the caller leaves the batch unsettled).
        """
        self.flush()
        now = self._clock()
        stamp = {"at": now, "status": status}
        write_bytes(self.path / f"fail-{chunk}-{uuid.uuid4().hex}.json", json.dumps(stamp).encode())
        if status in STOP_STATUSES:
            self._open(CircuitState(status=status, reason=reason, batch=batch, at=now))
        streak = self._streak()
        if streak >= self.threshold:
            why = f"{streak} failed messages in a row, the last: {reason}"
            self._open(CircuitState(status=status, reason=why, batch=batch, at=now))

    def tally(self) -> CircuitTally:
        """Return what the run's messages did so far: delivered any, and the failures since the last delivery."""
        if not self.path.exists():
            return CircuitTally(delivered=False, failures=(), last_status=None)
        delivered, failed = self._stamps()
        last_ok = max(delivered, default=float("-inf"))
        streak = sorted((at, status) for at, status in failed if at >= last_ok)
        return CircuitTally(
            delivered=bool(delivered),
            failures=tuple(at for at, _ in streak),
            last_status=streak[-1][1] if streak else None,
        )

    def _streak(self) -> int:
        """Return how many messages failed since the run last delivered one (across its tasks)."""
        return len(self.tally().failures)

    def _stamps(self) -> tuple[list[float], list[tuple[float, int | None]]]:
        """Return the delivery stamps and the (time, status) of each failure (a bare time from older runs)."""
        delivered: list[float] = []
        failed: list[tuple[float, int | None]] = []
        for entry in self.path.iterdir():
            kind = entry.name.split("-", 1)[0]
            if kind == "ok":
                delivered.append(float(json.loads(entry.read_bytes())))
            elif kind == "fail":
                failed.append(_failure(json.loads(entry.read_bytes())))
        return delivered, failed

    def _open(self, state: CircuitState) -> None:
        marker = self.path / "open.json"
        if not marker.exists():
            marker.write_bytes(json.dumps(state).encode())
        raise CircuitOpenError(f"{describe(self.state() or state, self.batches)}\nThis task sent nothing more.")


def _failure(stamp: Any) -> tuple[float, int | None]:
    """Return a failure stamp's time and status: ``{"at": ..., "status": ...}``, or a bare time."""
    if isinstance(stamp, dict):
        status = stamp.get("status")
        return float(stamp["at"]), status if isinstance(status, int) else None
    return float(stamp), None
