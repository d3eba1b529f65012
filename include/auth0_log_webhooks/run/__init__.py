"""One pipeline run's state and rules.

Its context (ids, backfill window, settings) and Variables, its staging (batches, plan and ledger
in object storage), the checkpoint policy (where reading starts, how far a commit moves), what a
commit may trust (settlement), one-off runs and expired checkpoints, the encoding of staged logs,
and the errors of the stores it writes to.

It imports ``pipelines``, ``http``, ``hooks`` and the foundations; never ``delivery``, ``steps`` or
anything above.
"""
