"""What kind of run a fetch starts, and whether where it starts is still readable.

* A run whose params change what is selected (``log_types``, ``log_level``, ``log_categories``,
  ``api_endpoints``, ``endpoint_match``: every name in ``pipelines/run_params.py``'s ``SELECTING``) or
  where reading starts (``start_from``) is a **one-off** run, like a backfill: it delivers what it selects and never
  commits the live checkpoint, so a "Trigger DAG w/ config" can neither skip logs for the scheduled
  runs nor park the checkpoint in the future. Params that only shape messages (``batch_size``,
  ``send_as_batch``, ``format``) or cap the run (``max_logs_per_run``) leave it an ordinary run.
* A ``start_from`` param in the future, or older than the oldest log the tenant retains, is refused.
* An expired checkpoint (its log is no longer retained, so logs after it may be gone) stops the run
  (``expired_checkpoint: fail``, the default) or is reported and read past
  (``restart_from_oldest``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from auth0_log_webhooks.log_ids import InvalidCheckpointError, log_id_of, log_time, time_of
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.run_params import SELECTING

log = logging.getLogger(__name__)

EXPIRY_CHECK_AFTER = timedelta(hours=1)
"""A checkpoint younger than this is not checked against retention (no plan keeps less than a day)."""

OldestLog = Callable[[], Mapping[str, Any] | None]


class ExpiredCheckpointError(RuntimeError):
    """The checkpoint's log is no longer retained: logs after it may have been lost upstream."""


def one_off_reason(params: Mapping[str, Any] | None, base: PipelineConfig, config: PipelineConfig) -> str | None:
    """Return why a run with these params is one-off (it must not commit), or None for an ordinary run."""
    params = params or {}
    reasons = []
    if params.get("start_from"):
        reasons.append(f"start_from param {params['start_from']!r}")
    for name in SELECTING:
        if name != "start_from" and getattr(config, name) != getattr(base, name):
            reasons.append(f"{name} param {params.get(name)!r}")
    return ", ".join(reasons) or None


def check_start_from(cursor: str, param: object, now: datetime, oldest: OldestLog) -> None:
    """Refuse a ``start_from`` param that lies in the future or before the tenant's oldest retained log.

    :raises InvalidCheckpointError: naming the param, its value and what would be accepted.
    """
    moment = time_of(cursor)
    if moment > now:
        raise InvalidCheckpointError(
            f"start_from param {param!r} ({moment:%Y-%m-%d %H:%M:%S} UTC) is in the future (now is "
            f"{now:%Y-%m-%d %H:%M:%S} UTC): a run from there reads nothing. Use a past date or log id."
        )
    first = oldest()
    if first is None:
        return
    retained = log_time(first).replace(microsecond=0)
    if moment < retained:
        raise InvalidCheckpointError(
            f"start_from param {param!r} ({moment:%Y-%m-%d %H:%M:%S} UTC) is older than the oldest log the tenant "
            f"retains ({retained:%Y-%m-%d %H:%M:%S} UTC): Auth0 no longer has the logs between, so this run "
            f"could not deliver them. Use a date on or after {retained.isoformat()}."
        )


def check_expiry(
    checkpoint: str, *, variable: str, policy: str, config_variable: str, now: datetime, oldest: OldestLog
) -> str | None:
    """Check a checkpoint against the tenant's retention; return a warning to log, or None.

    :raises ExpiredCheckpointError: under the ``fail`` policy, saying how many hours were lost upstream.
    """
    moment = time_of(checkpoint)
    if now - moment < EXPIRY_CHECK_AFTER:
        return None
    first = oldest()
    if first is None or log_id_of(first) <= checkpoint:
        return None
    retained = log_time(first)
    hours = max(0.0, (retained - moment).total_seconds() / 3600)
    what = (
        f"Variable {variable} holds checkpoint {checkpoint} ({moment:%Y-%m-%d %H:%M:%S} UTC), but the tenant no "
        f"longer retains that log: its oldest is {log_id_of(first)} ({retained:%Y-%m-%d %H:%M:%S} UTC). Logs dated "
        f"in those {hours:.1f} hours that were not delivered were removed by Auth0 (lost upstream)"
    )
    if policy == "restart_from_oldest":
        return f"{what}; expired_checkpoint is restart_from_oldest, so this run reads on from the oldest log"
    raise ExpiredCheckpointError(
        f"{what}. The run stopped so that the gap is not silent. To read on from the oldest retained log, set "
        f'"expired_checkpoint": "restart_from_oldest" in Variable {config_variable}, or set {variable} to a newer '
        "log id."
    )
