"""The deliver step: send one chunk's staged batches and record each batch's outcome in the ledger."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from auth0_log_webhooks import signals
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.contracts import BatchOutcome, Chunk, DeliveryReport
from auth0_log_webhooks.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery import WebhookSender, open_sender
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.runtime import AirflowVariables, RunInfo, Variables, run_staging
from auth0_log_webhooks.wording import delivery_sentence, plural

log = logging.getLogger(__name__)


def deliver_chunk(
    pipeline: Pipeline,
    run: RunInfo,
    chunk: Chunk,
    *,
    variables: Variables | None = None,
    sender: WebhookSender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Deliver one chunk's batches in order, one request at a time; return counts (small, for XCom).

    A batch already in the ledger (settled by an earlier try) is skipped. A message the webhook
    refuses for good, or that runs out of attempts, is kept as a dead letter; the batch then counts
    as settled, so the checkpoint may pass it.
    """
    staging = run_staging(pipeline, run, variables or AirflowVariables())
    config = PipelineConfig.model_validate(staging.read_plan()["config"])
    sender = sender or open_sender(pipeline.webhook_conn_id, config, sleep=sleep)
    letters = DeadLetterStore(config.dead_letter_root)
    requests_before, limited_before = sender.requests_sent, sender.answers_429
    report = DeliveryReport(
        chunk=chunk["chunk"], batches=0, skipped=0, delivered_logs=0, dead_lettered_logs=0, requests=0
    )
    for index in range(chunk["start"], chunk["stop"]):
        if staging.outcome(index) is not None:
            report["skipped"] += 1
            continue
        logs = staging.read_batch(index)
        kept = [
            letters.put(pipeline.dag_id, f, dag_id=run.dag_id, run_id=run.run_id) for f in sender.deliver_batch(logs)
        ]
        kept_logs = sum(len(letter.log_ids) for letter in kept)
        for letter in kept:
            log.warning(
                "Batch %d: kept %s as dead letter %s: %s",
                index,
                plural(len(letter.log_ids), "log"),
                letter.entry_id,
                letter.reason,
            )
        staging.mark(
            index,
            BatchOutcome(
                status="dead_lettered" if kept else "delivered",
                delivered_logs=len(logs) - kept_logs,
                dead_letters=[letter.entry_id for letter in kept],
            ),
        )
        report["batches"] += 1
        report["delivered_logs"] += len(logs) - kept_logs
        report["dead_lettered_logs"] += kept_logs
    report["requests"] = sender.requests_sent - requests_before
    signals.record_rate_limited(pipeline.dag_id, sender.answers_429 - limited_before, metric="webhook_429")
    log.info("%s", delivery_sentence(report))
    return report
