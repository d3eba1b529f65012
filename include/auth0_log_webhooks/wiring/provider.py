"""Airflow provider metadata: registers the ``auth0`` and ``auth0_webhook`` connection types and their forms.

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
            },
            WEBHOOK_CONNECTION_TYPE,
        ],
    }


WEBHOOK_CONNECTION_TYPE: dict[str, Any] = {
    "hook-class-name": "auth0_log_webhooks.hooks.webhook.WebhookHook",
    "hook-name": "Webhook endpoint (Standard Webhooks)",
    "connection-type": "auth0_webhook",
    "ui-field-behaviour": {
        "hidden-fields": ["schema", "port"],
        "relabeling": {
            "host": "Webhook URL",
            "login": "Basic auth user (optional)",
            "password": "Authorization header",
        },
        "placeholders": {
            "host": "https://hooks.example.com/auth0/logs",
            "login": "empty: the field below is sent as the Authorization header",
            "password": "Bearer abc... (sent verbatim; with a user above, the Basic auth password)",
        },
    },
    "conn-fields": {
        "signing_secret": {
            "label": "Signing secret(s)",
            "description": "Standard Webhooks secret whsec_...; several, space separated, while rotating. "
            "Empty: requests are not signed.",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "timeout": {
            "label": "Timeout (seconds)",
            "description": "How long to wait for the webhook's answer. Empty: 30 seconds.",
            "schema": {"type": ["number", "null"], "minimum": 1},
        },
        "verify": {
            "label": "Verify TLS certificates",
            "description": "On unless the endpoint is a test server with a self-signed certificate.",
            "schema": {"type": "boolean", "default": True},
        },
    },
}
