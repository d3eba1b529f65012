"""The commit step: move the checkpoint past what is settled, then fail loudly if anything is left."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from auth0_log_webhooks.contracts import Plan, RunSummary
from auth0_log_webhooks.delivery.circuit import CircuitOpenError, RunCircuit, describe
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import dead_letter_advice, undelivered_advice
from auth0_log_webhooks.monitoring import metrics
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.checkpoint_policy import CommitDecision, advanced, decide
from auth0_log_webhooks.run.context import RunInfo, run_staging
from auth0_log_webhooks.run.settlement import check_counts, compare_and_set, matching
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import AirflowVariables, Variables
from auth0_log_webhooks.wording import run_sentence

log = logging.getLogger(__name__)


class DeliveryIncompleteError(RuntimeError):
    """Some batches were not delivered; the checkpoint was committed only up to the first of them."""


class DeadLettersKeptError(RuntimeError):
    """Some messages were kept as dead letters; the checkpoint passed them."""


def commit_checkpoint(
    pipeline: Pipeline,
    run: RunInfo,
    *,
    variables: Variables | None = None,
) -> RunSummary:
    """Advance the checkpoint as far as is safe, then report.

    Only ledger markers of the plan's generation that settle exactly the planned batch count; the
    settled prefix must account for every log it selected; the checkpoint moves only from the value
    the fetch started from (compare-and-set), never backwards, and never for a backfill window or a
    one-off run (params that changed what is selected or where reading starts).

    :raises LedgerMismatchError: if the ledger does not add up (nothing is moved).
    :raises CheckpointChangedError: if the checkpoint changed since the fetch (nothing is moved).
    :raises CircuitOpenError: if the receiver refused everything (after committing what is settled).
    :raises DeliveryIncompleteError: if batches were left undelivered (after committing the rest).
    :raises DeadLettersKeptError: if messages were kept as dead letters.
    """
    variables = variables or AirflowVariables()
    staging = run_staging(pipeline, run, variables)
    plan = staging.read_plan()
    done = staging.read_committed()
    if done is not None:  # a retried commit after one that succeeded: same answer, nothing moved
        log.info("Run %s was already committed: %s", run.run_id, done[0])
        _raise_if_dead_letters(pipeline, plan, done[1])
        return done[0]
    staging = staging.with_generation(plan["generation"])
    outcomes = matching(plan["batches"], plan["generation"], staging.outcomes())
    decision = decide(plan["batches"], plan["end_cursor"], outcomes)
    check_counts(plan["batches"], outcomes, decision.settled)
    checkpoint = variables.get(pipeline.checkpoint_variable)
    if plan["mode"] == "checkpoint":
        target = advanced(plan["checkpoint_at_fetch"], decision.checkpoint)
        if target:
            compare_and_set(variables, pipeline.checkpoint_variable, plan["checkpoint_at_fetch"], target)
            checkpoint = target
    elif plan["mode"] == "one_off":
        log.info("One-off run (%s): the checkpoint stays at %s", plan["note"] or "params", checkpoint)
    summary = RunSummary(
        batches=len(plan["batches"]),
        settled_batches=decision.settled,
        delivered_logs=decision.delivered_logs,
        dead_letters=len(decision.dead_letters),
        checkpoint=checkpoint if plan["mode"] != "window" else None,
        more_to_read=plan["mode"] == "checkpoint" and plan.get("more_to_read", False),
    )
    log.info("%s", run_sentence(summary))
    metrics.record_run(pipeline.dag_id, summary)
    _raise_if_incomplete(staging, plan["config"], decision, summary)
    staging.write_committed(summary, list(decision.dead_letters))
    _raise_if_dead_letters(pipeline, plan, list(decision.dead_letters))
    return summary


def _raise_if_dead_letters(pipeline: Pipeline, plan: Plan, entries: list[str]) -> None:
    store = DeadLetterStore(PipelineConfig.model_validate(plan["config"]).dead_letter_root)
    letters = []
    for entry in entries:
        with contextlib.suppress(KeyError):  # replayed (delivered and removed) since: nothing is kept any more
            letters.append(store.get(entry))
    if letters:
        raise DeadLettersKeptError(
            dead_letter_advice(
                letters=letters,
                pipeline=pipeline.dag_id,
                location=store.location(pipeline.dag_id),
                where_logged="the failed deliver tasks of this run",
                checkpoint_passed=plan["mode"] == "checkpoint",
            )
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
        raise CircuitOpenError(
            f"{describe(state)}.\n{left}, once the webhook answers. No dead letter was kept for them."
        )
    raise DeliveryIncompleteError(
        undelivered_advice(
            undelivered=decision.undelivered_batches, batches=summary["batches"], checkpoint=summary["checkpoint"]
        )
    )
