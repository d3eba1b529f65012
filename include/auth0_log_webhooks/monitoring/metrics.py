"""Signals other systems read: Airflow metrics (StatsD / OpenTelemetry) and the committed run's asset event.

Metrics go through Airflow's own ``Stats``, so whatever metrics backend the deployment configured
receives them with no extra code; names start with ``auth0_log_webhooks.`` and carry a ``dag_id`` tag:

* ``logs_delivered`` and ``dead_lettered`` (counters, per run),
* ``auth0_429`` and ``webhook_429`` (counters: 429 answers the fetch and the deliveries waited out),
* ``lag_seconds`` (gauge: how old the newest delivered log is when the run commits).

The committed run's asset event carries the same counts in its extra (:func:`run_extra`), with the
reconciliation's counts (logs read, filtered out, delivered, dead-lettered, left for the next run), so
the health page and the daily report read them back without a metrics backend.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from airflow.sdk import Asset, AssetAlias

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.monitoring.reconciliation import COUNTS
from auth0_log_webhooks.wording import log_id_time

PREFIX = "auth0_log_webhooks"


class StatsClient(Protocol):
    """The part of Airflow's ``Stats`` used here (a recorder in tests)."""

    def incr(self, stat: str, count: int | None = None, rate: float | None = None, *, tags: Any = None) -> None:
        """Add ``count`` to a counter."""

    def gauge(
        self, stat: str, value: float, rate: float | None = None, delta: bool | None = None, *, tags: Any = None
    ) -> None:
        """Set a gauge."""


def airflow_stats() -> StatsClient:
    """Return Airflow's Stats (configured by ``[metrics]``; a no-op when metrics are off)."""
    from airflow.sdk.observability.stats import Stats

    return Stats


def lag_seconds(checkpoint: str | None, now: datetime | None = None) -> float | None:
    """Return how many seconds the checkpoint's log is behind ``now`` (None without a dated checkpoint)."""
    moment = log_id_time(checkpoint)
    if moment is None:
        return None
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())


def total(counts: Any) -> int:
    """Return the sum of one count or of a mapped task's counts, as XCom gives them (None counts 0)."""
    if isinstance(counts, int):
        return counts
    return sum(count for count in counts or () if isinstance(count, int))


def run_extra(
    summary: RunSummary,
    *,
    auth0_429: int = 0,
    webhook_429: int = 0,
    run_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the committed run's counts, 429 answers waited out and lag, for its asset event's extra (plain JSON).

    ``run_id`` names the run, so a report counts a run that failed and then committed once.
    """
    lag, moment = lag_seconds(summary["checkpoint"], now), log_id_time(summary["checkpoint"])
    return {
        "run_id": run_id,
        "logs_delivered": summary["delivered_logs"],
        "batches": summary["batches"],
        "dead_letters": summary["dead_letters"],
        "checkpoint": summary["checkpoint"],
        "checkpoint_time": moment.isoformat() if moment else None,
        "lag_seconds": None if lag is None else round(lag, 1),
        "auth0_429": auth0_429,
        "webhook_429": webhook_429,
        **reconciliation_counts(summary),
    }


def reconciliation_counts(summary: RunSummary | None) -> dict[str, int | None]:
    """Return a run's counts under the reconciliation's keys (``logs_read``...; see :mod:`.reconciliation`).

    A run whose commit failed before it counted (nothing staged, a ledger that does not add up) read
    nothing that counts: the next run reads the same logs again, so its counts are 0.
    """
    if summary is None:
        return dict.fromkeys(COUNTS, 0)
    return {
        "logs_read": summary.get("read"),
        "logs_filtered": summary.get("filtered"),
        "logs_delivered": summary["delivered_logs"],
        "logs_dead_lettered": summary.get("dead_lettered_logs"),
        "logs_unsettled": summary.get("unsettled_logs"),
    }


def record_run(
    dag_id: str, summary: RunSummary, *, stats: Callable[[], StatsClient] = airflow_stats, now: datetime | None = None
) -> None:
    """Emit a run's counts and the checkpoint's lag as Airflow metrics."""
    client, tags = stats(), {"dag_id": dag_id}
    client.incr(f"{PREFIX}.logs_delivered", summary["delivered_logs"], tags=tags)
    client.incr(f"{PREFIX}.dead_lettered", summary["dead_letters"], tags=tags)
    lag = lag_seconds(summary["checkpoint"], now)
    if lag is not None:
        client.gauge(f"{PREFIX}.lag_seconds", lag, tags=tags)


def record_rate_limited(
    dag_id: str, answers_429: int, *, metric: str = "auth0_429", stats: Callable[[], StatsClient] = airflow_stats
) -> None:
    """Count the 429 answers a task waited out (``auth0_429`` from Auth0, ``webhook_429`` from the webhook)."""
    if answers_429:
        stats().incr(f"{PREFIX}.{metric}", answers_429, tags={"dag_id": dag_id})


def delivered_asset(pipeline_id: str) -> Asset:
    """Return the asset a pipeline's committed runs update; each event's extra holds the run's counts and lag."""
    return Asset(name=f"{pipeline_id}_delivered", uri=f"x-auth0-log-webhooks://{pipeline_id}/delivered")


def committed_by_fetch(pipeline_id: str) -> AssetAlias:
    """Return the alias through which a pipeline's fetch task emits the delivered asset's event when it commits
    its run itself (steps/commit.py, ``commit_in_fetch``): an alias, so that a fetch that does not commit emits
    no event."""
    return AssetAlias(name=f"{pipeline_id}_committed_by_fetch")
