"""The commit step: move the checkpoint past what is settled, then fail loudly if anything is left.

:func:`commit` is the whole body of the ``commit`` task: it commits (:func:`commit_checkpoint`),
fills the delivered asset's event with the run's counts, and starts the next run at once when
reading stopped at ``max_logs_per_run`` (:mod:`~auth0_log_webhooks.steps.follow_up`).

:func:`commit_in_fetch` is the same commit made by the fetch task, for a run whose fetch left no batch for the
delivery tasks and that leaves nothing to fail or to start: the fetch then skips ``deliver`` and ``commit``,
and the run ends a scheduler loop and a task sooner (docs/architecture.md, "A run the fetch commits").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks.contracts import BatchOutcome, DeliveryReport, Plan, RunSummary
from auth0_log_webhooks.delivery.circuit import CircuitOpenError, RunCircuit, describe
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import fail_if_still_kept, undelivered_advice
from auth0_log_webhooks.monitoring import metrics, run_history
from auth0_log_webhooks.monitoring.reconciliation import counts_of
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.run_params import preview_messages
from auth0_log_webhooks.run.checkpoint_policy import CommitDecision, advanced, decide
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.settlement import (
    CheckpointChangedError,
    LedgerMismatchError,
    check_counts,
    compare_and_set,
    matching,
)
from auth0_log_webhooks.run.staging import NothingStagedError, RunStaging
from auth0_log_webhooks.run.task_io import ANSWERS_429, LANE_REPORT, STAGING_URL, TaskIO
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.steps import follow_up, pausing
from auth0_log_webhooks.wording import run_sentence

if TYPE_CHECKING:  # the manifests and their sender load only for a run that sends a manifest (LAZY_STEPS)
    from auth0_log_webhooks.delivery.sender import WebhookSender

log = logging.getLogger(__name__)


class PreviewRunSkip(AirflowSkipException):
    """A preview run has nothing to commit: the task is skipped, so no asset event and no success notice."""


class DeliveryIncompleteError(RuntimeError):
    """Some batches were not delivered; the checkpoint was committed only up to the first of them."""


class DeadLettersKeptError(RuntimeError):
    """Some messages were kept as dead letters; the checkpoint passed them."""


@dataclass(frozen=True)
class FetchKept:
    """What the run's fetch and delivery tasks kept for its commit."""

    staging_url: str | None
    """The staging root the fetch resolved (None: the fetch did not finish)."""
    auth0_429: int = 0
    """Auth0's 429 answers the fetch waited out."""
    webhook_429: int = 0
    """The webhook's 429 answers the delivery tasks and the fetch's delivery lane waited out."""

    @classmethod
    def of(cls, io: TaskIO) -> FetchKept:
        """Read what the commit task's upstream tasks kept."""
        lane = io.kept("fetch", LANE_REPORT)
        return cls(
            staging_url=io.kept("fetch", STAGING_URL),
            auth0_429=metrics.total(io.kept("fetch", ANSWERS_429)),
            webhook_429=metrics.total(io.kept("deliver", ANSWERS_429)) + lane_429(lane),
        )


def commit(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    io: TaskIO,
    *,
    variables: Variables | None = None,
    sender: WebhookSender | None = None,
) -> RunSummary:
    """Run the commit task: commit the checkpoint, announce the run's counts, drain on if reading was capped.

    The staging root is the one the run's fetch resolved and kept (none when the fetch did not finish).

    A run that fails here leaves no asset event (Airflow emits one only when the task succeeds), so
    its counts and the first line of its error go to the pipeline's run history, which the daily
    report and the health page read (:mod:`~auth0_log_webhooks.monitoring.run_history`).

    Whether it succeeds or fails, the run's failures count towards auto-pause, which may pause the
    pipeline with one notice (:func:`~auth0_log_webhooks.steps.pausing.count_run`); the commit of a run
    that skipped because the pipeline is paused skips too.

    :raises PreviewRunSkip: for a preview run (the ``preview`` param): nothing was staged, nothing moves.
    :raises PipelinePausedError: if the run's fetch skipped because the pipeline is paused.
    :raises: what :func:`commit_checkpoint` raises; in Airflow, ``DagRunTriggerException`` to drain on.
    """
    if preview_messages(params):
        raise PreviewRunSkip(
            "A preview run: the fetch task's log shows the messages it would send; nothing was sent or staged, so "
            "there is nothing to commit and the checkpoint stays where it is."
        )
    pausing.skip_commit_if_paused(io)
    variables = variables or AirflowVariables()
    kept = FetchKept.of(io)
    counted: list[RunSummary] = []
    messages = pausing.measure(run, kept.staging_url)  # before a successful commit tidies the staging away
    try:
        summary = commit_checkpoint(
            pipeline, run, kept.staging_url, variables=variables, counted=counted.append, sender=sender
        )
    except Exception as exc:
        run_history.record_failed_run(variables, pipeline.dag_id, run.run_id, exc, counted[-1] if counted else None)
        pausing.count_run(pipeline, run, messages, variables)
        raise
    _committed(pipeline, run, io, kept, summary, messages, variables)
    if follow_up.needs_follow_up(summary):
        io.keep("return_value", summary)  # the follow-up ends the task before its return value is kept
        io.follow_up(follow_up.follow_up(run, summary, params or {}))
    return summary


