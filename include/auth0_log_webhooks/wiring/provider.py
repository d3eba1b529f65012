"""Airflow provider metadata: the connection types and their forms, hooks, trigger, notifier, plugin and setting.

Airflow discovers this through the ``apache_airflow_provider`` entry point in pyproject.toml
(``airflow providers list`` shows the package); Airflow 3.2+ reads connection forms declaratively
from here (``conn-fields``, ``ui-field-behaviour``). The setting ``[auth0_log_webhooks] pipelines_file``
is declared here so ``airflow config list`` shows it with its description.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

DISTRIBUTION = "auth0-log-webhooks"
INTEGRATION = "Auth0"
RELEASED_VERSIONS = ("0.1.0",)
"""Versions released before this one, newest first (the provider metadata lists every version)."""


def get_provider_info() -> dict[str, Any]:
    """Return the provider description Airflow's ProvidersManager validates and registers."""
    return {
        "package-name": DISTRIBUTION,
        "name": "Auth0 log webhooks",
        "description": "Ship an Auth0 tenant's logs to webhooks: checkpointed, pooled, signed, nothing lost.",
        "versions": [version(DISTRIBUTION), *RELEASED_VERSIONS],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://auth0.com/docs/api/management/v2/logs/get-logs",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "auth0_log_webhooks.hooks.auth0",
                    "auth0_log_webhooks.hooks.webhook",
                ],
            }
        ],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["auth0_log_webhooks.event_mode.trigger"]}],
        "notifications": ["auth0_log_webhooks.monitoring.notices.WebhookNotifier"],
        "plugins": [
            {
                "name": "auth0_log_webhooks_health",
                "plugin-class": "auth0_log_webhooks.wiring.health_plugin.Auth0HealthPlugin",
            },
            {
                "name": "auth0_log_webhooks_connection_test",
                "plugin-class": "auth0_log_webhooks.wiring.connection_test_button.ConnectionTestPlugin",
            },
        ],
        "config": CONFIG,
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
                        # No null choice: the form would show it as "null"; an unset scheme means https.
                        "schema": {
                            "type": "string",
                            "enum": ["https", "http"],
                            "default": "https",
                            "values_display": {
                                "https": "https",
                                "http": "http (loopback hosts only: a local emulator)",
                            },
                        },
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
        "oauth2_token_url": {
            "label": "OAuth2 token URL",
            "description": "Instead of a fixed Authorization header: the receiver's OAuth2 token endpoint "
            "(client credentials grant), e.g. https://auth.example.com/oauth/token. Each request then carries "
            "'Bearer <token>', a token per worker process, renewed before it expires and once on a 401. Empty: no "
            "OAuth2.",
            "schema": {"type": ["string", "null"]},
        },
        "oauth2_client_id": {
            "label": "OAuth2 client id",
            "description": "The client id the token endpoint knows (with a token URL only).",
            "schema": {"type": ["string", "null"]},
        },
        "oauth2_client_secret": {
            "label": "OAuth2 client secret",
            "description": "The client's secret, sent to the token URL only (never to the webhook, never logged).",
            "schema": {"type": ["string", "null"], "format": "password"},
        },
        "oauth2_scope": {
            "label": "OAuth2 scope (optional)",
            "description": "Space-separated scopes to ask for. Empty: none asked, the endpoint's default.",
            "schema": {"type": ["string", "null"]},
        },
        "oauth2_audience": {
            "label": "OAuth2 audience (optional)",
            "description": "The API the token is for, as Auth0 and some others ask (audience=...). Empty: not sent.",
            "schema": {"type": ["string", "null"]},
        },
        "rate_limit_per_second": {
            "label": "Rate cap (requests a second)",
            "description": "The most requests a second this receiver gets, across every delivery task, run, replay "
            "and pipeline that uses this connection; a receiver's 429 with Retry-After pauses them all. Empty: no "
            "cap (the pool still bounds the calls in flight).",
            "schema": {"type": ["number", "null"], "exclusiveMinimum": 0},
        },
        "rate_limit_store": {
            "label": "Rate cap store",
            "description": "Where the senders share the cap. Empty: a file under $AIRFLOW_HOME, enough when every "
            "worker process runs on one machine (LocalExecutor, one Celery worker host). Workers on several "
            "machines: the Redis they can all reach, e.g. redis://redis:6379/0.",
            "schema": {"type": ["string", "null"]},
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
        "allow_private_network": {
            "label": "Allow a private network address",
            "description": "Off: the Webhook URL may not reach a loopback, private (10/8, 172.16/12, 192.168/16) "
            "or other non-public address, whatever its name resolves to. Turn on only for a receiver on your own "
            "network (link-local and cloud metadata addresses stay refused).",
            "schema": {"type": "boolean", "default": False},
        },
        "allow_insecure_http": {
            "label": "Allow plain http",
            "description": "Off: the Webhook URL must be https (http only to localhost), since every request carries "
            "the Authorization header and the logs. Turn on only inside a network you trust.",
            "schema": {"type": "boolean", "default": False},
        },
    },
}


CONFIG: dict[str, Any] = {
    "auth0_log_webhooks": {
        "description": "Settings of the Auth0 log webhooks pipelines.",
        "options": {
            "pipelines_file": {
                "description": "The pipelines file: one DAG per entry. Empty: the environment variable "
                "AUTH0_LOG_WEBHOOKS_PIPELINES, else the example file the package ships (two pipelines on the "
                "connections auth0_default, auth0_webhook_default and auth0_mgmt_webhook_default).",
                "version_added": "0.2.0",
                "type": "string",
                "example": "/opt/airflow/config/auth0_pipelines.yaml",
                "default": "",
            }
        },
    }
}
