"""Airflow provider metadata: registers the ``auth0`` connection type and its form fields.

Airflow discovers this through the ``apache_airflow_provider`` entry point in pyproject.toml;
Airflow 3.2+ reads connection forms declaratively from here (``conn-fields``, ``ui-field-behaviour``).
"""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager validates and registers."""
    return {
        "package-name": "auth0-log-webhooks",
        "name": "Auth0 log webhooks",
        "description": "Deliver an Auth0 tenant's logs to a webhook.",
        "versions": ["0.1.0"],
        "hooks": [
            {
                "integration-name": "Auth0",
                "python-modules": [
                    "auth0_log_webhooks.hooks.auth0",
                    "auth0_log_webhooks.hooks.webhook",
                ],
            }
        ],
        "connection-types": [
            {
                "hook-class-name": "auth0_log_webhooks.hooks.auth0.Auth0Hook",
                "hook-name": "Auth0 Management API",
                "connection-type": "auth0",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {
                        "host": "Tenant domain",
                        "login": "Client ID",
                        "password": "Client secret",
                    },
                    "placeholders": {
                        "host": "your-tenant.eu.auth0.com",
                        "login": "machine-to-machine application's client id",
                        "password": "its client secret",
                        "port": "443",
                    },
                },
                "conn-fields": {
                    "audience": {
                        "label": "Audience",
                        "description": "Management API audience; default https://<tenant domain>/api/v2/",
                        "schema": {"type": ["string", "null"]},
                    },
                    "scheme": {
                        "label": "Scheme",
                        "description": "https (default); http is accepted only for loopback hosts (local emulator)",
                        "schema": {"type": ["string", "null"], "enum": ["https", "http", None]},
                    },
                },
            }
        ],
    }
