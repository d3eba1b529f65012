"""The declarative pipelines file: one entry per pipeline DAG, by default the one the package ships.

Each entry is validated on its own, so a bad entry is reported (naming the entry and the field)
while the others still load: ``dags/auth0_log_pipelines.py`` builds a DAG per valid entry and
``dags/auth0_pipelines_file_check.py`` fails its import with the errors, which the Airflow UI shows
as an import error. Which file is read: the Airflow setting ``[auth0_log_webhooks] pipelines_file``
(environment variable ``AIRFLOW__AUTH0_LOG_WEBHOOKS__PIPELINES_FILE``), else the environment
variable ``AUTH0_LOG_WEBHOOKS_PIPELINES``, else ``auth0_log_webhooks/data/pipelines.yaml`` in the package.

``python -m auth0_log_webhooks.pipelines.pipelines_file check [PATH]`` validates a file (exit status 1 and the
errors if it is invalid); ``... schema`` prints the JSON Schema (shipped beside the default file as
``data/pipelines.schema.json``, for editors).
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import (
    DEFAULT_POOL,
    DEFAULT_POOL_SLOTS,
    DEFAULT_SCHEDULE,
    Pipeline,
    spread_safety_net,
)
from auth0_log_webhooks.pipelines.pii import PiiPathError, PiiRule, parse_path

ENV_VAR = "AUTH0_LOG_WEBHOOKS_PIPELINES"
CONFIG_SECTION = "auth0_log_webhooks"
CONFIG_OPTION = "pipelines_file"
"""The Airflow setting ``[auth0_log_webhooks] pipelines_file`` naming the pipelines file (it wins over ``ENV_VAR``)."""
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "pipelines.yaml"
SCHEMA_PATH = DEFAULT_PATH.with_name("pipelines.schema.json")
PROJECT_DAGS: Mapping[str, str] = {
    "auth0_webhooks_replay": "the replay DAG",
    "auth0_log_webhooks_alarms": "the alarms DAG",
    "auth0_log_webhooks_daily_report": "the daily report DAG",
}
"""The project's other DAGs (``wiring/dag_files.py`` builds them; a test keeps the two equal): not pipeline ids."""
FILTER_FIELDS = ("log_types", "log_level", "log_categories", "api_endpoints", "endpoint_match")
ENTRY_SETTINGS = ("format", "completeness_manifests")
"""Settings an entry sets by a field of its own (with a label and help in the schema), not under ``settings``."""
KIND_FILTERS = {
    "authentication": ("log_types", "log_level", "log_categories"),
    "management": ("api_endpoints", "endpoint_match"),
}


class PipelinesFileError(ValueError):
    """The pipelines file, or entries in it, are invalid; the message names each entry and field."""


class Filters(BaseModel):
    """Which logs the pipeline delivers (defaults of its config Variable, which may override them)."""

    model_config = ConfigDict(extra="forbid")

    log_types: list[str] | str | None = Field(None, description="authentication: type codes (LOG_TYPES)")
    log_level: int | str | None = Field(None, description="authentication: 0 debug .. 4 critical (LOG_LEVEL)")
    log_categories: list[str | dict[str, str]] | str | None = Field(
        None,
        title="Log Streams categories",
        description=(
            "authentication: Auth0 Log Streams categories such as auth.login.fail, user.success, or a Log "
            'Stream\'s filters pasted as is ([{"type": "category", "name": "auth.login.fail"}]); '
            "a union with log_types and log_level"
        ),
    )
    api_endpoints: list[str] | str | None = Field(
        None, description="management: endpoints such as users, connections (AUTH0_API_ENDPOINTS)"
    )
    endpoint_match: Literal["segment", "substring"] | None = Field(
        None, description="management: segment (default) or substring, the original's rule"
    )


class PiiField(BaseModel):
    """One field to mask, hash or remove before staging."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="dotted path into the Auth0 log; * one level, ** any levels (e.g. **.email)")
    method: Literal["mask", "hash", "remove"]

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        try:
            parse_path(value)
        except PiiPathError as exc:
            raise ValueError(str(exc)) from None
        return value


class Pii(BaseModel):
    """Personal data rules of a pipeline."""

    model_config = ConfigDict(extra="forbid")

    hash_key_connection: str | None = Field(
        None, description="connection whose password is the HMAC-SHA256 key of hash rules"
    )
    fields: list[PiiField] = Field(min_length=1)

    @model_validator(mode="after")
    def _key_for_hashes(self) -> Pii:
        if any(f.method == "hash" for f in self.fields) and not self.hash_key_connection:
            raise ValueError("hash_key_connection is required when a field is hashed (the key is its password)")
        return self


class AutoPause(BaseModel):
    """When the pipeline stops calling its receiver: failures persisting past a count or a time, whichever first."""

    model_config = ConfigDict(extra="forbid", title="Auto-pause")

    after_failures: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        title="Pause after failing messages",
        description="pause after this many messages in a row failed (refused or out of attempts), across runs; "
        "a delivered message restarts the count",
    )
    after_hours: float | None = Field(
        None,
        gt=0,
        le=24 * 365,
        title="Pause after hours of failures",
        description="pause when messages have failed for this many hours with none delivered in between",
    )

    def settings(self) -> dict[str, Any]:
        """Return the config Variable's keys these set (``pause_after_failures``, ``pause_after_hours``)."""
        given = {"pause_after_failures": self.after_failures, "pause_after_hours": self.after_hours}
        return {key: value for key, value in given.items() if value is not None}


