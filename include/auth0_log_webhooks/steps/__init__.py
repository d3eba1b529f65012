"""The three steps of a pipeline run, one module each, as the DAG's tasks call them.

* :mod:`~auth0_log_webhooks.steps.fetch`: read logs after the checkpoint (or within a backfill's
  window), select them, cut batches into staging, and plan one chunk per delivery task.
* :mod:`~auth0_log_webhooks.steps.deliver`: send one chunk's batches, one request at a time, and
  record each batch's outcome in the staging ledger; batches settled by an earlier try are skipped.
* :mod:`~auth0_log_webhooks.steps.commit`: advance the checkpoint past the longest run of settled
  batches, then fail the run if anything was left undelivered or kept as a dead letter.

Each step is a plain function of a :class:`~auth0_log_webhooks.pipelines.definition.Pipeline`, a
:class:`~auth0_log_webhooks.run.context.RunInfo` and the typed records of
:mod:`~auth0_log_webhooks.contracts`, so tests and benchmarks run them without a scheduler.
"""
