"""The steps of a pipeline run and of a replay: each is the whole body of one DAG task.

* :mod:`~auth0_log_webhooks.steps.fetch`: read logs after the checkpoint (or within a backfill's
  window), select them, cut batches into staging, and plan one chunk per delivery task.
* :mod:`~auth0_log_webhooks.steps.deliver`: send one chunk's batches, one request at a time, and
  record each batch's outcome in the staging ledger; batches settled by an earlier try are skipped.
* :mod:`~auth0_log_webhooks.steps.commit`: advance the checkpoint past the longest run of settled
  batches, then fail the run if anything was left undelivered or kept as a dead letter. The fetch
  commits a run that leaves nothing after it itself, with the same functions.
* :mod:`~auth0_log_webhooks.steps.follow_up`: when reading stopped at ``max_logs_per_run``, the
  next run starts at once.
* :mod:`~auth0_log_webhooks.steps.replay`: choose dead letters, re-send them, report.

Each step is a plain function of a :class:`~auth0_log_webhooks.pipelines.definition.Pipeline`, a
:class:`~auth0_log_webhooks.run.context.RunInfo`, the typed records of
:mod:`~auth0_log_webhooks.contracts` and a :class:`~auth0_log_webhooks.run.task_io.TaskIO`, so the
DAG's tasks and the in-process runner of tests and benchmarks run the same code. It imports every
package but ``wiring``.
"""