class Entry(BaseModel):
    """One pipeline: a DAG with its own checkpoint, config Variable, staging and dead letters."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,199}$",
        description="the DAG id; names the checkpoint and config Variables, staging and dead letters",
    )
    kind: Literal["authentication", "management"]
    title: str | None = None
    auth0_connection: str = Field("auth0_default", min_length=1)
    webhook_connection: str = Field(min_length=1)
    pool: str = Field(DEFAULT_POOL, min_length=1)
    pool_slots: int = Field(
        DEFAULT_POOL_SLOTS,
        ge=1,
        le=1024,
        description="the slots you gave the pool: each run maps this many delivery tasks (unless max_delivery_tasks)",
    )
    schedule: str | None = Field(DEFAULT_SCHEDULE, description="cron expression; null: triggered runs only")
    safety_net: str | None = Field(
        None,
        description="event mode: the cron schedule beside the watcher, so logs it missed are still read; default: "
        "the schedule if the entry sets one, else hourly at a minute of the pipeline's own; null: the watcher alone",
    )
    mode: Literal["cron", "event"] = Field(
        "cron", description="event: also run within seconds of new logs (a trigger watches the tenant); cron kept"
    )
    event_reads_per_minute: float = Field(
        12.0, gt=0, le=60, description="event mode: polls of the tenant a minute (Auth0 allows 100, runs included)"
    )
    run_deadline_minutes: float | None = Field(
        60.0, gt=0, description="notify when a run is still not done this long after it was queued; null: never"
    )
    filters: Filters = Field(default_factory=Filters)
    format: Literal["json_array", "json_lines", "cloudevents"] | None = Field(
        None, description="json_array (default), json_lines, or cloudevents (CloudEvents 1.0, structured JSON)"
    )
    completeness_manifests: bool | None = Field(
        None,
        title="Completeness manifests",
        description=(
            "true: after each committed run, send the receiver one more signed message (header webhook-kind: "
            "manifest) listing the run's messages, hash-chained to the earlier ones, so the receiver kit can name "
            "any message it lost (docs/guarantees.md); default false"
        ),
    )
    delivery_log_retention_days: int | None = Field(
        None,
        ge=0,
        le=3650,
        title="Delivery log retention (days)",
        description=(
            "how long the delivery log keeps every attempt of every message, for "
            "python -m auth0_log_webhooks trace (default 30); 0 keeps none"
        ),
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="defaults of the config Variable")
    auto_pause: AutoPause | None = Field(
        None,
        title="Auto-pause",
        description="stop calling the receiver (and reading) after failures persist past a count or a time; "
        "one notice; resume with python -m auth0_log_webhooks resume <id>, the health page or by deleting "
        "the Variable <id>_auto_pause. Unset: never pauses",
    )
    pii: Pii | None = None

    @field_validator("schedule", "safety_net")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression (e.g. '*/5 * * * *'), or null for triggered runs")
        return value

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        for other, what in PROJECT_DAGS.items():
            if id_key(value) == id_key(other):
                same = "is" if value == other else "differs only in case or punctuation from"
                raise ValueError(f"{value!r} {same} the id of {what} ({other!r}) of this project; choose another id")
        return value

    @field_validator("settings")
    @classmethod
    def _settings(cls, value: dict[str, Any]) -> dict[str, Any]:
        misplaced = sorted(set(value) & {*FILTER_FIELDS, *ENTRY_SETTINGS})
        if misplaced:
            raise ValueError(
                f"set {', '.join(misplaced)} at the entry's filters or the entry itself, not under settings"
            )
        pausing = sorted(set(value) & {"pause_after_failures", "pause_after_hours"})
        if pausing:
            raise ValueError(
                f"set {', '.join(pausing)} as auto_pause.after_failures / auto_pause.after_hours, not under settings"
            )
        try:
            PipelineConfig.model_validate(value)
        except ValidationError as exc:
            raise ValueError(_describe(exc, "settings.")) from None
        return value

    @model_validator(mode="after")
    def _filters_fit_the_kind(self) -> Entry:
        given = self.filters.model_dump(exclude_none=True)
        foreign = sorted(set(given) - set(KIND_FILTERS[self.kind]))
        if foreign:
            raise ValueError(
                f"filters.{foreign[0]} does not apply to a {self.kind} pipeline; its filters are "
                f"{' and '.join(KIND_FILTERS[self.kind])}"
            )
        try:
            PipelineConfig.model_validate(given)
        except ValidationError as exc:
            raise ValueError(_describe(exc, "filters.")) from None
        return self

    def event_safety_net(self) -> str | None:
        """Event mode's cron schedule: ``safety_net`` if the entry sets it (null too), else its ``schedule`` if
        set, else :func:`~auth0_log_webhooks.pipelines.definition.spread_safety_net`."""
        if "safety_net" in self.model_fields_set:
            return self.safety_net
        if "schedule" in self.model_fields_set:
            return self.schedule
        return spread_safety_net(self.id)

    def to_pipeline(self) -> Pipeline:
        """Return the pipeline this entry declares."""
        settings = {**self.settings, **self.filters.model_dump(exclude_none=True)}
        if self.format:
            settings["format"] = self.format
        if self.completeness_manifests is not None:
            settings["completeness_manifests"] = self.completeness_manifests
        if self.delivery_log_retention_days is not None:
            settings["delivery_log_retention_days"] = self.delivery_log_retention_days
        if self.auto_pause:
            settings.update(self.auto_pause.settings())
        return Pipeline(
            dag_id=self.id,
            title=self.title or self.id,
            kind=self.kind,
            auth0_conn_id=self.auth0_connection,
            webhook_conn_id=self.webhook_connection,
            pool=self.pool,
            pool_slots=self.pool_slots,
            schedule=self.schedule,
            safety_net=self.event_safety_net(),
            mode=self.mode,
            event_reads_per_minute=self.event_reads_per_minute,
            run_deadline_minutes=self.run_deadline_minutes,
            settings=settings,
            pii=tuple(PiiRule(f.path, f.method) for f in self.pii.fields) if self.pii else (),
            pii_key_conn_id=self.pii.hash_key_connection if self.pii else None,
        )


class PipelinesFile(BaseModel):
    """The pipelines file: ``pipelines:``, a list of entries (used for the JSON Schema)."""

    model_config = ConfigDict(extra="forbid", title="auth0-log-webhooks pipelines")

    pipelines: list[Entry]


def _describe(error: ValidationError, prefix: str = "") -> str:
    parts = []
    for item in error.errors():
        where = prefix + ".".join(str(loc) for loc in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


@dataclass
class LoadedPipelines:
    """What a pipelines file holds: its valid pipelines by id, and one error per bad entry."""

    path: Path
    pipelines: dict[str, Pipeline] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        """Raise one error listing every problem, if there is any.

        :raises PipelinesFileError: naming the file, each bad entry and its field.
        """
        if self.errors:
            problems = "\n".join(f"- {error}" for error in self.errors)
            raise PipelinesFileError(
                f"{self.path} has {len(self.errors)} invalid pipeline entr{'y' if len(self.errors) == 1 else 'ies'} "
                f"(the other pipelines still run; fix these and the DAGs appear):\n{problems}"
            )


def pipelines_path() -> Path:
    """Return the pipelines file in use.

    The Airflow setting ``[auth0_log_webhooks] pipelines_file`` if set, else ``$AUTH0_LOG_WEBHOOKS_PIPELINES``,
    else the default file the package ships (:data:`DEFAULT_PATH`).
    """
    from airflow.sdk import conf

    configured = conf.get(CONFIG_SECTION, CONFIG_OPTION, fallback=None)
    return Path(configured or os.environ.get(ENV_VAR) or DEFAULT_PATH)


def _entry_name(index: int, raw: Any) -> str:
    ident = raw.get("id") if isinstance(raw, Mapping) else None
    return f"entry {index + 1}" + (f" ({ident!r})" if isinstance(ident, str) else "")


def parse_entries(document: Any, path: Path) -> LoadedPipelines:
    """Validate each entry of a parsed pipelines document on its own; keep the valid, report the rest."""
    loaded = LoadedPipelines(path)
    if not isinstance(document, Mapping) or not isinstance(document.get("pipelines"), list):
        loaded.errors.append(f"the file must be a mapping with a 'pipelines' list (see {DEFAULT_PATH})")
        return loaded
    seen: dict[str, tuple[int, str]] = {}  # id_key -> (index, id) of the entry that took it
    unknown = sorted(str(key) for key in document if key != "pipelines")
    if unknown:
        loaded.errors.append(f"unknown top-level keys {unknown}: only 'pipelines' is read")
    for index, raw in enumerate(document["pipelines"]):
        name = _entry_name(index, raw)
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as exc:
            loaded.errors.append(f"{name}: {_describe(exc)}")
            continue
        earlier = seen.get(id_key(entry.id))
        if earlier is not None:
            other = f"entry {earlier[0] + 1} ({earlier[1]!r})"
            clash = (
                f"is already used by {other}"
                if earlier[1] == entry.id
                else f"clashes with {other}: both are {id_key(entry.id)} once case and punctuation are set aside, "
                f"so they would share the environment overrides {schedule_env_var(entry.id)} and "
                f"{mode_env_var(entry.id)} and collide in case-insensitive stores"
            )
            loaded.errors.append(
                f"{name}: id: {entry.id!r} {clash}; each pipeline needs its own id (its checkpoint, config "
                "Variable, staging and dead letters are named after it)"
            )
            continue
        seen[id_key(entry.id)] = (index, entry.id)
        loaded.pipelines[entry.id] = entry.to_pipeline()
    return loaded


FAST_YAML_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (a fifth of the pure-Python parser's time on a file of 100
entries), else the pure-Python one: the same documents either way."""


