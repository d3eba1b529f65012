"""Import shim: the run deadline moved to :mod:`auth0_log_webhooks.wiring.run_deadlines`.

Airflow stores a deadline alert's callback by its import path, and DAGs serialized before 0.2.0
name ``auth0_log_webhooks.run_deadlines.notify_overdue``.
"""

from auth0_log_webhooks.wiring.run_deadlines import notify_overdue

__all__ = ["notify_overdue"]
