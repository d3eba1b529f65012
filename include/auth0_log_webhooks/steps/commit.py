"""The commit step: move the checkpoint past what is settled, then fail loudly if anything is left."""

from __future__ import annotations

import logging

from auth0_log_webhooks import signals
from auth0_log_webhooks.advice import dead_letter_advice, undelivered_advice
from auth0_log_webhooks.checkpoints import advanced, decide
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.dead_letters import DeadLetterStore
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.runtime import AirflowVariables, RunInfo, Variables, run_staging
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
    """Advance the checkpoint as far as is safe (never backwards; never for a backfill window), then report.

    :raises DeliveryIncompleteError: if batches were left undelivered (after committing the rest).
    :raises DeadLettersKeptError: if messages were kept as dead letters.
    """
    variables = variables or AirflowVariables()
    staging = run_staging(pipeline, run, variables)
    plan = staging.read_plan()
    decision = decide(plan["batches"], plan["start_cursor"], plan["end_cursor"], staging.outcomes())
    checkpoint = None
    if plan["mode"] == "checkpoint":
        checkpoint = variables.get(pipeline.checkpoint_variable)
        target = advanced(checkpoint, decision.checkpoint)
        if target:
            variables.set(pipeline.checkpoint_variable, target)
            checkpoint = target
    summary = RunSummary(
        batches=len(plan["batches"]),
        settled_batches=decision.settled,
        delivered_logs=decision.delivered_logs,
        dead_letters=len(decision.dead_letters),
        checkpoint=checkpoint,
        more_to_read=plan["mode"] == "checkpoint" and plan.get("more_to_read", False),
    )
    log.info("%s", run_sentence(summary))
    signals.record_run(pipeline.dag_id, summary)
    if decision.undelivered_batches:
        raise DeliveryIncompleteError(
            undelivered_advice(
                undelivered=decision.undelivered_batches, batches=len(plan["batches"]), checkpoint=checkpoint
            )
        )
    staging.remove()
    if decision.dead_letters:
        config = PipelineConfig.model_validate(plan["config"])
        store = DeadLetterStore(config.dead_letter_root)
        raise DeadLettersKeptError(
            dead_letter_advice(
                letters=[store.get(entry) for entry in decision.dead_letters],
                pipeline=pipeline.dag_id,
                location=store.location(pipeline.dag_id),
                where_logged="the failed deliver tasks of this run",
                checkpoint_passed=plan["mode"] == "checkpoint",
            )
        )
    return summary