def read_yaml(text: str) -> Any:
    """Parse YAML with :data:`FAST_YAML_LOADER`; an error is raised by the pure-Python parser, whose messages name
    the character at fault (libyaml's say "found character that cannot start any token", not which).

    :raises yaml.YAMLError: if ``text`` is not valid YAML.
    """
    try:
        return yaml.load(text, Loader=FAST_YAML_LOADER)  # noqa: S506 (a safe loader, libyaml's or PyYAML's)
    except yaml.YAMLError:
        return yaml.safe_load(text)


@functools.lru_cache(maxsize=8)
def _parsed(path: Path, text: str) -> LoadedPipelines:
    try:
        document = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return LoadedPipelines(path, errors=[f"not valid YAML{where}: {problem}"])
    return parse_entries(document, path)


def load_pipelines(path: Path | None = None) -> LoadedPipelines:
    """Read and validate a pipelines file (default :func:`pipelines_path`); never raise for its content.

    The file is read at every call, and parsed and validated once per process for each content it has had: a
    parse of every DAG file reads it once per file, the health page once per request.
    """
    path = path or pipelines_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return LoadedPipelines(path, errors=[f"cannot read the file: {exc.strerror or exc}"])
    parsed = _parsed(path, text)
    return LoadedPipelines(parsed.path, dict(parsed.pipelines), list(parsed.errors))