def commit_in_fetch(
    pipeline: Pipeline, run: RunInfo, io: TaskIO, kept: FetchKept, *, variables: Variables | None = None
) -> RunSummary | None:
    """Commit the run from its fetch task, as the commit task would, when the fetch left no batch for the delivery
    tasks (its delivery lane settled every batch, or it selected none).

    Only a run that leaves nothing to do is committed here: every batch delivered, no dead letter, no completeness
    manifest to send and no follow-up run to start (nothing that can fail the run or end the task otherwise). It
    assesses and settles the run with the functions :func:`commit_checkpoint` uses (``_assess``, ``_settle``: one
    rule), counts the run for auto-pause and announces its counts in the delivered asset's event, as
    :func:`commit` does (``_committed``).

    :return: the run's summary; None, having moved nothing, when the commit task is to commit the run: it left
        something, or its ledger does not add up, or its checkpoint changed since the fetch read it (the commit task
        then fails with that error, and records the failed run once), or it was committed before this fetch ran
        again (the commit task gives that commit's answer).
    """
    variables = variables or AirflowVariables()
    staging, plan = _staged(run, kept.staging_url)
    if staging.read_committed() is not None:  # committed before this fetch ran again: the commit task says so
        return None
    messages = pausing.measure(run, kept.staging_url)
    try:
        assessed = _assess(staging, plan)
        if not assessed.leaves_nothing():
            return None
        summary = _settle(pipeline, run, assessed, variables, None, None)
    except (LedgerMismatchError, CheckpointChangedError) as exc:  # raised before anything moved
        log.warning("The commit task commits this run instead, and fails with this: %s", exc)
        return None
    _committed(pipeline, run, io, kept, summary, messages, variables)
    return summary


def _committed(
    pipeline: Pipeline,
    run: RunInfo,
    io: TaskIO,
    kept: FetchKept,
    summary: RunSummary,
    messages: pausing.RunMessages | None,
    variables: Variables,
) -> None:
    """Count a committed run for auto-pause and set its counts as the delivered asset's event."""
    pausing.count_run(pipeline, run, messages, variables)
    io.announce(metrics.run_extra(summary, auth0_429=kept.auth0_429, webhook_429=kept.webhook_429, run_id=run.run_id))


def lane_429(lane: DeliveryReport | None) -> int:
    """Return the webhook's 429 answers the fetch's delivery lane waited out (0 without a lane)."""
    return int(lane["answers_429"]) if isinstance(lane, dict) else 0


