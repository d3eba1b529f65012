"""Reconciliation: every log a pipeline's runs read is accounted for, per pipeline and day.

For each run, each count comes from the step that knows it:

* ``read``: the logs the fetch read from the tenant (the plan's ``fetched``);
* ``filtered``: the logs the fetch read and left out, counted as it left each out (the pipeline's
  filter, or a date outside a backfill window);
* ``delivered`` and ``dead_lettered``: the logs the delivery ledger's markers record as delivered, and
  as kept in dead letters (summed by the commit over the markers of the plan's batches);
* ``unsettled``: the logs of planned batches that no marker settles (a failed delivery task): the
  checkpoint stays before them and the next run reads them again.

The equation, per run and summed over a day's runs::

    remainder = read - filtered - delivered - dead_lettered - unsettled

must be 0. A remainder other than 0 means logs were read and then neither left out, delivered, kept
nor left for the next run: lost inside the pipeline (or, below 0, counted twice). The daily report
then raises the reconciliation alarm (:func:`~auth0_log_webhooks.monitoring.alarms.reconciliation_notice`).

``replayed`` (the logs replays delivered from dead letters that day) is reported beside it and is not
in the equation: a replay re-sends logs its run already counted as dead-lettered, maybe on another
day. Runs of versions before 0.2.0 carry no counts; they are named as not reconciled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from auth0_log_webhooks.wording import plural

COUNTS = ("logs_read", "logs_filtered", "logs_delivered", "logs_dead_lettered", "logs_unsettled")
"""The keys of a run's counts in its asset event's extra and in its failed-run record."""


@dataclass(frozen=True)
class RunCounts:
    """One run's counts for the reconciliation (see the module docstring)."""

    read: int
    filtered: int
    delivered: int
    dead_lettered: int
    unsettled: int

    @property
    def remainder(self) -> int:
        """Return ``read - filtered - delivered - dead_lettered - unsettled``: 0 when every log is accounted for."""
        return self.read - self.filtered - self.delivered - self.dead_lettered - self.unsettled

    def sentence(self) -> str:
        """Return the run's reconciliation as a sentence for its commit task's log."""
        return f"Reconciliation: {_equation(self)}, {_verdict(self.remainder)}."


def _equation(counts: RunCounts | Reconciliation) -> str:
    return (
        f"{counts.read:,} read = {counts.filtered:,} filtered out + {counts.delivered:,} delivered + "
        f"{counts.dead_lettered:,} dead-lettered + {counts.unsettled:,} left for the next run"
    )


def _verdict(remainder: int) -> str:
    return "every log read is accounted for" if remainder == 0 else f"{remainder:+,} unaccounted"


def counts_of(record: Mapping[str, Any]) -> RunCounts | None:
    """Return the counts an asset event's extra or a failed-run record carries, or None if it has not all of them.

    A count must be a whole number from 0 up (anything may be in an extra); one that is not makes the
    run not reconciled rather than a wrong sum.
    """
    values = [record.get(key) for key in COUNTS]
    counts = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 10**15]
    if len(counts) != len(COUNTS):
        return None
    read, filtered, delivered, dead_lettered, unsettled = counts
    return RunCounts(read, filtered, delivered, dead_lettered, unsettled)


@dataclass(frozen=True)
class Reconciliation:
    """A pipeline's day: the sums of its runs' counts, the logs replayed, and the runs without counts."""

    read: int = 0
    filtered: int = 0
    delivered: int = 0
    dead_lettered: int = 0
    unsettled: int = 0
    replayed: int = 0
    runs: int = 0
    uncounted: int = 0

    @property
    def remainder(self) -> int:
        """Return the day's ``read - filtered - delivered - dead_lettered - unsettled`` (0: all accounted for)."""
        return self.read - self.filtered - self.delivered - self.dead_lettered - self.unsettled

    def sentence(self) -> str:
        """Return the day's reconciliation as a sentence a person reads."""
        replayed = f"{plural(self.replayed, 'log')} replayed from dead letters"
        if not self.runs and not self.uncounted:
            return f"Reconciliation: no run to reconcile; {replayed}."
        if not self.runs:
            older = f"none of the {plural(self.uncounted, 'run')} carried counts (an older version ran them)"
            return f"Reconciliation: {older}; {replayed}."
        equation, verdict = _equation(self), _verdict(self.remainder)
        uncounted = f" {plural(self.uncounted, 'run')} of an older version carried no counts." if self.uncounted else ""
        return f"Reconciliation of {plural(self.runs, 'run')}: {equation}, {verdict}; {replayed}.{uncounted}"


def reconcile(counts: Iterable[RunCounts | None], replayed: int = 0) -> Reconciliation:
    """Return the sums of the runs' counts (None: a run without counts), with the logs replayed."""
    known = list(counts)
    counted = [c for c in known if c is not None]
    return Reconciliation(
        read=sum(c.read for c in counted),
        filtered=sum(c.filtered for c in counted),
        delivered=sum(c.delivered for c in counted),
        dead_lettered=sum(c.dead_lettered for c in counted),
        unsettled=sum(c.unsettled for c in counted),
        replayed=replayed,
        runs=len(counted),
        uncounted=len(known) - len(counted),
    )