def pipeline_named(name: str) -> Pipeline:
    """Return a valid pipeline of the pipelines file by id.

    :raises ValueError: naming the known pipelines (and the file's errors, if any).
    """
    loaded = load_pipelines()
    if name in loaded.pipelines:
        return loaded.pipelines[name]
    known = ", ".join(sorted(loaded.pipelines)) or "none"
    errors = f"; the file's errors: {' | '.join(loaded.errors)}" if loaded.errors else ""
    raise ValueError(f"unknown pipeline {name!r}; known: {known} (the pipelines file {loaded.path}){errors}")


_ID = re.compile(r"[^A-Za-z0-9]")


def id_key(dag_id: str) -> str:
    """Return what two ids must not share: upper case, every character but letters and digits an ``_``.

    Environment overrides (``<ID>_SCHEDULE``), case-insensitive object stores and databases see
    ``a.b``, ``a-b``, ``A_B`` and ``a_b`` as one name.
    """
    return _ID.sub("_", dag_id).upper()


def schedule_env_var(dag_id: str) -> str:
    """Return the environment variable that overrides a pipeline's schedule (``<ID>_SCHEDULE``)."""
    return id_key(dag_id) + "_SCHEDULE"


def mode_env_var(dag_id: str) -> str:
    """Return the environment variable that overrides a pipeline's mode (``<ID>_MODE``)."""
    return id_key(dag_id) + "_MODE"


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the pipelines file."""
    return PipelinesFile.model_json_schema()


def main(argv: Sequence[str] | None = None) -> int:
    """``check [PATH]``: validate a file; ``schema``: print the JSON Schema."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "check"
    if command == "schema":
        print(json.dumps(json_schema(), indent=2))
        return 0
    if command != "check":
        print("usage: python -m auth0_log_webhooks.pipelines.pipelines_file check [PATH] | schema", file=sys.stderr)
        return 2
    loaded = load_pipelines(Path(args[0]) if args else None)
    try:
        loaded.raise_errors()
    except PipelinesFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    names = ", ".join(f"{p.dag_id} ({p.kind})" for p in loaded.pipelines.values())
    print(f"{loaded.path}: {len(loaded.pipelines)} pipelines: {names}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
