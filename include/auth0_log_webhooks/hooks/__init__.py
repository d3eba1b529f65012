"""Airflow hooks: the Auth0 Management API (the tenant's logs, within its rate limits) and the customer's webhook.

Also the read's progress tally (pages, logs, waits) that the fetch step logs. It imports ``http`` and
the foundations; never ``run``, ``delivery`` or anything above.
"""
