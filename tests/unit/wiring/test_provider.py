"""The installed package registers the `auth0` connection type, so the UI offers it with its form."""

from __future__ import annotations

import warnings

import pytest
from airflow.providers_manager import ProvidersManager

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def providers() -> ProvidersManager:
    """Airflow's registry of installed providers, as the API server builds the connection forms from it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ProvidersManager.hooks moved to the task SDK in 3.3; the UI still reads it
        manager = ProvidersManager()  # type: ignore[no-untyped-call]  # Airflow leaves its __init__ untyped
        _ = manager.hooks
    return manager


def test_the_auth0_connection_type_is_registered_with_its_hook(providers: ProvidersManager) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hook = providers.hooks["auth0"]
    assert hook is not None
    assert hook.hook_class_name == "auth0_log_webhooks.hooks.auth0.Auth0Hook"
    assert hook.connection_id_attribute_name == "auth0_conn_id"
    assert hook.connection_testable


def test_the_auth0_form_relabels_fields_and_offers_audience_and_scheme(providers: ProvidersManager) -> None:
    behaviour = providers.field_behaviours["auth0"]
    assert behaviour["relabeling"] == {"host": "Tenant domain", "login": "Client ID", "password": "Client secret"}
    assert {"extra__auth0__audience", "extra__auth0__scheme"} <= set(providers.connection_form_widgets)


def test_the_webhook_connection_type_is_registered_testable_with_labelled_fields(providers: ProvidersManager) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hook = providers.hooks["auth0_webhook"]
    assert hook is not None
    assert (hook.hook_class_name, hook.hook_name) == (
        "auth0_log_webhooks.hooks.webhook.WebhookHook",
        "Webhook endpoint (Standard Webhooks)",
    )
    assert hook.connection_testable
    behaviour = providers.field_behaviours["auth0_webhook"]
    assert behaviour["relabeling"]["host"] == "Webhook URL"
    assert behaviour["relabeling"]["password"] == "Authorization header"
    widgets = providers.connection_form_widgets
    fields = {"signing_secret", "timeout", "verify"}
    assert {f"extra__auth0_webhook__{name}" for name in fields} <= set(widgets)
    assert widgets["extra__auth0_webhook__signing_secret"].is_sensitive  # masked in the form and the API
