"""Pipelines: one entry per logs-to-webhook DAG, built from the same parts.

A pipeline names its connections, pool, schedule, Variables, the kind of logs it delivers and how
it shapes them. Pipelines are declared in a pipelines file (see
:mod:`auth0_log_webhooks.pipelines.pipelines_file`); the DAG files only turn entries into DAGs, so another
tenant, receiver or kind is a new entry, not new code. Everything a pipeline keeps (checkpoint,
config Variable, staging, dead letters) is named after its id, so pipelines share nothing but the
pools they are given.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig
from auth0_log_webhooks.pipelines.filters import LogFilter, TypeLevelFilter
from auth0_log_webhooks.pipelines.management_api import EndpointFilter, reshape
from auth0_log_webhooks.pipelines.pii import PiiRule, hash_key_from_connection, redactor

DEFAULT_POOL = "auth0_webhooks"
DEFAULT_POOL_SLOTS = 5
"""The slots the project creates its pool with (airflow_settings.yaml, the migration: WEBHOOK_CONCURRENT_CALLS)."""
DEFAULT_SCHEDULE = "*/5 * * * *"


def spread_safety_net(dag_id: str) -> str:
    """Event mode's default safety net: hourly, at a minute of the pipeline's own (a hash of its id).

    Each safety-net run reads the tenant and starts two or three task processes. At every 5 minutes on the same
    tick, 100 pipelines in event mode started 100 runs together, and a tenant with live traffic waited behind
    them (docs/benchmarks.md, benchmark 12); hourly at minutes spread by id, 100 pipelines start about 2 a minute.
    """
    return f"{zlib.crc32(dag_id.encode()) % 60} * * * *"


Kind = Literal["authentication", "management"]
Transform = Callable[[Mapping[str, Any]], Mapping[str, Any]]


def _unchanged(log: Mapping[str, Any]) -> Mapping[str, Any]:
    return log


@dataclass(frozen=True)
class Pipeline:
    """A logs-to-webhook pipeline's static definition (its settings live in its config Variable).

    ``settings`` are the pipeline's defaults for its config Variable, which overrides them (and
    trigger params override both). ``pii`` rules apply to every log before it is staged; a ``hash``
    rule takes its key from the password of connection ``pii_key_conn_id``.
    """

    dag_id: str
    title: str
    kind: Kind = "authentication"
    auth0_conn_id: str = "auth0_default"
    webhook_conn_id: str = "auth0_webhook_default"
    pool: str = DEFAULT_POOL
    pool_slots: int = DEFAULT_POOL_SLOTS
    """The slots the pool was created with: a run maps this many delivery tasks unless ``max_delivery_tasks`` says."""
    schedule: str | None = DEFAULT_SCHEDULE
    safety_net: str | None = DEFAULT_SCHEDULE
    """Event mode's cron schedule beside the watcher, so logs it missed are still read (None: the watcher alone).
    The pipelines file's default is the entry's ``schedule`` if it sets one, else :func:`spread_safety_net`."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    pii: tuple[PiiRule, ...] = ()
    pii_key_conn_id: str | None = None
    mode: Literal["cron", "event"] = "cron"
    """``cron``: runs on the schedule; ``event``: also when the tenant has new logs (see triggers.py)."""
    event_reads_per_minute: float = 12.0
    """Event mode's read budget: polls of the tenant a minute, within Auth0's 100 shared with the runs."""
    run_deadline_minutes: float | None = 60.0
    """Notify when a run is still not done this long after it was queued (an Airflow deadline alert); None: off."""

    @property
    def checkpoint_variable(self) -> str:
        """Return the Variable holding the last log id committed."""
        return f"{self.dag_id}_checkpoint"

    @property
    def config_variable(self) -> str:
        """Return the JSON Variable holding the pipeline's settings."""
        return f"{self.dag_id}_config"

    def select(self, config: PipelineConfig) -> LogFilter:
        """Return the run's log filter: by type, level and category, or Management API operations by endpoint.

        :raises ConfigError: if the settings hold a filter of the other kind.
        """
        if self.kind == "management":
            if config.log_types or config.log_level is not None or config.log_categories:
                raise ConfigError(
                    f"{self.dag_id} is a management pipeline: it delivers sapi and fapi logs only, so log_types, "
                    "log_level and log_categories do not apply; select endpoints with api_endpoints instead"
                )
            return EndpointFilter(config.api_endpoints, config.endpoint_match)
        if config.api_endpoints:
            raise ConfigError(
                f"{self.dag_id} is an authentication pipeline: api_endpoints applies to management pipelines only"
            )
        return TypeLevelFilter(config.log_types, config.log_level, categories=config.log_categories)

    def transformer(self) -> Transform:
        """Return what turns a selected log into what is staged: PII rules, then the kind's payload shape.

        :raises ValueError: naming the connection, if a hash rule's key is missing.
        """
        steps: list[Transform] = []
        if self.pii:
            key = hash_key_from_connection(self.pii_key_conn_id) if any(r.method == "hash" for r in self.pii) else None
            steps.append(redactor(self.pii, key))
        if self.kind == "management":
            steps.append(reshape)
        if not steps:
            return _unchanged

        def transform(log: Mapping[str, Any]) -> Mapping[str, Any]:
            for step in steps:
                log = step(log)
            return log

        return transform


AUTHENTICATION_API = Pipeline(
    dag_id="auth0_authentication_api_webhooks",
    title="Authentication API webhooks",
)
"""The first default entry of the packaged pipelines file ``data/pipelines.yaml`` (a test keeps the two equal)."""

MANAGEMENT_API = Pipeline(
    dag_id="auth0_management_api_webhooks",
    title="Management API webhooks",
    kind="management",
    webhook_conn_id="auth0_mgmt_webhook_default",
)
"""The second default entry of the packaged pipelines file ``data/pipelines.yaml`` (a test keeps the two equal)."""
