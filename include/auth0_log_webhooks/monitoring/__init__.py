"""What people and other systems watch.

Metrics and the delivered asset's events, the lag and retention alarms, notices to the alerts
webhook, and the health page's content.

It imports ``delivery`` and below; never ``steps`` or ``wiring``.
"""
