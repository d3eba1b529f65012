"""Auto-pause: a pipeline stops calling its receiver once failures persist past the limit its settings set.

The limit is ``pause_after_failures`` (messages in a row that failed, across runs) and/or
``pause_after_hours`` (how long messages have failed with none delivered), whichever comes first;
with neither set a pipeline never pauses. Each commit adds its run's failures (from the run's
circuit, :meth:`~auth0_log_webhooks.delivery.circuit.RunCircuit.tally`) to the streak; a run that
delivered a message restarts it. A paused pipeline reads and sends nothing: its checkpoint stays
after the last log settled, so the logs after it wait in Auth0 (within the tenant's retention) and
are delivered, from the checkpoint, by the first run after a resume.

The state is the pipeline's JSON Variable ``<dag_id>_auto_pause``, absent while the receiver is
fine::

    {"failing_messages": 7, "failing_since": "2026-12-03T15:00:00+00:00", "last_status": 401,
     "run_id": "scheduled__...", "paused_at": "2026-12-03T15:20:00+00:00", "checkpoint": "9002026...",
     "notice_sent": true}

Deleting it (or setting it to an empty value) resumes the pipeline and restarts the count: the
health page's Resume button and ``python -m auth0_log_webhooks resume <pipeline>`` do just that. A
value that is not such an object (a person edited it) is read as no streak at all, with a warning:
the pipeline then delivers, which loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auth0_log_webhooks.delivery.circuit import CircuitTally
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.wording import plural, when

RESUME_COMMAND = "python -m auth0_log_webhooks resume"


def state_variable(dag_id: str) -> str:
    """Return the Variable holding a pipeline's failure streak and, once paused, since when."""
    return f"{dag_id}_auto_pause"


@dataclass(frozen=True)
class PauseLimits:
    """When a pipeline pauses: after this many failing messages, or this many hours of failures (None: no limit)."""

    failures: int | None = None
    hours: float | None = None

    @classmethod
    def of(cls, config: PipelineConfig) -> PauseLimits:
        """Return the limits a run's settings set."""
        return cls(config.pause_after_failures, config.pause_after_hours)

    @property
    def active(self) -> bool:
        """Return whether either limit is set (otherwise the pipeline never pauses)."""
        return self.failures is not None or self.hours is not None

    def text(self) -> str:
        """Return the limits as a person reads them: ``5 failing messages or 24 hours of failures``."""
        parts = []
        if self.failures is not None:
            parts.append(plural(self.failures, "failing message"))
        if self.hours is not None:
            parts.append(f"{self.hours:g} hours of failures")
        return " or ".join(parts) or "none"


class PauseState(BaseModel):
    """The Variable ``<dag_id>_auto_pause``: the failure streak across runs and, once paused, since when."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    failing_messages: int = Field(ge=0, le=10**12)
    failing_since: datetime
    last_status: int | None = Field(default=None, ge=100, le=599)
    run_id: str | None = None
    paused_at: datetime | None = None
    checkpoint: str | None = None
    notice_sent: bool = False

    @property
    def paused(self) -> bool:
        """Return whether the pipeline is paused."""
        return self.paused_at is not None

    def dumps(self) -> str:
        """Return the Variable's JSON."""
        return self.model_dump_json()

    def last_answer(self) -> str:
        """Return what the receiver last answered: ``HTTP 401``, or ``no answer`` (a network error or timeout)."""
        return f"HTTP {self.last_status}" if self.last_status is not None else "no answer"


def parse_state(raw: str | None) -> tuple[PauseState | None, str | None]:
    """Return the state a Variable's value holds (None: no streak) and, for a value that is not one, why.

    Never raises: an empty value means resumed; anything that is not a state object is read as no
    streak, and the second value says what was wrong (for a warning naming the Variable).
    """
    if raw is None or not raw.strip() or raw.strip() == "{}":
        return None, None
    try:
        data = json.loads(raw)
    except ValueError:
        return None, "it is not JSON"
    if not isinstance(data, dict):
        return None, f"it holds a JSON {type(data).__name__}, not an object"
    try:
        state = PauseState.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(map(str, e["loc"])) or "value" for e in exc.errors()}))
        return None, f"these fields are missing or invalid: {fields}"
    if state.failing_since.tzinfo is None or (state.paused_at and state.paused_at.tzinfo is None):
        return None, "its dates carry no time zone"
    return state, None


