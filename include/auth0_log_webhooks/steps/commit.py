"""The commit step: move the checkpoint past what is settled, then fail loudly if anything is left."""

from __future__ import annotations

import logging

from auth0_log_webhooks.checkpoints import advanced, decide
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.dead_letters import DeadLetterStore
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.runtime import AirflowVariables, RunInfo, Variables, run_staging

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
    log.info("Run summary of %s: %s", run.run_id, summary)
    if decision.undelivered_batches:
        raise DeliveryIncompleteError(
            f"{decision.undelivered_batches} of {len(plan['batches'])} batches were not delivered; the checkpoint "
            f"stays before them ({checkpoint}); the next run delivers them again"
        )
    staging.remove()
    if decision.dead_letters:
        config = PipelineConfig.model_validate(plan["config"])
        where = DeadLetterStore(config.dead_letter_root).location(pipeline.dag_id)
        raise DeadLettersKeptError(
            f"{len(decision.dead_letters)} messages were kept as dead letters in {where}; the checkpoint passed "
            "them. Fix the webhook, then trigger auth0_webhooks_replay to deliver them"
        )
    return summary
