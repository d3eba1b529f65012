"""The installed package registers the `auth0` connection type, so the UI offers it with its form."""

from __future__ import annotations

import importlib
import warnings
from typing import cast

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
    oauth2 = ("oauth2_token_url", "oauth2_client_id", "oauth2_client_secret", "oauth2_scope", "oauth2_audience")
    assert {f"extra__auth0_webhook__{name}" for name in oauth2} <= set(widgets)
    rate_cap = ("rate_limit_per_second", "rate_limit_store")
    assert {f"extra__auth0_webhook__{name}" for name in rate_cap} <= set(widgets)
    assert widgets["extra__auth0_webhook__oauth2_client_secret"].is_sensitive


def test_the_provider_info_passes_airflows_own_schema_and_lists_every_part() -> None:
    import json
    from importlib.resources import files

    import jsonschema

    from auth0_log_webhooks.wiring.provider import get_provider_info

    info = get_provider_info()
    schema = json.loads(files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    assert [t["connection-type"] for t in info["connection-types"]] == ["auth0", "auth0_webhook"]
    assert info["triggers"][0]["python-modules"] == ["auth0_log_webhooks.event_mode.trigger"]
    assert info["notifications"] == ["auth0_log_webhooks.monitoring.notices.WebhookNotifier"]
    assert [p["plugin-class"] for p in info["plugins"]] == [
        "auth0_log_webhooks.wiring.health_plugin.Auth0HealthPlugin",
        "auth0_log_webhooks.wiring.connection_test_button.ConnectionTestPlugin",
    ]
    assert set(info["config"]["auth0_log_webhooks"]["options"]) == {"pipelines_file"}


def test_every_class_and_module_the_provider_info_names_imports() -> None:
    from airflow.sdk.module_loading import import_string  # type: ignore[attr-defined]  # not in its __all__

    from auth0_log_webhooks.wiring.provider import get_provider_info

    info = get_provider_info()
    names = [
        *(t["hook-class-name"] for t in info["connection-types"]),
        *info["notifications"],
        *(p["plugin-class"] for p in info["plugins"]),
    ]
    modules = [m for kind in ("hooks", "triggers") for entry in info[kind] for m in entry["python-modules"]]
    assert all(import_string(name) for name in names)
    assert all(importlib.import_module(module) for module in modules)


def test_the_versions_list_the_installed_version_first_the_one_in_the_package() -> None:
    from importlib.metadata import version

    import auth0_log_webhooks
    from auth0_log_webhooks.wiring.provider import get_provider_info

    versions = get_provider_info()["versions"]
    assert versions[0] == version("auth0-log-webhooks") == auth0_log_webhooks.__version__
    assert len(set(versions)) == len(versions)


def test_airflow_lists_the_plugin_notifier_and_trigger_of_the_provider(providers: ProvidersManager) -> None:
    providers.initialize_providers_plugins()
    providers.initialize_providers_notifications()
    providers.initialize_providers_triggers()
    assert sorted(p.name for p in providers.plugins if p.provider_name == "auth0-log-webhooks") == [
        "auth0_log_webhooks_connection_test",
        "auth0_log_webhooks_health",
    ]
    notifiers = cast(list[str], providers.notification)  # annotated as NotificationInfo, but class names
    assert "auth0_log_webhooks.monitoring.notices.WebhookNotifier" in notifiers
    assert any(t.package_name == "auth0-log-webhooks" for t in providers.trigger)


def test_the_health_page_plugin_is_registered_by_the_package_entry_point() -> None:
    from importlib.metadata import entry_points

    from auth0_log_webhooks.wiring.health_plugin import Auth0HealthPlugin

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "auth0_log_webhooks_health"]
    assert entry.load() is Auth0HealthPlugin


def test_the_connection_test_plugin_is_registered_by_the_package_entry_point() -> None:
    from importlib.metadata import entry_points

    from auth0_log_webhooks.wiring.connection_test_button import ConnectionTestPlugin, ZeroPortMiddleware

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "auth0_log_webhooks_connection_test"]
    assert entry.load() is ConnectionTestPlugin
    assert [m["middleware"] for m in ConnectionTestPlugin.fastapi_root_middlewares] == [ZeroPortMiddleware]


def test_the_webhook_form_offers_the_egress_switches_as_labelled_fields_with_help(providers: ProvidersManager) -> None:
    """Found in the UI: allow_private_network and allow_insecure_http existed only as JSON extras."""
    widgets = providers.connection_form_widgets
    for name, label in (
        ("allow_private_network", "Allow a private network address"),
        ("allow_insecure_http", "Allow plain http"),
    ):
        field = widgets[f"extra__auth0_webhook__{name}"].field
        assert field["schema"]["title"] == label
        assert field["schema"]["type"] == "boolean"
        assert field["value"] is False  # off unless a person turns it on
        assert field["description"].startswith("Off: ")


def test_no_choice_of_a_connection_form_shows_as_null(providers: ProvidersManager) -> None:
    """Found in the UI: the auth0 form's Scheme offered a choice labelled null."""
    for name, widget in providers.connection_form_widgets.items():
        if not name.startswith(("extra__auth0__", "extra__auth0_webhook__")):
            continue
        schema = widget.field["schema"]
        assert None not in schema.get("enum", []), name
    scheme = providers.connection_form_widgets["extra__auth0__scheme"].field
    assert (scheme["value"], scheme["schema"]["enum"]) == ("https", ["https", "http"])