def after_run(
    previous: PauseState | None,
    tally: CircuitTally,
    limits: PauseLimits,
    *,
    run_id: str,
    checkpoint: str | None,
    now: datetime,
) -> PauseState | None:
    """Return the streak after a run whose messages did what ``tally`` says (None: no streak).

    A run that delivered a message keeps only the failures after its last delivery; a run that
    sent nothing leaves the streak as it was. A paused state, or one that already counted this run
    (its commit run again), is returned as it is. The result is paused when the streak reaches a limit.
    """
    if previous is not None and (previous.paused or previous.run_id == run_id):
        return previous
    if tally.delivered:
        previous = None
    elif not tally.failures:
        return previous
    if not tally.failures:
        return None
    first = datetime.fromtimestamp(tally.failures[0], UTC)
    count = len(tally.failures) + (previous.failing_messages if previous else 0)
    since = previous.failing_since if previous else first
    state = PauseState(
        failing_messages=count,
        failing_since=since,
        last_status=tally.last_status,
        run_id=run_id,
    )
    if reached(state, limits, now):
        return state.model_copy(update={"paused_at": now, "checkpoint": checkpoint})
    return state


def reached(state: PauseState, limits: PauseLimits, now: datetime) -> bool:
    """Return whether a streak has reached a limit: the count, or the time since its first failure."""
    by_count = limits.failures is not None and state.failing_messages >= limits.failures
    by_time = limits.hours is not None and now - state.failing_since >= timedelta(hours=limits.hours)
    return by_count or by_time


def resume_steps(dag_id: str) -> str:
    """Return the three ways to resume, as a sentence."""
    return (
        f"resume with `{RESUME_COMMAND} {dag_id}`, the Resume button of the health page (Auth0 log webhooks in the "
        f"Airflow menu) or by deleting the Variable {state_variable(dag_id)}"
    )


def status_sentence(dag_id: str, state: PauseState) -> str:
    """Return where a paused pipeline stands, as the health page shows it: since when, why, the checkpoint."""
    since = _utc(state.paused_at or state.failing_since)
    return (
        f"{dag_id} is paused since {since} after {plural(state.failing_messages, 'failing message')} "
        f"(the last: {state.last_answer()}); it reads and sends nothing until it is resumed, and its checkpoint "
        f"stays at {when(state.checkpoint)}. Fix the webhook first: the next run after the resume delivers every "
        "log from the checkpoint."
    )


def paused_sentence(dag_id: str, state: PauseState) -> str:
    """Return what each run of a paused pipeline logs (and skips with): since when, why, and how to resume."""
    since = _utc(state.paused_at or state.failing_since)
    return (
        f"{dag_id} is paused since {since} after {plural(state.failing_messages, 'failing message')} "
        f"(the last: {state.last_answer()}); this run reads and sends nothing and the checkpoint stays at "
        f"{when(state.checkpoint)}. Fix the webhook, then {resume_steps(dag_id)}; the next run delivers every log "
        "from the checkpoint."
    )


def pause_notice(
    dag_id: str, state: PauseState, limits: PauseLimits, webhook_conn_id: str, expires: datetime | None
) -> str:
    """Return the one notice a pipeline sends when it pauses: the numbers, the dates and how to resume.

    :param expires: when the oldest undelivered log leaves the tenant's retention (None: unknown).
    """
    at = state.paused_at or state.failing_since
    lost = (
        f"Auth0 deletes the oldest of them at {_utc(expires)} (the tenant's retention); resume before then. "
        if expires
        else ""
    )
    return (
        f"{dag_id} paused at {_utc(at)}: {plural(state.failing_messages, 'message')} in a row failed since "
        f"{_utc(state.failing_since)} (the last: {state.last_answer()}), past its limit of {limits.text()}. "
        f"It stopped calling the webhook of connection {webhook_conn_id} and stopped reading Auth0; its runs "
        f"skip until it is resumed. The checkpoint stays at {when(state.checkpoint)}: the logs after it wait in "
        f"Auth0. {lost}Fix the webhook, then {resume_steps(dag_id)}; the next run delivers every log from the "
        "checkpoint."
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def resume(pipeline: Pipeline, variables: Variables) -> str:
    """Resume a pipeline (delete its state Variable: the count of failing messages restarts); return what was done.

    The CLI and the health page's Resume button call this; deleting the Variable by hand does the same.
    """
    dag_id = pipeline.dag_id
    name = state_variable(dag_id)
    raw = variables.get(name)
    state, _ = parse_state(raw)
    if raw is not None:
        variables.delete(name)
    if state is None or not state.paused:
        streak = (
            f" {plural(state.failing_messages, 'message')} in a row had failed; that count is back to 0."
            if state
            else ""
        )
        return f"{dag_id} is not paused; nothing to resume.{streak}"
    checkpoint = variables.get(pipeline.checkpoint_variable)
    return (
        f"Resumed {dag_id}: it was paused since {_utc(state.paused_at or state.failing_since)} after "
        f"{plural(state.failing_messages, 'failing message')}. Its next run delivers every log from the checkpoint "
        f"at {when(checkpoint)}; to start one now, trigger the DAG {dag_id} (`airflow dags trigger {dag_id}`)."
    )
