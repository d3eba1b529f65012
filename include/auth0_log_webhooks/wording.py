"""Text a person reads: counts with the right noun, log ids as UTC dates, run summaries as sentences.

Task labels, task logs and failure messages are read in the Airflow UI, so they say what happened
with numbers and dates, never Python dicts or 56-digit log ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from auth0_log_webhooks.contracts import BatchRange, DeliveryReport, ReplayReport, RunSummary
from auth0_log_webhooks.log_ids import LOG_ID_PATTERN


def plural(count: int, singular: str, many: str | None = None) -> str:
    """Return ``count`` with its noun: ``1 log``, ``2 logs``, ``1,500 logs``, ``1 dead letter``."""
    noun = singular if count == 1 else (many or f"{singular}s")
    return f"{count:,} {noun}"


def log_id_time(log_id: str | None) -> datetime | None:
    """Return the UTC time a log id carries, or None if it is not an Auth0 log id."""
    match = LOG_ID_PATTERN.match(log_id or "")
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:  # 56 digits, but not a real date
        return None


def when(log_id: str | None) -> str:
    """Return a log id as ``2026-11-26 14:02:11 UTC``, or ``none yet`` / the id itself if it has no date."""
    if not log_id:
        return "none yet"
    moment = log_id_time(log_id)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else log_id


def time_range(first: str, last: str) -> str:
    """Return the UTC times of two log ids: ``2026-11-26 14:02:11-14:07:40 UTC`` (the date once if shared)."""
    start, end = log_id_time(first), log_id_time(last)
    if start is None or end is None:
        return "dates unknown"
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M:%S}-{end:%H:%M:%S} UTC"
    return f"{start:%Y-%m-%d %H:%M:%S} - {end:%Y-%m-%d %H:%M:%S} UTC"


def duration(seconds: float) -> str:
    """Return a duration a person reads at a glance: ``45s``, ``12 min``, ``3.5 h``, ``2.0 days``."""
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def chunk_label(start: int, stop: int, batches: Sequence[BatchRange]) -> str:
    """Return a delivery task's label: ``batches 4-6: 300 logs, 2026-11-26 14:02:11-14:07:40 UTC``.

    ``start`` and ``stop`` are the chunk's batch indexes (from 0, ``stop`` excluded); the label counts batches
    from 1, as the run's other sentences do ("stopped sending at batch 3 of 10").
    """
    which = f"batch {start + 1}" if stop - start == 1 else f"batches {start + 1}-{stop}"
    logs = sum(batch["count"] for batch in batches)
    return f"{which}: {plural(logs, 'log')}, {time_range(batches[0]['first'], batches[-1]['last'])}"


def delivery_sentence(report: DeliveryReport) -> str:
    """Return what one delivery task did, as a sentence."""
    text = (
        f"Chunk {report['chunk']}: delivered {plural(report['delivered_logs'], 'log')} "
        f"in {plural(report['batches'], 'batch', 'batches')} with {plural(report['requests'], 'request')}"
    )
    if report["dead_lettered_logs"]:
        text += f"; kept {plural(report['dead_lettered_logs'], 'log')} as dead letters"
    if report["skipped"]:
        text += f"; skipped {plural(report['skipped'], 'batch', 'batches')} an earlier try settled"
    return text + "."


def run_sentence(summary: RunSummary) -> str:
    """Return what a run delivered and where its checkpoint stands, as a sentence."""
    text = (
        f"Delivered {plural(summary['delivered_logs'], 'log')}; "
        f"{summary['settled_batches']:,} of {plural(summary['batches'], 'batch', 'batches')} settled"
    )
    if summary["dead_letters"]:
        text += f", {plural(summary['dead_letters'], 'dead letter')} kept"
    if summary["checkpoint"]:
        text += f". The checkpoint is now at {when(summary['checkpoint'])}"
    return text + "."


def replay_sentence(report: ReplayReport) -> str:
    """Return what a replay did, as a sentence."""
    return (
        f"Replayed {plural(report['delivered'], 'dead letter')} ({plural(report['logs_delivered'], 'log')}); "
        f"{plural(report['still_failing'], 'dead letter')} still failing."
    )


def reading_sentence(start: str, reason: str, window: tuple[datetime, datetime] | None) -> str:
    """Return where a fetch starts reading and why: ``Reading logs after 2026-11-26 14:02:11 UTC (checkpoint).``"""
    text = f"Reading logs after {when(start)} ({reason})"
    if window:
        text += f" for the backfill window {window[0]:%Y-%m-%d %H:%M:%S} - {window[1]:%Y-%m-%d %H:%M:%S} UTC"
    return text + "."
