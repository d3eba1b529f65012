"""Which settings a run's trigger conf may set: the declared params only, and which of them make a run one-off.

Airflow merges every key of a run's conf into its params, declared or not. A pipeline run accepts
only the params its trigger form declares (:func:`run_params`); any other key fails the run before it
reads anything (:func:`check_run_params`), naming the key, the nearest declared name and the declared
ones. Every setting of :class:`~auth0_log_webhooks.pipelines.config.PipelineConfig` is in exactly one
group, so a new setting has to be placed in one (a unit test checks it):

* ``SELECTING``: what a run selects or where it starts reading. A run that changes one is one-off: it
  delivers what it selects and never moves the checkpoint (see ``run/kinds.py``).
* ``SHAPING``: how messages are cut and sent, and how much one run reads. A run may change them and
  stays an ordinary run.
* ``NEVER_PER_RUN``: storage, retry and safety settings. Only the config Variable (or the pipelines
  file) sets them: a run that chose its own dead-letter folder would keep letters the replay never
  reads.

Besides the settings, a run may hold the ``RUN_MODE`` params, which change what the run does rather
than how: ``preview`` renders the next messages into the fetch task's log and sends, stages and
commits nothing (``steps/preview.py``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from auth0_log_webhooks.pipelines.config import ParamsError

SELECTING = ("start_from", "log_types", "log_level", "log_categories", "api_endpoints", "endpoint_match")
"""Per-run params that change what a run selects or where it reads from: they make the run one-off."""

SHAPING = ("batch_size", "send_as_batch", "format", "max_logs_per_run")
"""Per-run params that shape messages or cap the run: the run stays an ordinary one."""

NEVER_PER_RUN = (
    "log_streams_envelope",
    "cloudevents_source",
    "add_log_id",
    "gzip",
    "max_attempts",
    "backoff_initial_seconds",
    "backoff_max_seconds",
    "retry_after_max_seconds",
    "rate_limited_max_seconds",
    "circuit_breaker_failures",
    "pause_after_failures",
    "pause_after_hours",
    "completeness_manifests",
    "expired_checkpoint",
    "max_delivery_tasks",
    "min_batches_per_task",
    "deliver_while_fetching",
    "staging_url",
    "staging_retention_days",
    "dead_letter_url",
    "delivery_log_retention_days",
)
"""Settings only the config Variable or the pipelines file sets; a run's conf may not."""

RUN_MODE = ("preview",)
"""Per-run params that are not settings: what the run does (``preview``: render, send nothing)."""

MAX_PREVIEW_MESSAGES = 100
"""The most messages one preview renders (each may carry a batch of up to 1,000 logs)."""

KIND_ONLY = {
    "log_types": "authentication",
    "log_level": "authentication",
    "log_categories": "authentication",
    "api_endpoints": "management",
    "endpoint_match": "management",
}
"""Filters that exist for one kind of pipeline only (the other kind's DAG does not offer them)."""


class UndeclaredParamError(ParamsError):
    """A run's conf holds keys its DAG does not declare; the run reads nothing."""


def run_params(kind: str) -> tuple[str, ...]:
    """Return the params a pipeline of this kind declares, in the trigger form's order."""
    return tuple(name for name in (*SELECTING, *SHAPING, *RUN_MODE) if KIND_ONLY.get(name, kind) == kind)


def check_run_params(params: Mapping[str, Any] | None, kind: str, dag_id: str, config_variable: str) -> None:
    """Refuse a run whose params hold a key its DAG does not declare.

    :raises UndeclaredParamError: naming each such key, the nearest declared name, where a setting that
        is never per run belongs, and the keys a run's conf may hold.
    """
    allowed = run_params(kind)
    unknown = sorted(str(key) for key in (params or {}) if key not in allowed)
    if not unknown:
        return
    problems = [_why(key, allowed, kind, config_variable) for key in unknown]
    raise UndeclaredParamError(
        f"The run's conf holds {_keys(unknown)} that {dag_id} does not take, so the run stopped before reading any "
        f"log: {'; '.join(problems)}. A run's conf may hold only {', '.join(allowed)}. Trigger the run again "
        "without the other keys."
    )


def preview_messages(params: Mapping[str, Any] | None) -> int:
    """Return how many messages a run's ``preview`` param asks to render; 0 for an ordinary run.

    :raises ParamsError: naming the param and its range, if the value is not a whole number from 0 to
        :data:`MAX_PREVIEW_MESSAGES` (``true`` asks for one message).
    """
    value = (params or {}).get("preview")
    if value is None or value is False or value == "":
        return 0
    if value is True:
        return 1
    try:
        count = int(value) if isinstance(value, int | str) else -1
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_PREVIEW_MESSAGES:
        raise ParamsError(
            f"The preview param must be a number of messages from 1 to {MAX_PREVIEW_MESSAGES} (0 or empty: an "
            f"ordinary run), not {value!r}; trigger the run again with a number in that range"
        )
    return count


def _keys(keys: list[str]) -> str:
    quoted = ", ".join(repr(key) for key in keys)
    return f"the key {quoted}" if len(keys) == 1 else f"the keys {quoted}"


def _why(key: str, allowed: tuple[str, ...], kind: str, config_variable: str) -> str:
    """One key's explanation: never per run, another kind's filter, or a near miss of a declared name."""
    if key in NEVER_PER_RUN:
        return f"{key!r} is never set per run (set it in Variable {config_variable})"
    if key in KIND_ONLY:
        return f"{key!r} filters {KIND_ONLY[key]} pipelines only, and this is a {kind} pipeline"
    close = difflib.get_close_matches(key.lower(), allowed, n=1, cutoff=0.6)
    return f"{key!r} is not a param (did you mean {close[0]!r}?)" if close else f"{key!r} is not a param"