def commit_checkpoint(
    pipeline: Pipeline,
    run: RunInfo,
    staging_url: str | None,
    *,
    variables: Variables | None = None,
    counted: Callable[[RunSummary], None] | None = None,
    sender: WebhookSender | None = None,
) -> RunSummary:
    """Advance the checkpoint as far as is safe, then report.

    ``counted`` is given the run's summary as soon as it is known, also when the commit then fails.
    With ``completeness_manifests`` on, a run whose commit completes (dead letters or not) sends its
    manifest (:mod:`~auth0_log_webhooks.delivery.manifests`), through ``sender`` if given; a retried
    commit sends the same one again.

    Only ledger markers of the plan's generation that settle exactly the planned batch count; the
    settled prefix must account for every log it selected; the checkpoint moves only from the value
    the fetch started from (compare-and-set), never backwards, and never for a backfill window or a
    one-off run (params that changed what is selected or where reading starts).

    :raises NothingStagedError: if the run's fetch did not finish (nothing is moved).
    :raises LedgerMismatchError: if the ledger does not add up (nothing is moved).
    :raises CheckpointChangedError: if the checkpoint changed since the fetch (nothing is moved).
    :raises CircuitOpenError: if the receiver refused everything (after committing what is settled).
    :raises DeliveryIncompleteError: if batches were left undelivered (after committing the rest).
    :raises ManifestNotDeliveredError: if the webhook did not take the run's manifest (after committing).
    :raises DeadLettersKeptError: if messages were kept as dead letters.
    """
    variables = variables or AirflowVariables()
    staging, plan = _staged(run, staging_url)
    done = staging.read_committed()
    if done is not None:  # a retried commit after one that succeeded: same answer, nothing moved
        log.info("Run %s was already committed: %s", run.run_id, done[0])
        if counted:
            counted(done[0])
        if _wants_manifest(plan):
            _send_kept_manifest(pipeline, run, plan, staging, variables, sender)
        _raise_if_dead_letters(pipeline, plan, done[1])
        return done[0]
    return _settle(pipeline, run, _assess(staging, plan), variables, counted, sender)


@dataclass(frozen=True)
class Assessment:
    """What the ledger settles of a run's plan, in the plan's generation: what the commit moves and reports."""

    staging: RunStaging
    plan: Plan
    outcomes: dict[int, BatchOutcome]
    decision: CommitDecision

    def leaves_nothing(self) -> bool:
        """Whether committing it ends the run with nothing left to fail or to start: every batch delivered, no
        dead letter, no completeness manifest to send, no follow-up run (reading was not capped at
        ``max_logs_per_run`` and read no live logs)."""
        plan, decision = self.plan, self.decision
        follows = plan["mode"] == "checkpoint" and (plan.get("more_to_read", False) or plan.get("live", False))
        return not (decision.undelivered_batches or decision.dead_letters or follows or _wants_manifest(plan))


def _staged(run: RunInfo, staging_url: str | None) -> tuple[RunStaging, Plan]:
    """Return the run's staging and the plan its fetch wrote.

    :raises NothingStagedError: if the run's fetch did not finish.
    """
    if not staging_url:
        raise NothingStagedError(
            f"The fetch of run {run.run_id} did not finish, so nothing was staged and the checkpoint stays where it "
            "is. Its log says why; clear the fetch task to read the logs again."
        )
    staging = RunStaging.for_run(staging_url, run.dag_id, run.run_id)
    return staging, staging.read_plan()


def _assess(staging: RunStaging, plan: Plan) -> Assessment:
    """Read the ledger of the plan's generation and decide how far the checkpoint may move.

    :raises LedgerMismatchError: if the ledger does not add up.
    """
    staging = staging.with_generation(plan["generation"])
    outcomes = matching(plan["batches"], plan["generation"], staging.outcomes())
    decision = decide(plan["batches"], plan["end_cursor"], outcomes)
    check_counts(plan["batches"], outcomes, decision.settled)
    return Assessment(staging, plan, outcomes, decision)


def _settle(
    pipeline: Pipeline,
    run: RunInfo,
    assessed: Assessment,
    variables: Variables,
    counted: Callable[[RunSummary], None] | None,
    sender: WebhookSender | None,
) -> RunSummary:
    """Move the checkpoint as ``assessed`` decides, record the commit, then raise if anything is left."""
    staging, plan, outcomes, decision = assessed.staging, assessed.plan, assessed.outcomes, assessed.decision
    checkpoint = variables.get(pipeline.checkpoint_variable)
    if plan["mode"] == "checkpoint":
        target = advanced(plan["checkpoint_at_fetch"], decision.checkpoint)
        if target:
            compare_and_set(variables, pipeline.checkpoint_variable, plan["checkpoint_at_fetch"], target)
            checkpoint = target
    elif plan["mode"] == "one_off":
        log.info("One-off run (%s): the checkpoint stays at %s", plan["note"] or "params", checkpoint)
    summary = _summary(plan, decision, outcomes, checkpoint)
    if counted:
        counted(summary)
    metrics.record_run(pipeline.dag_id, summary)
    _raise_if_incomplete(staging, plan["config"], decision, summary)
    if _wants_manifest(plan):
        from auth0_log_webhooks.delivery import manifests

        manifest = manifests.chained(
            staging, run, plan, outcomes, decision.settled, variables
        )  # before the ledger goes
        staging.write_committed(summary, list(decision.dead_letters))
        manifests.send(sender or _sender_for(pipeline, plan), manifest)
    else:
        staging.write_committed(summary, list(decision.dead_letters))
    _raise_if_dead_letters(pipeline, plan, list(decision.dead_letters))
    return summary


