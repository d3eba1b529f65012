"""Migrate from Auth0's extensions: turn an exported configuration (``KEY=VALUE`` lines) into this project's
connections, Variables, pool and pipelines entry.

``python -m auth0_log_webhooks migrate FILE [--kind authentication|management] [--id DAG_ID] [--out DIR]``
reads the extension's settings (``WEBHOOK_URL=...``, ``BATCH_SIZE=50``; blank lines, ``#`` comments,
``export`` and quotes are allowed), checks every value the way a run would, and writes to ``DIR``
(``migrated`` by default, files readable by their owner only, as they hold the secrets):

* ``airflow_settings.yaml``: the connections, the pool and the Variables, in the format of the
  project's own ``airflow_settings.yaml`` (``astro dev start`` applies it);
* ``connections.json`` and ``variables.json``: the same for ``airflow connections import`` and
  ``airflow variables import`` on an Airflow without the Astro CLI;
* ``pipelines_entry.yaml``: the pipeline's entry for the pipelines file.

It prints what it made, secrets masked. A key it does not know stops it (nothing is written) with the
nearest original name; a setting with no place here (the extension platform's own) is listed as skipped.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE
from auth0_log_webhooks.pipelines.config import ConfigError, resolve_config
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, DEFAULT_POOL, MANAGEMENT_API
from auth0_log_webhooks.pipelines.originals import NOT_NEEDED, ORIGINAL_NAMES, VARIABLE_ALIASES
from auth0_log_webhooks.pipelines.pipelines_file import Entry

ALERTS_CONNECTION = "auth0_alerts_default"
SECRET_KEYS = frozenset({"AUTH0_CLIENT_SECRET", "AUTHORIZATION", "SLACK_INCOMING_WEBHOOK_URL"})
TRUE = ("true", "1", "yes", "on")
POOL_DESCRIPTION = "Concurrent webhook calls of the Auth0 log webhooks DAGs (WEBHOOK_CONCURRENT_CALLS)"


class MigrationError(ValueError):
    """The exported configuration cannot be migrated; the message names each line or key and what to do."""


@dataclass
class Migration:
    """What a migration made: Astro-style settings, a pipelines entry, and notes for the person."""

    connections: list[dict[str, Any]] = field(default_factory=list)
    pools: list[dict[str, Any]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    entry: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def parse_export(text: str) -> dict[str, str]:
    """Return the ``KEY=VALUE`` pairs of an exported configuration.

    :raises MigrationError: naming each line that is not ``KEY=VALUE``, and each key given twice.
    """
    values: dict[str, str] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"line {number} is not KEY=VALUE")
            continue
        try:
            words = shlex.split(value.strip())
        except ValueError:
            words = [value.strip()]
        value = " ".join(words) if len(words) > 1 else (words[0] if words else "")
        if key in values:
            problems.append(f"line {number} sets {key} a second time")
        values[key] = value
    if problems:
        raise MigrationError("The exported configuration has lines it cannot read: " + "; ".join(problems) + ".")
    return values


def migrate(values: Mapping[str, str], *, kind: str | None = None, dag_id: str | None = None) -> Migration:
    """Map the extension's settings to connections, the pool, the Variables and a pipelines entry.

    ``kind`` defaults to ``management`` when ``AUTH0_API_ENDPOINTS`` is set, else ``authentication``.

    :raises MigrationError: naming each unknown key (with the nearest original name) and each invalid value.
    """
    unknown = [key for key in values if key.strip().upper() not in ORIGINAL_NAMES]
    if unknown:
        raise MigrationError(
            "Unknown settings, so nothing was written: "
            + "; ".join(_unknown(key) for key in unknown)
            + ". Fix or remove them and run migrate again."
        )
    given = {key.strip().upper(): value for key, value in values.items() if value != ""}
    kind = kind or ("management" if "AUTH0_API_ENDPOINTS" in given else "authentication")
    base = MANAGEMENT_API if kind == "management" else AUTHENTICATION_API
    dag_id = dag_id or base.dag_id
    made = Migration()
    _auth0_connection(given, made)
    _webhook_connection(given, base.webhook_conn_id, made)
    _alerts(given, made)
    slots = _integer(given.get("WEBHOOK_CONCURRENT_CALLS"), 5)
    made.pools.append({"pool_name": DEFAULT_POOL, "pool_slot": slots, "pool_description": POOL_DESCRIPTION})
    made.variables.append(_config_variable(given, kind, dag_id))
    if "DAILY_REPORT_TIME" in given:
        made.notes.append(
            f"DAILY_REPORT_TIME {given['DAILY_REPORT_TIME']} (a local hour): the report is the DAG "
            "auth0_log_webhooks_daily_report (docs/operations.md, Notifications); set its hour there, in UTC"
        )
    skipped = sorted(key for key in given if key in NOT_NEEDED)
    if skipped:
        made.notes.append(f"skipped {', '.join(skipped)}: the extension platform's own settings, not needed here")
    made.entry = _entry(kind, dag_id, base.webhook_conn_id, slots)
    return made


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key.strip().upper(), ORIGINAL_NAMES, n=1, cutoff=0.6)
    return f"{key!r} (did you mean {close[0]}?)" if close else f"{key!r} is not a setting of the extensions"


def _integer(value: str | None, default: int) -> int:
    """The original's ``parseInt(value, 10) || default``."""
    try:
        return int(str(value).strip()) or default
    except ValueError:
        return default


