"""Where a run reads from: the shape of a log source, and the start a run (or a preview) takes.

A run reads from its backfill window, else a ``start_from`` param, else the checkpoint, else the
configured ``start_from``, else just before the oldest log the tenant retains (see
:func:`~auth0_log_webhooks.run.checkpoint_policy.start_cursor`). The fetch step and the preview step
both ask :func:`start_of_reading`, so a preview shows the logs the next run would read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from auth0_log_webhooks.hooks.read_progress import WaitTally
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.checkpoint_policy import start_cursor
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.kinds import check_expiry, check_start_from
from auth0_log_webhooks.run.staging import WINDOW_MARGIN


class LogSource(Protocol):
    """Where logs come from: :class:`~auth0_log_webhooks.hooks.auth0.Auth0Hook`, or an in-memory tenant in tests."""

    waits: WaitTally

    @property
    def domain(self) -> str:
        """The tenant's domain (what CloudEvents name as their source)."""
        ...

    def iter_log_pages(self, from_: str) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of logs after the ``from_`` cursor, in log_id order."""
        ...

    def oldest_log(self) -> Mapping[str, Any] | None:
        """Return the oldest retained log, or None on an empty tenant."""
        ...


def start_of_reading(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    config: PipelineConfig,
    checkpoint: str | None,
    source: LogSource,
    now: datetime,
) -> tuple[str, str, str | None]:
    """Return where the run reads from, why, and a warning to log (an expired checkpoint read past), if any.

    :raises InvalidCheckpointError: if the checkpoint or ``start_from`` is malformed, or ``start_from`` lies in
        the future or before the oldest retained log.
    :raises ExpiredCheckpointError: if the checkpoint is no longer retained and the policy is ``fail``.
    """
    if run.window:
        return cursor_for_time(run.window[0] - WINDOW_MARGIN), "backfill window", None
    param = (params or {}).get("start_from")
    start, reason = start_cursor(
        param=param,
        checkpoint=checkpoint,
        checkpoint_variable=pipeline.checkpoint_variable,
        configured=config.start_from,
        oldest=source.oldest_log,
    )
    if param:
        check_start_from(start, param, now, source.oldest_log)
        return start, reason, None
    if reason != "checkpoint":
        return start, reason, None
    warning = check_expiry(
        start,
        variable=pipeline.checkpoint_variable,
        policy=config.expired_checkpoint,
        config_variable=pipeline.config_variable,
        now=now,
        oldest=source.oldest_log,
    )
    return start, reason, warning