def _summary(
    plan: Plan, decision: CommitDecision, outcomes: Mapping[int, BatchOutcome], checkpoint: str | None
) -> RunSummary:
    """Return the run's summary with its reconciliation counts, after saying both in the task's log."""
    summary = RunSummary(
        batches=len(plan["batches"]),
        settled_batches=decision.settled,
        delivered_logs=decision.delivered_logs,
        dead_letters=len(decision.dead_letters),
        checkpoint=checkpoint if plan["mode"] != "window" else None,
        more_to_read=plan["mode"] == "checkpoint" and plan.get("more_to_read", False),
        read=plan["fetched"],
        filtered=plan.get("filtered", plan["fetched"] - plan["selected"]),
        dead_lettered_logs=sum(outcome["dead_lettered_logs"] for outcome in outcomes.values()),
        unsettled_logs=sum(batch["count"] for index, batch in enumerate(plan["batches"]) if index not in outcomes),
    )
    if plan["mode"] == "checkpoint" and plan.get("live", False) and checkpoint != plan["checkpoint_at_fetch"]:
        summary["live"] = True  # only when set: summaries of cron runs and quiet tenants stay as they were
    log.info("%s", run_sentence(summary))
    counts = counts_of(metrics.reconciliation_counts(summary))
    if counts is not None:
        log.info("%s", counts.sentence())
    return summary


def _send_kept_manifest(
    pipeline: Pipeline,
    run: RunInfo,
    plan: Plan,
    staging: RunStaging,
    variables: Variables,
    sender: WebhookSender | None,
) -> None:
    """Send again the manifest a completed commit kept (the ledger it lists is gone: it cannot be built anew)."""
    from auth0_log_webhooks.delivery import manifests

    kept = manifests.chained_kept(staging, run, variables)
    if kept is not None:
        manifests.send(sender or _sender_for(pipeline, plan), kept)
    else:
        log.warning(
            "Run %s was committed without a manifest in the chain (the chain moved on, or the manifest was removed); "
            "none is sent, and the receiver kit reports the gap",
            run.run_id,
        )


def _wants_manifest(plan: Plan) -> bool:
    return PipelineConfig.model_validate(plan["config"]).completeness_manifests


def _sender_for(pipeline: Pipeline, plan: Plan) -> WebhookSender:
    """Return a sender to the pipeline's webhook with the run's settings (as its delivery tasks had)."""
    from auth0_log_webhooks.delivery.sender import open_sender

    return open_sender(pipeline.webhook_conn_id, PipelineConfig.model_validate(plan["config"]), kind=pipeline.kind)


def _raise_if_dead_letters(pipeline: Pipeline, plan: Plan, entries: list[str]) -> None:
    fail_if_still_kept(
        DeadLetterStore(PipelineConfig.model_validate(plan["config"]).dead_letter_root),
        entries,
        pipeline=pipeline.dag_id,
        where_logged="the fetch task (what its delivery lane sent) and the failed deliver tasks of this run",
        checkpoint_passed=plan["mode"] == "checkpoint",
        error=DeadLettersKeptError,
    )


def _raise_if_incomplete(
    staging: RunStaging, config: dict[str, Any], decision: CommitDecision, summary: RunSummary
) -> None:
    """Fail the run if batches are left: the receiver's answer first when the circuit opened."""
    if not decision.undelivered_batches:
        return
    left = (
        f"{decision.undelivered_batches} of {summary['batches']} batches were not delivered; the checkpoint stays "
        f"before them ({summary['checkpoint']}); the next run delivers them again"
    )
    threshold = PipelineConfig.model_validate(config).circuit_breaker_failures
    state = RunCircuit(staging.generation_path / "circuit", threshold).state()
    if state is not None:
        answer = describe(state, summary["batches"])
        raise CircuitOpenError(f"{answer}\n{left}, once the webhook answers. No dead letter was kept for them.")
    raise DeliveryIncompleteError(
        undelivered_advice(
            undelivered=decision.undelivered_batches, batches=summary["batches"], checkpoint=summary["checkpoint"]
        )
    )
