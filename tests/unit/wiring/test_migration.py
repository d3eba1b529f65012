"""Migrating from the extensions: an exported configuration becomes connections, Variables, the pool and an entry."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml

from auth0_log_webhooks.__main__ import main as package_main
from auth0_log_webhooks.pipelines.pipelines_file import parse_entries
from auth0_log_webhooks.wiring.migration import MigrationError, migrate, parse_export

pytestmark = pytest.mark.unit

EXPORT = """\
# the Authentication API Webhooks extension's settings
WEBHOOK_URL=https://hooks.example.com/auth0
export AUTHORIZATION="Bearer s3cr3t-token"
SEND_AS_BATCH=false
BATCH_SIZE=50
LOG_TYPES=s, f, fp
LOG_LEVEL=3
WEBHOOK_CONCURRENT_CALLS=8
AUTH0_DOMAIN=tenant.eu.auth0.com
AUTH0_CLIENT_ID=client-id
AUTH0_CLIENT_SECRET=client-s3cr3t
SLACK_INCOMING_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/s3cr3t-slack
SLACK_SEND_SUCCESS=true
EXTENSION_SECRET=platform
"""


def test_an_export_becomes_connections_variables_the_pool_and_an_entry_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "extension.env"
    source.write_text(EXPORT)

    assert package_main(["migrate", str(source), "--out", str(tmp_path / "out")]) == 0

    out = tmp_path / "out"
    settings = yaml.safe_load((out / "airflow_settings.yaml").read_text())["airflow"]
    connections = {c["conn_id"]: c for c in settings["connections"]}
    assert connections["auth0_default"]["conn_host"] == "tenant.eu.auth0.com"
    assert connections["auth0_default"]["conn_password"] == "client-s3cr3t"
    assert connections["auth0_webhook_default"]["conn_password"] == "Bearer s3cr3t-token"
    assert connections["auth0_alerts_default"]["conn_type"] == "auth0_webhook"
    assert settings["pools"][0]["pool_slot"] == 8
    variables = {v["variable_name"]: json.loads(v["variable_value"]) for v in settings["variables"]}
    assert variables["auth0_authentication_api_webhooks_config"] == {
        "send_as_batch": False,
        "batch_size": 50,
        "log_types": ["s", "f", "fp"],
        "log_level": 3,
    }
    assert variables["auth0_log_webhooks_alerts"] == {"notify_success": True}
    assert json.loads((out / "variables.json").read_text())["auth0_log_webhooks_alerts"] == '{"notify_success": true}'
    assert json.loads((out / "connections.json").read_text())["auth0_default"]["login"] == "client-id"
    loaded = parse_entries(yaml.safe_load((out / "pipelines_entry.yaml").read_text()), out / "pipelines_entry.yaml")
    assert list(loaded.pipelines) == ["auth0_authentication_api_webhooks"]
    assert loaded.pipelines["auth0_authentication_api_webhooks"].pool_slots == 8  # a delivery task per slot
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in out.iterdir())  # they hold secrets

    printed = capsys.readouterr().out
    assert "pool auth0_webhooks: 8 slots" in printed
    assert "skipped EXTENSION_SECRET" in printed
    assert "s3cr3t" not in printed


def test_endpoints_make_a_management_pipeline_with_the_originals_substring_rule() -> None:
    made = migrate({"WEBHOOK_URL": "https://hooks.example.com/mgmt", "AUTH0_API_ENDPOINTS": "users, connections"})

    assert made.entry["kind"] == "management"
    assert made.connections[0]["conn_id"] == "auth0_mgmt_webhook_default"
    config = json.loads(made.variables[-1]["variable_value"])
    assert config == {"api_endpoints": ["users", "connections"], "endpoint_match": "substring"}


def test_an_unknown_key_stops_the_migration_with_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "extension.env"
    source.write_text("WEBHOOK_URL=https://hooks.example.com\nBATCHSIZE=50\nFAVOURITE_COLOUR=blue\n")

    assert package_main(["migrate", str(source), "--out", str(tmp_path / "out")]) == 1

    error = capsys.readouterr().err
    assert "'BATCHSIZE' (did you mean BATCH_SIZE?)" in error
    assert "'FAVOURITE_COLOUR' is not a setting of the extensions" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("WEBHOOK_URL=https://x\nBATCH_SIZE=5000\n", r"batch_size: Input should be less than or equal to 1000"),
        ("BATCH_SIZE=50\n", "WEBHOOK_URL is missing"),
        ("WEBHOOK_URL=https://x\njust words\n", "line 2 is not KEY=VALUE"),
        ("WEBHOOK_URL=https://x\nWEBHOOK_URL=https://y\n", "line 2 sets WEBHOOK_URL a second time"),
    ],
    ids=["bad-value", "no-webhook", "not-key-value", "twice"],
)
def test_what_cannot_be_migrated_is_named(text: str, message: str) -> None:
    with pytest.raises(MigrationError, match=message):
        migrate(parse_export(text))


def test_the_package_prints_its_usage_for_an_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert package_main(["nothing"]) == 2
    assert "migrate FILE" in capsys.readouterr().err