def _auth0_connection(given: Mapping[str, str], made: Migration) -> None:
    if "AUTH0_DOMAIN" not in given:
        made.notes.append("no AUTH0_DOMAIN: connection auth0_default was not made (the extension got it injected)")
        return
    domain = given["AUTH0_DOMAIN"].removeprefix("https://").strip("/")
    made.connections.append(
        {
            "conn_id": AUTHENTICATION_API.auth0_conn_id,
            "conn_type": "auth0",
            "conn_host": domain,
            "conn_login": given.get("AUTH0_CLIENT_ID", ""),
            "conn_password": given.get("AUTH0_CLIENT_SECRET", ""),
            "conn_extra": {"audience": f"https://{domain}/api/v2/"},
        }
    )


def _webhook_connection(given: Mapping[str, str], conn_id: str, made: Migration) -> None:
    if "WEBHOOK_URL" not in given:
        raise MigrationError("WEBHOOK_URL is missing: the extension's receiver is the one setting migrate needs.")
    connection: dict[str, Any] = {"conn_id": conn_id, "conn_type": "auth0_webhook", "conn_host": given["WEBHOOK_URL"]}
    if "AUTHORIZATION" in given:
        connection["conn_password"] = given["AUTHORIZATION"]
    made.connections.append(connection)
    made.notes.append(
        f"connection {conn_id}: add a signing_secret to its extra to sign every request (Standard Webhooks)"
    )


def _alerts(given: Mapping[str, str], made: Migration) -> None:
    if "SLACK_INCOMING_WEBHOOK_URL" in given:
        made.connections.append(
            {
                "conn_id": ALERTS_CONNECTION,
                "conn_type": "auth0_webhook",
                "conn_host": given["SLACK_INCOMING_WEBHOOK_URL"],
            }
        )
    if "SLACK_SEND_SUCCESS" in given:
        success = given["SLACK_SEND_SUCCESS"].strip().lower() in TRUE
        made.variables.append(
            {"variable_name": ALERTS_VARIABLE, "variable_value": json.dumps({"notify_success": success})}
        )


def _config_variable(given: Mapping[str, str], kind: str, dag_id: str) -> dict[str, Any]:
    """The pipeline's config Variable, each value checked as a run reads it."""
    settings: dict[str, Any] = {VARIABLE_ALIASES[key]: value for key, value in given.items() if key in VARIABLE_ALIASES}
    if kind == "management" and "api_endpoints" in settings:
        settings["endpoint_match"] = "substring"  # the original's rule; segment is stricter (docs/migration.md)
    if kind == "management":
        for name in ("log_types", "log_level"):
            settings.pop(name, None)  # the management extension did not offer them
    name = f"{dag_id}_config"
    try:
        config = resolve_config(settings, None, name)
    except ConfigError as exc:
        raise MigrationError(
            f"A setting's value is invalid ({exc}; the names are this project's, BATCH_SIZE is batch_size). Fix the "
            "value in the exported configuration and run migrate again."
        ) from None
    value = {key: _plain(getattr(config, key)) for key in settings}
    return {"variable_name": name, "variable_value": json.dumps(value)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _entry(kind: str, dag_id: str, webhook: str, slots: int) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": dag_id,
        "kind": kind,
        "title": "Management API webhooks" if kind == "management" else "Authentication API webhooks",
        "auth0_connection": AUTHENTICATION_API.auth0_conn_id,
        "webhook_connection": webhook,
        "pool": DEFAULT_POOL,
        "pool_slots": slots,  # one delivery task per slot
        "schedule": "*/5 * * * *",
    }
    try:
        Entry.model_validate(entry)
    except ValidationError as exc:
        raise MigrationError(f"The pipelines entry would be invalid: {exc.errors()[0]['msg']}") from None
    return entry


