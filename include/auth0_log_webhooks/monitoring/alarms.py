"""Alarms: lag and retention, as a small state machine that notifies on changes only; and reconciliation.

Each check measures, per pipeline, how far the checkpoint is behind the tenant's newest log (lag)
and how long until the checkpoint's logs fall out of the tenant's log retention. An alarm fires once
when its threshold is crossed and clears once when the value is back, so a receiver gets one message
per change, never one per check.

The reconciliation alarm is the daily report's: it fires with each report whose day has logs read and
not accounted for (:mod:`~auth0_log_webhooks.monitoring.reconciliation`), every day until the cause
is fixed, since each day's remainder is a loss of its own.

A paused pipeline (:mod:`~auth0_log_webhooks.delivery.auto_pause`) reads nothing, so its checkpoint
stays and the retention alarm fires a day (``retention_warning_hours``) before its logs would leave
the tenant's retention; for a paused pipeline both alarms say since when it is paused and how to
resume it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auth0_log_webhooks.delivery.auto_pause import resume_steps
from auth0_log_webhooks.monitoring.reconciliation import Reconciliation
from auth0_log_webhooks.wording import duration, log_id_time, plural, when

ALERTS_VARIABLE = "auth0_log_webhooks_alerts"
STATE_VARIABLE = "auth0_log_webhooks_alarm_state"

AlarmName = Literal["lag", "retention", "reconciliation"]


class AlertSettings(BaseModel):
    """The JSON Variable ``auth0_log_webhooks_alerts`` (every key optional)."""

    model_config = ConfigDict(extra="forbid")

    conn_id: str = "auth0_alerts_default"
    notify_success: bool = False
    lag_alarm_minutes: float = Field(30, gt=0)
    retention_days: float = Field(30, gt=0)
    retention_warning_hours: float = Field(24, gt=0)
    daily_report: Literal["always", "on_failure"] = Field(
        "always",
        description="always: send the daily report every day; on_failure: only when a run or replay failed in "
        "its 24 hours or dead letters wait for replay",
    )


@dataclass(frozen=True)
class Measurement:
    """One pipeline's position at check time: its checkpoint and the tenant's newest log id."""

    pipeline: str
    checkpoint: str | None
    newest: str | None
    now: datetime
    paused_at: datetime | None = None
    """When auto-pause paused the pipeline (None: not paused)."""

    def next_step(self, otherwise: str) -> str:
        """Return what to do: resume a paused pipeline once its webhook is fixed, else ``otherwise``."""
        if self.paused_at is None:
            return otherwise
        return (
            f"{self.pipeline} is paused since {self.paused_at:%Y-%m-%d %H:%M:%S} UTC (auto-pause): fix the webhook, "
            f"then {resume_steps(self.pipeline)}."
        )

    def lag(self) -> timedelta | None:
        """Return how far the checkpoint is behind the newest log (zero when caught up)."""
        start, end = log_id_time(self.checkpoint), log_id_time(self.newest)
        if start is None or end is None:
            return None
        return max(timedelta(0), end - start)

    def retention_left(self, settings: AlertSettings) -> timedelta | None:
        """Return how long until the checkpoint's log leaves the tenant's retention (negative: already gone)."""
        start = log_id_time(self.checkpoint)
        if start is None:
            return None
        return start + timedelta(days=settings.retention_days) - self.now


@dataclass(frozen=True)
class Notice:
    """A message to send: an alarm firing or clearing."""

    pipeline: str
    alarm: AlarmName
    firing: bool
    text: str


def _lag_text(m: Measurement, lag: timedelta, settings: AlertSettings, firing: bool) -> str:
    if firing:
        return (
            f"Lag alarm: {m.pipeline} is {duration(lag.total_seconds())} behind the tenant's newest log "
            f"(threshold {settings.lag_alarm_minutes:g} min). Checkpoint at {when(m.checkpoint)}, newest log at "
            f"{when(m.newest)}. "
            + m.next_step(f"Check the failed runs of {m.pipeline}: their first error line says why.")
        )
    return f"Lag alarm cleared: {m.pipeline} is {duration(lag.total_seconds())} behind the tenant's newest log."


def _retention_text(m: Measurement, left: timedelta, settings: AlertSettings, firing: bool) -> str:
    if firing:
        gone = left.total_seconds() <= 0
        fate = "are already past" if gone else f"leave it in {duration(left.total_seconds())}"
        return (
            f"Retention alarm: the logs after {m.pipeline}'s checkpoint ({when(m.checkpoint)}) {fate} the tenant's "
            f"{settings.retention_days:g}-day log retention; Auth0 then deletes them before they are delivered. "
            + m.next_step(f"Fix the webhook or raise max_logs_per_run so {m.pipeline} catches up.")
        )
    return f"Retention alarm cleared: {m.pipeline}'s checkpoint is {duration(left.total_seconds())} inside retention."


def reconciliation_notice(pipeline: str, day: Reconciliation, hours: int = 24) -> Notice | None:
    """Return the reconciliation alarm of a pipeline's day whose remainder is not 0, else None."""
    if day.remainder == 0:
        return None
    lost = (
        f"{plural(day.remainder, 'log')} read and not accounted for"
        if day.remainder > 0
        else (f"{plural(-day.remainder, 'log')} more accounted for than read")
    )
    return Notice(
        pipeline,
        "reconciliation",
        True,
        f"Reconciliation alarm: {pipeline}'s runs of the last {hours} hours have {lost}: {day.read:,} read, "
        f"{day.filtered:,} filtered out, {day.delivered:,} delivered, {day.dead_lettered:,} dead-lettered, "
        f"{day.unsettled:,} left for the next run. Find the run among its {plural(day.runs, 'run')} by the "
        "reconciliation each ends with (in its commit task's log, or its fetch's when the fetch committed it), "
        f"then trigger {pipeline} with start_from "
        "set to where that run's fetch started (its fetch log's first line) to deliver those logs again; receivers "
        "dedupe by log_id. docs/operations.md (Reconciliation) has the equation.",
    )


