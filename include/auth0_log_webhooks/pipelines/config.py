"""A pipeline's settings: the JSON config Variable, overridable per run by trigger params.

Every field has a default, so an absent Variable means "the original extension's defaults".
Validation errors name the Variable (or param) and the field. The original's names of the settings
(``BATCH_SIZE``, ``LOG_TYPES``, ...) are accepted as aliases; an unknown key is refused with where an
original setting lives here, or the nearest name (``pipelines/originals.py``).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auth0_log_webhooks.log_ids import parse_start_from
from auth0_log_webhooks.pipelines.log_types import parse_categories, parse_level
from auth0_log_webhooks.pipelines.management_api import normalise_endpoints
from auth0_log_webhooks.pipelines.originals import VARIABLE_ALIASES, suggestion

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A setting is invalid; the message names the source and the field."""


class ParamsError(ConfigError):
    """A run's trigger params are invalid: the same params fail again, so retrying the run cannot help."""


def default_root(kind: str) -> str:
    """Return ``file://<AIRFLOW_HOME>/auth0_log_webhooks/<kind>``, the local default of a storage URL."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{os.path.abspath(home)}/auth0_log_webhooks/{kind}"


class PipelineConfig(BaseModel):
    """What to fetch, how to cut it and how to deliver it. See docs/configuration.md, "Settings"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_types: tuple[str, ...] = Field(default=(), description="codes to send (LOG_TYPES)")
    log_level: int | None = Field(default=None, description="0 debug .. 4 critical, and above (LOG_LEVEL)")
    log_categories: tuple[str, ...] = Field(
        default=(), description="Log Streams categories such as auth.login.fail, or a Log Stream's filters JSON"
    )
    batch_size: int = Field(default=100, ge=1, le=1000, description="logs per batch (BATCH_SIZE)")
    send_as_batch: bool = Field(default=True, description="one POST per batch, else one per log")
    start_from: str | None = Field(default=None, description="log id or ISO date to start from")
    api_endpoints: tuple[str, ...] = Field(default=(), description="Management API endpoints (AUTH0_API_ENDPOINTS)")
    endpoint_match: Literal["segment", "substring"] = "segment"

    format: Literal["json_array", "json_lines", "cloudevents"] = "json_array"
    log_streams_envelope: bool = False
    add_log_id: bool = Field(
        default=False,
        description="management pipelines: add each log's log_id to the original's {date, request, response}",
    )
    cloudevents_source: str | None = Field(
        default=None,
        min_length=1,
        description="format cloudevents: the events' source; default urn:auth0:<the auth0 connection's domain>",
    )
    gzip: bool = False

    max_attempts: int = Field(default=6, ge=1, le=50)
    backoff_initial_seconds: float = Field(default=1.0, ge=0, le=3600)
    backoff_max_seconds: float = Field(default=60.0, ge=0, le=3600)
    retry_after_max_seconds: float = Field(default=300.0, ge=0, le=21600)
    rate_limited_max_seconds: float = Field(
        default=600.0,
        ge=0,
        le=7200,
        description="the most one message waits in all for a receiver's 429 answers before each further 429 counts "
        "as a failed attempt",
    )

    circuit_breaker_failures: int = Field(
        default=5, ge=1, le=10_000, description="failed messages in a row that stop the run's sending"
    )
    pause_after_failures: int | None = Field(
        default=None,
        ge=1,
        le=1_000_000,
        description="auto-pause: failing messages in a row, across runs, after which the pipeline pauses; "
        "null: never on a count",
    )
    pause_after_hours: float | None = Field(
        default=None,
        gt=0,
        le=24 * 365,
        description="auto-pause: hours of failing messages with none delivered, after which the pipeline pauses; "
        "null: never on time",
    )
    expired_checkpoint: Literal["fail", "restart_from_oldest"] = Field(
        default="fail", description="when the checkpoint is older than the oldest log the tenant retains"
    )

    max_logs_per_run: int = Field(default=100_000, ge=1, le=10_000_000)
    max_delivery_tasks: int | None = Field(
        default=None, ge=1, le=1024, description="mapped delivery tasks per run; unset: the pipeline's pool_slots"
    )
    min_batches_per_task: int = Field(default=10, ge=1, le=10_000, description="fewer tasks for small runs")
    deliver_while_fetching: bool = Field(
        default=True,
        description="the fetch task sends each batch as soon as it is staged, one request at a time, while it reads "
        "on; the delivery tasks send what it left. false: every batch waits for the whole fetch",
    )
    completeness_manifests: bool = Field(
        default=False,
        description="after each committed run, send the receiver a signed manifest of the run's messages, chained",
    )
    staging_url: str | None = None
    staging_retention_days: float = Field(default=7.0, gt=0, le=365)
    dead_letter_url: str | None = None
    delivery_log_retention_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="days the delivery log (every attempt of every message, beside the staging) is kept; 0: none",
    )

    def with_tenant(self, tenant_domain: Callable[[], str]) -> PipelineConfig:
        """Return the settings with ``cloudevents_source`` set to ``urn:auth0:<tenant domain>`` (as Auth0 Event
        Streams name a tenant) when the format is ``cloudevents`` and none is set; ``tenant_domain`` is only
        called then."""
        if self.format != "cloudevents" or self.cloudevents_source:
            return self
        return self.model_copy(update={"cloudevents_source": f"urn:auth0:{tenant_domain().strip().lower()}"})

    @model_validator(mode="after")
    def _envelope_fits_the_format(self) -> PipelineConfig:
        if self.format == "cloudevents" and self.log_streams_envelope:
            raise ValueError(
                "log_streams_envelope does not apply to format cloudevents: each event already carries its log "
                "in data; set one of them"
            )
        return self

    def delivery_tasks(self, pool_slots: int) -> int:
        """Return the most delivery tasks a run maps: ``max_delivery_tasks`` if set, else the pool's slots.

        One task per slot starts every delivery task in the first wave: a task costs a process and a
        DAG parse, and more tasks than slots wait for a slot and pay that again (benchmark 6).
        """
        return self.max_delivery_tasks or pool_slots

    @property
    def staging_root(self) -> str:
        """Return where batches wait between fetch and delivery (``staging_url`` or the local default)."""
        return self.staging_url or default_root("staging")

    @property
    def dead_letter_root(self) -> str:
        """Return where refused messages are kept (``dead_letter_url`` or the local default)."""
        return self.dead_letter_url or default_root("dead_letters")

    @model_validator(mode="before")
    @classmethod
    def _original_names(cls, data: Any) -> Any:
        """Accept the original extension's names (``BATCH_SIZE`` for ``batch_size``, ...)."""
        if not isinstance(data, Mapping) or not any(key in VARIABLE_ALIASES for key in data):
            return data
        both = [f"{key} and {VARIABLE_ALIASES[key]}" for key in data if VARIABLE_ALIASES.get(key) in data]
        if both:
            raise ValueError(f"{', '.join(both)} are the same setting under two names; keep one")
        return {VARIABLE_ALIASES.get(key, key): value for key, value in data.items()}

    @field_validator("log_types", mode="before")
    @classmethod
    def _split_codes(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [part for part in re.split(r"[\s,]+", value) if part]
        if isinstance(value, list | tuple):
            bad = [code for code in value if not isinstance(code, str) or not _CODE.match(code)]
            if bad:
                raise ValueError(f"not log type codes: {bad!r}")
        return value

    @field_validator("log_categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        return parse_categories(value)

    @field_validator("api_endpoints", mode="before")
    @classmethod
    def _split_endpoints(cls, value: Any) -> Any:
        if value is None:
            return ()
        if isinstance(value, str):  # the original's comma-separated AUTH0_API_ENDPOINTS
            value = value.split(",")
        if isinstance(value, list | tuple) and all(isinstance(entry, str) for entry in value):
            return normalise_endpoints(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ValueError("must be 0-4 or a level name, not a boolean")
        return parse_level(value)

    @field_validator("start_from", mode="before")
    @classmethod
    def _start_from(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ValueError("must be a log id or an ISO 8601 date")
        parse_start_from(value)
        return value.strip()


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(loc) for loc in item["loc"]) or "(top level)"
        if item["type"] == "extra_forbidden":  # its value may be a secret (AUTHORIZATION): not repeated
            parts.append(f"{field}: {suggestion(field, PipelineConfig.model_fields)}")
            continue
        message = item["msg"].removeprefix("Value error, ")
        got = f" (got {item.get('input')!r})" if item["loc"] else ""  # the whole mapping: it may hold secrets
        parts.append(f"{field}: {message}{got}")
    return "; ".join(parts)


def parse_variable(raw: str | Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """Parse the config Variable's JSON text into a mapping.

    :raises ConfigError: if the text is not a JSON object.
    """
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"Variable {name} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"Variable {name} must hold a JSON object, not {type(value).__name__}")
    return value


def resolve_config(
    variable: Mapping[str, Any],
    params: Mapping[str, Any] | None,
    variable_name: str,
) -> PipelineConfig:
    """Merge the Variable with the run's params (params win when not None) and validate.

    :raises ConfigError: naming the Variable or the params, and every bad field.
    """
    try:
        base = PipelineConfig.model_validate(dict(variable))
    except ValidationError as exc:
        raise ConfigError(f"Variable {variable_name} is invalid: {_describe(exc)}") from None
    overrides = {
        key: value for key, value in (params or {}).items() if key in PipelineConfig.model_fields and value is not None
    }
    if not overrides:
        return base
    try:
        return PipelineConfig.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ParamsError(f"Trigger params are invalid: {_describe(exc)}") from None