def describe(made: Migration, out: Path | None = None) -> str:
    """What the migration made, as lines a person reads; secrets masked."""
    lines = [
        f"Made {len(made.connections)} connections, {len(made.variables)} Variables, 1 pool and 1 pipelines entry:"
    ]
    for connection in made.connections:
        password = "" if not connection.get("conn_password") else ", password ******"
        host = connection["conn_host"] if connection["conn_id"] != ALERTS_CONNECTION else "******"
        lines.append(f"  connection {connection['conn_id']} ({connection['conn_type']}): {host}{password}")
    for pool in made.pools:
        lines.append(f"  pool {pool['pool_name']}: {pool['pool_slot']} slots (WEBHOOK_CONCURRENT_CALLS)")
    for variable in made.variables:
        lines.append(f"  Variable {variable['variable_name']} = {variable['variable_value']}")
    lines.append(f"  pipelines entry {made.entry['id']} ({made.entry['kind']})")
    lines += [f"Note: {note}." for note in made.notes]
    if out is not None:
        lines.append(
            f"Wrote {out}/airflow_settings.yaml (astro dev start applies it), {out}/connections.json and "
            f"{out}/variables.json (airflow connections import / airflow variables import), and "
            f"{out}/pipelines_entry.yaml: add it to your pipelines file (skip it if the entry {made.entry['id']} "
            "is there already; python -m auth0_log_webhooks.pipelines.pipelines_file check names and checks it)."
        )
    return "\n".join(lines)


def write(made: Migration, out: Path) -> None:
    """Write the migration's files to ``out``, readable by their owner only (they hold secrets)."""
    out.mkdir(parents=True, exist_ok=True)
    settings = {"airflow": {"connections": made.connections, "pools": made.pools, "variables": made.variables}}
    connections = {
        c["conn_id"]: {
            "conn_type": c["conn_type"],
            "host": c["conn_host"],
            "login": c.get("conn_login"),
            "password": c.get("conn_password"),
            "extra": json.dumps(c.get("conn_extra") or {}),
        }
        for c in made.connections
    }
    variables = {v["variable_name"]: v["variable_value"] for v in made.variables}
    files = {
        "airflow_settings.yaml": yaml.safe_dump(settings, sort_keys=False),
        "connections.json": json.dumps(connections, indent=2) + "\n",
        "variables.json": json.dumps(variables, indent=2) + "\n",
        "pipelines_entry.yaml": yaml.safe_dump({"pipelines": [made.entry]}, sort_keys=False),
    }
    for name, text in files.items():
        path = out / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    """``migrate FILE [--kind K] [--id DAG_ID] [--out DIR]``: exit 0 and a summary, or 1 and what to fix."""
    parser = argparse.ArgumentParser(
        prog="python -m auth0_log_webhooks migrate",
        description="Turn an Auth0 log extension's exported settings (KEY=VALUE lines) into connections, "
        "Variables, the pool and a pipelines entry.",
    )
    parser.add_argument("file", type=Path, help="the exported configuration: one KEY=VALUE a line")
    parser.add_argument("--kind", choices=["authentication", "management"], help="default: from the settings")
    parser.add_argument("--id", dest="dag_id", help="the pipeline's DAG id (default: the kind's usual one)")
    parser.add_argument("--out", type=Path, default=Path("migrated"), help="where to write (default: migrated)")
    args = parser.parse_args(argv)
    try:
        made = migrate(parse_export(args.file.read_text(encoding="utf-8")), kind=args.kind, dag_id=args.dag_id)
    except OSError as exc:
        print(
            f"Cannot read {args.file}: {exc.strerror}. Export the extension's settings to a file first.",
            file=sys.stderr,
        )
        return 1
    except MigrationError as exc:
        print(exc, file=sys.stderr)
        return 1
    write(made, args.out)
    print(describe(made, args.out))
    return 0
