"""What people and other systems watch.

Metrics and the delivered asset's events, the run history and its daily reconciliation, the lag,
retention and reconciliation alarms, notices to the alerts webhook, and the health page's content.

It imports ``delivery`` and below; never ``steps`` or ``wiring``.
"""
