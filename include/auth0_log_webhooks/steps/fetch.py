"""The fetch step: read, select and stage a run's logs; plan the delivery tasks."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.contracts import Chunk, FetchResult, Plan, ReadMode
from auth0_log_webhooks.delivery.preview import render
from auth0_log_webhooks.event_mode.new_logs import LiveTraffic
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.hooks.read_progress import ReadProgress, tracked
from auth0_log_webhooks.monitoring import metrics
from auth0_log_webhooks.pipelines.config import ParamsError, PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.run_params import preview_messages
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.delivery_log import DeliveryLog, record_read
from auth0_log_webhooks.run.kinds import one_off_reason
from auth0_log_webhooks.run.reading import LogSource, start_of_reading
from auth0_log_webhooks.run.staging import RunStaging, Stager, plan_chunks, prune
from auth0_log_webhooks.run.task_io import ANSWERS_429, LANE_REPORT, RUN_SUMMARY, STAGING_URL, TaskIO
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.steps import pausing
from auth0_log_webhooks.steps.carry_over import CarryOver, EarlierTries
from auth0_log_webhooks.steps.commit import FetchKept, commit_in_fetch, lane_429
from auth0_log_webhooks.steps.preview import preview
from auth0_log_webhooks.wording import plural, reading_sentence, when

if TYPE_CHECKING:  # imported when a lane starts: a fetch without one does not load the sender (LAZY_STEPS)
    from auth0_log_webhooks.delivery.sender import WebhookSender
    from auth0_log_webhooks.steps.lane import DeliveryLane

log = logging.getLogger(__name__)


LANE_HOLD_BYTES = 8 * 1024 * 1024
"""How many bytes of staged batches the fetch keeps for its delivery lane, which sends them without reading them
back: the batches staged and not yet sent, up to this bound (the lane reads the rest from staging)."""


class RunParamsRefusedError(AirflowFailException):
    """The run's trigger params are refused; the run fails at once, as a retry would get the same params."""


def fetch(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    io: TaskIO,
    *,
    variables: Variables | None = None,
    hook: LogSource | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Chunk]:
    """Run the fetch task: stage the run's logs, keep the staging root and the 429 count for the commit,
    and return the chunks the delivery tasks are mapped over.

    With the ``preview`` param, render the next messages into the task's log instead and return no
    chunk: nothing is staged or delivered, and the commit task skips (:mod:`~auth0_log_webhooks.steps.preview`).

    With no chunk to return (a preview, nothing selected, or a lane that sent every batch), the task skips
    ``deliver`` itself as it ends (:meth:`TaskIO.skip_downstream`), so the commit starts a scheduler loop sooner.
    When the run then leaves nothing to fail or to start, the fetch commits it itself
    (:func:`~auth0_log_webhooks.steps.commit.commit_in_fetch`: the same commit, one task and one scheduler loop
    sooner), keeps its summary under ``run_summary`` and skips ``commit`` too.

    Otherwise a paused pipeline's fetch reads nothing and skips (:mod:`~auth0_log_webhooks.steps.pausing`).

    :raises PipelinePausedError: if the pipeline is paused (the task skips).
    :raises RunParamsRefusedError: if the params are refused (an undeclared key, a bad value): no retry.
    :raises: what :func:`fetch_logs` raises.
    """
    try:
        previewed = preview_messages(params)
        if previewed:  # a preview sends nothing, so it runs while the pipeline is paused too
            shown = preview(pipeline, run, params, previewed, variables=variables, hook=hook)
            log.info("%s", render(shown))
            return _handed_on([], io)
        pausing.stop_if_paused(pipeline, io, variables or AirflowVariables())
        fetched = fetch_logs(pipeline, run, params, variables=variables, hook=hook, sleep=sleep)
    except ParamsError as exc:
        raise RunParamsRefusedError(str(exc)) from None
    io.keep(STAGING_URL, fetched["staging_url"])
    io.keep(ANSWERS_429, fetched["answers_429"])
    if fetched["lane"] is not None:
        io.keep(LANE_REPORT, fetched["lane"])
    if not fetched["chunks"]:
        kept = FetchKept(fetched["staging_url"], fetched["answers_429"], lane_429(fetched["lane"]))
        summary = commit_in_fetch(pipeline, run, io, kept, variables=variables)
        if summary is not None:
            io.keep(RUN_SUMMARY, summary)
            log.info(
                "Nothing is left for the delivery tasks or the commit task, so this task committed the run itself "
                "and skips both"
            )
            io.skip_downstream(["deliver", "commit"], [])
            return []
    return _handed_on(fetched["chunks"], io)


