"""Pipelines: one entry per logs-to-webhook DAG, built from the same parts.

A pipeline names its connections, pool, schedule, Variables and how it selects and shapes logs.
The DAG files only turn an entry into a DAG, so a second pipeline (Management API webhooks,
another tenant, another receiver) is a new entry, not new code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.filters import LogFilter, TypeLevelFilter

DEFAULT_POOL = "auth0_webhooks"


def _authentication_api_filter(config: PipelineConfig) -> LogFilter:
    return TypeLevelFilter(config.log_types, config.log_level)


def _unchanged(log: Mapping[str, Any]) -> Mapping[str, Any]:
    return log


@dataclass(frozen=True)
class Pipeline:
    """A logs-to-webhook pipeline's static definition (its settings live in its config Variable)."""

    dag_id: str
    title: str
    auth0_conn_id: str = "auth0_default"
    webhook_conn_id: str = "auth0_webhook_default"
    pool: str = DEFAULT_POOL
    schedule: str = "*/5 * * * *"
    mode: str = "cron"
    """``cron``: runs on the schedule; ``event``: also when the tenant has new logs (see triggers.py)."""
    event_reads_per_minute: float = 12.0
    """Event mode's read budget: polls of the tenant a minute, within Auth0's 100 shared with the runs."""
    select: Callable[[PipelineConfig], LogFilter] = _authentication_api_filter
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]] = _unchanged

    @property
    def checkpoint_variable(self) -> str:
        """Return the Variable holding the last log id committed."""
        return f"{self.dag_id}_checkpoint"

    @property
    def config_variable(self) -> str:
        """Return the JSON Variable holding the pipeline's settings."""
        return f"{self.dag_id}_config"


AUTHENTICATION_API = Pipeline(
    dag_id="auth0_authentication_api_webhooks",
    title="Authentication API webhooks",
)

PIPELINES: dict[str, Pipeline] = {p.dag_id: p for p in (AUTHENTICATION_API,)}
