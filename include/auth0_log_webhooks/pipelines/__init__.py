"""What a pipeline is and how it is configured.

Its definition (connections, pool, schedule, Variables), the pipelines file that lists them, its
settings (the config Variable under trigger params), which logs it selects (log types and levels,
Management API endpoints), how a management log is reshaped, and its personal-data rules.

It imports only the foundations (``contracts``, ``log_ids``, ``wording``); nothing here talks HTTP or
knows about runs.
"""