def _handed_on(chunks: list[Chunk], io: TaskIO) -> list[Chunk]:
    """Return the chunks the delivery tasks are mapped over; with none, skip ``deliver`` now rather than leave
    its empty expansion to the scheduler (one loop fewer before the commit starts)."""
    if not chunks:
        log.info("No batch is left for delivery tasks, so deliver is skipped and the commit runs next")
        io.skip_downstream(["deliver"], chunks)
    return chunks


def live_traffic(pipeline: Pipeline, run: RunInfo, source: LogSource, mode: ReadMode) -> LiveTraffic | None:
    """What watches the pages for logs written while the run waited or ran: in event mode, a run reading from the
    checkpoint whose moment Airflow gave (``RunInfo.started``) and whose source names its client id (else None)."""
    if pipeline.mode != "event" or mode != "checkpoint" or run.started is None:
        return None
    client_id = getattr(source, "client_id", None)
    if not isinstance(client_id, str) or not client_id:
        return None
    return LiveTraffic(client_id, run.started.timestamp())


def fetch_logs(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    *,
    variables: Variables | None = None,
    hook: LogSource | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    lane_sender: Callable[[PipelineConfig], WebhookSender] | None = None,
    lane_hold_from: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchResult:
    """Pull, select and stage the run's logs with its plan; return where they are staged and one chunk
    per delivery task.

    This is where the run's settings are resolved (pipelines file, config Variable, params), once:
    the plan carries them and the result carries the staging root, so no later task reads the config
    Variable again. The staging generation is the task's try number, so a cleared and re-run fetch
    never shares batches or ledger markers with the delivery tasks of an earlier try; a batch an earlier
    try already settled with the same messages is settled in this try's ledger as it is staged, and not
    sent again (:mod:`~auth0_log_webhooks.steps.carry_over`).

    With ``deliver_while_fetching`` on, a delivery lane sends each batch as soon as it is staged
    (:mod:`~auth0_log_webhooks.steps.lane`; through the sender ``lane_sender`` returns for the run's
    settings if given, else one that waits with ``sleep``) and the chunks cover only the batches it left.
    ``lane_hold_from`` is the model test's seam (:class:`~auth0_log_webhooks.steps.lane.DeliveryLane`).

    :raises UndeclaredParamError: if the params hold a key the DAG does not declare (nothing is read).
    :raises ConfigError: if the config Variable or the params are invalid.
    :raises InvalidCheckpointError: if the checkpoint or ``start_from`` is malformed, or ``start_from`` lies in
        the future or before the oldest retained log.
    :raises ExpiredCheckpointError: if the checkpoint is no longer retained and the policy is ``fail``.
    :raises MalformedLogError: if Auth0 returns a log without an id or out of order.
    :raises SupersededTryError: if a newer try of the fetch reset the run while this one still ran (an orphan
        Airflow gave up on): this try stops before its next batch or its plan, and the newer try owns the run.
    """
    variables = variables or AirflowVariables()
    source: LogSource = hook or Auth0Hook(pipeline.auth0_conn_id)
    config = load_config(pipeline, params, variables).with_tenant(lambda: source.domain)
    one_off = None if run.window else one_off_reason(params, load_config(pipeline, None, variables), config)
    checkpoint = variables.get(pipeline.checkpoint_variable)
    start, reason, warning = start_of_reading(pipeline, run, params, config, checkpoint, source, now())
    if warning:
        log.warning("%s", warning)
    mode: ReadMode = "window" if run.window else "one_off" if one_off else "checkpoint"
    staging, earlier = _fresh_staging(config, run)
    if config.deliver_while_fetching:
        staging.hold_bytes = LANE_HOLD_BYTES
    log.info("%s", reading_sentence(start, reason, run.window))
    if one_off:
        log.info("A one-off run (%s): it delivers what it selects and does not move the checkpoint", one_off)
    stager = Stager(
        staging,
        pipeline.select(config),
        pipeline.transformer(),
        config.batch_size,
        config.max_logs_per_run,
        run.window,
        one_off=bool(one_off),
    )
    lane = (
        _lane(pipeline, run, staging, config, lane_sender, sleep, lane_hold_from)
        if config.deliver_while_fetching
        else None
    )
    carry = CarryOver(staging, earlier, config.send_as_batch, lane.staged if lane is not None else None)
    stager.staged = carry.staged
    progress = ReadProgress()
    try:
        live = live_traffic(pipeline, run, source, mode)
        pages = tracked(source.iter_log_pages(start), source.waits, progress)
        manifest = stager.run(live.watch(pages) if live is not None else pages, start)
    except BaseException:
        if lane is not None:  # the fetch fails: its lane sends nothing more (a retry sends what it did not settle)
            lane.abandon()
        raise
    first_left = lane.finish() if lane is not None else 0
    carried = carry.sentence(len(manifest.batches))
    if carried:
        log.info("%s", carried)
    log.info("%s", progress.sentence(source.waits))
    metrics.record_rate_limited(pipeline.dag_id, source.waits.rate_limited)
    log.info(
        "Selected %s of %s in %s, up to %s.%s",
        f"{manifest.selected:,}",
        plural(manifest.fetched, "log"),
        plural(len(manifest.batches), "batch", "batches"),
        when(manifest.end_cursor),
        f" {manifest.note.capitalize()}." if manifest.note else "",
    )
    if manifest.repaired:
        log.warning(
            "Repaired %d logs whose text held lone UTF-16 surrogates (each became U+FFFD); they are delivered",
            manifest.repaired,
        )
    staging.write_plan(
        Plan(
            mode=mode,
            start_cursor=start,
            end_cursor=manifest.end_cursor,
            fetched=manifest.fetched,
            filtered=manifest.filtered,
            selected=manifest.selected,
            batches=manifest.batches,
            note="; ".join(part for part in (one_off and f"one-off run: {one_off}", manifest.note) if part),
            more_to_read=manifest.more_to_read,
            live=live is not None and live.seen,
            created_at=datetime.now(UTC).isoformat(),
            config=config.model_dump(mode="json"),
            generation=staging.generation,
            checkpoint_at_fetch=checkpoint,
            repaired=manifest.repaired,
        )
    )
    record_read(
        DeliveryLog(config.staging_root, pipeline.dag_id, config.delivery_log_retention_days),
        run_id=run.run_id,
        after=start,
        through=manifest.end_cursor,
        fetched=manifest.fetched,
        selected=manifest.selected,
        mode=mode,
        settings=config.model_dump(mode="json"),
    )
    chunks = plan_chunks(
        manifest.batches,
        config.delivery_tasks(pipeline.pool_slots),
        config.min_batches_per_task,
        generation=staging.generation,
        staging_url=config.staging_root,
        first=first_left,
    )
    return FetchResult(
        staging_url=config.staging_root,
        chunks=chunks,
        answers_429=source.waits.rate_limited,
        lane=lane.report if lane is not None else None,
    )


def _lane(
    pipeline: Pipeline,
    run: RunInfo,
    staging: RunStaging,
    config: PipelineConfig,
    lane_sender: Callable[[PipelineConfig], WebhookSender] | None,
    sleep: Callable[[float], None],
    hold_from: int | None,
) -> DeliveryLane:
    """Start the run's delivery lane on ``staging`` (this try's generation)."""
    from auth0_log_webhooks.steps.deliver import BatchSender
    from auth0_log_webhooks.steps.lane import LANE_CHUNK, DeliveryLane

    def batches() -> BatchSender:
        sender = lane_sender(config) if lane_sender else None
        return BatchSender.open(
            pipeline, run, staging, config, config.staging_root, LANE_CHUNK, sender=sender, sleep=sleep
        )

    return DeliveryLane(batches, drain_at_most=config.min_batches_per_task, hold_from=hold_from)


def _fresh_staging(config: PipelineConfig, run: RunInfo) -> tuple[RunStaging, EarlierTries]:
    """Return the run's empty staging in this try's generation and what earlier tries of the run settled,
    after pruning what old failed runs left and the delivery log's days past its retention."""
    pruned = prune(config.staging_root, run.dag_id, timedelta(days=config.staging_retention_days))
    if pruned:
        log.info("Removed the staging of %d runs older than %s days", pruned, config.staging_retention_days)
    days = DeliveryLog(config.staging_root, run.dag_id, config.delivery_log_retention_days).prune()
    if days:
        log.info(
            "Removed %s of the delivery log older than %s days (delivery_log_retention_days)",
            plural(days, "day"),
            config.delivery_log_retention_days,
        )
    staging = RunStaging.for_run(config.staging_root, run.dag_id, run.run_id).with_generation(run.try_number)
    staging.reset()  # keeps the earlier tries' ledgers; read after, with what an ending try settled meanwhile
    return staging, EarlierTries(staging.earlier_outcomes())