def evaluate(
    state: Mapping[str, Mapping[str, bool]], measurements: list[Measurement], settings: AlertSettings
) -> tuple[dict[str, dict[str, bool]], list[Notice]]:
    """Return the alarms' new state and the notices of the alarms that changed (fired or cleared).

    A pipeline whose values cannot be measured (no checkpoint yet) keeps its state.
    """
    new = {pipeline: dict(alarms) for pipeline, alarms in state.items()}
    notices: list[Notice] = []
    for m in measurements:
        was = new.setdefault(m.pipeline, {})
        lag, left = m.lag(), m.retention_left(settings)
        if lag is not None:
            firing = lag > timedelta(minutes=settings.lag_alarm_minutes)
            if firing != was.get("lag", False):
                notices.append(Notice(m.pipeline, "lag", firing, _lag_text(m, lag, settings, firing)))
            was["lag"] = firing
        if left is not None:
            firing = left < timedelta(hours=settings.retention_warning_hours)
            if firing != was.get("retention", False):
                notices.append(Notice(m.pipeline, "retention", firing, _retention_text(m, left, settings, firing)))
            was["retention"] = firing
    return new, notices


def parse_settings(raw: str | None) -> AlertSettings:
    """Return the alert settings from the Variable's JSON (defaults when unset).

    :raises ValueError: naming the Variable and the bad field.
    """
    import json

    from pydantic import ValidationError

    try:
        data: Any = json.loads(raw) if raw and raw.strip() else {}
        return AlertSettings.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"Variable {ALERTS_VARIABLE} is invalid: {fields}") from None
    except ValueError:
        raise ValueError(f"Variable {ALERTS_VARIABLE} is not JSON; expected an object such as {{}}") from None
