"""The fetch step: read, select and stage a run's logs; plan the delivery tasks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from auth0_log_webhooks import signals
from auth0_log_webhooks.checkpoints import cursor_for_time, start_cursor
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.contracts import Chunk, Plan
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.progress import ReadProgress, tracked
from auth0_log_webhooks.runtime import AirflowVariables, RunInfo, Variables, load_config
from auth0_log_webhooks.staging import WINDOW_MARGIN, RunStaging, Stager, plan_chunks, prune
from auth0_log_webhooks.wording import plural, reading_sentence, when

log = logging.getLogger(__name__)


def fetch_logs(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    *,
    variables: Variables | None = None,
    hook: Auth0Hook | None = None,
) -> list[Chunk]:
    """Pull, select and stage the run's logs with its plan; return one chunk per delivery task (for XCom).

    :raises ConfigError: if the config Variable or the params are invalid.
    :raises InvalidCheckpointError: if the checkpoint or ``start_from`` is malformed.
    :raises MalformedLogError: if Auth0 returns a log without an id or out of order.
    """
    variables = variables or AirflowVariables()
    config = load_config(pipeline, params, variables)
    checkpoint = variables.get(pipeline.checkpoint_variable)
    hook = hook or Auth0Hook(pipeline.auth0_conn_id)
    if run.window:
        start, reason = cursor_for_time(run.window[0] - WINDOW_MARGIN), "backfill window"
    else:
        start, reason = start_cursor(
            param=(params or {}).get("start_from"),
            checkpoint=checkpoint,
            checkpoint_variable=pipeline.checkpoint_variable,
            configured=config.start_from,
            oldest=hook.oldest_log,
        )
    staging = _fresh_staging(config, run)
    log.info("%s", reading_sentence(start, reason, run.window))
    stager = Stager(
        staging, pipeline.select(config), pipeline.transformer(), config.batch_size, config.max_logs_per_run, run.window
    )
    progress = ReadProgress()
    manifest = stager.run(tracked(hook.iter_log_pages(start), hook.waits, progress), start)
    log.info("%s", progress.sentence(hook.waits))
    signals.record_rate_limited(pipeline.dag_id, hook.waits.rate_limited)
    log.info(
        "Selected %s of %s in %s, up to %s.%s",
        f"{manifest.selected:,}",
        plural(manifest.fetched, "log"),
        plural(len(manifest.batches), "batch", "batches"),
        when(manifest.end_cursor),
        f" {manifest.note.capitalize()}." if manifest.note else "",
    )
    staging.write_plan(
        Plan(
            mode="window" if run.window else "checkpoint",
            start_cursor=start,
            end_cursor=manifest.end_cursor,
            fetched=manifest.fetched,
            selected=manifest.selected,
            batches=manifest.batches,
            note=manifest.note,
            more_to_read=manifest.more_to_read,
            created_at=datetime.now(UTC).isoformat(),
            config=config.model_dump(mode="json"),
        )
    )
    return plan_chunks(manifest.batches, config.max_delivery_tasks, config.min_batches_per_task)


def _fresh_staging(config: PipelineConfig, run: RunInfo) -> RunStaging:
    """Return the run's empty staging, after pruning what old failed runs left."""
    pruned = prune(config.staging_root, run.dag_id, timedelta(days=config.staging_retention_days))
    if pruned:
        log.info("Removed the staging of %d runs older than %s days", pruned, config.staging_retention_days)
    staging = RunStaging.for_run(config.staging_root, run.dag_id, run.run_id)
    staging.reset()
    return staging
