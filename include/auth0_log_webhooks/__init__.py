"""Ship an Auth0 tenant's logs to a webhook with Apache Airflow."""

__version__ = "0.2.0"
"""The distribution's version (``auth0-log-webhooks``): pyproject.toml and the provider metadata read it here."""
