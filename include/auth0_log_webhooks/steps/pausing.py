"""Auto-pause in the steps: a paused pipeline's runs skip; each commit counts its run's failures and may pause.

The rule and the state are :mod:`~auth0_log_webhooks.delivery.auto_pause`'s; this module reads and
writes the state Variable, sends the one notice when a pipeline pauses (through the alerts
connection, :mod:`~auth0_log_webhooks.monitoring.notices`) and skips a paused pipeline's tasks.

A paused run's fetch reads nothing and skips (Airflow shows it skipped, the run succeeds), saying
since when and how to resume; its deliveries have nothing to send and skip; its commit skips with the
same sentence. So a dead receiver no longer fails a run every 5 minutes, and nothing is notified
again until a person resumes the pipeline. A notice that could not be sent when the pipeline paused
is sent by the next run's fetch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks.delivery import auto_pause
from auth0_log_webhooks.delivery.auto_pause import PauseLimits, PauseState
from auth0_log_webhooks.delivery.circuit import CircuitTally, RunCircuit
from auth0_log_webhooks.monitoring import notices
from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.task_io import PAUSED, TaskIO
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.wording import log_id_time, plural

log = logging.getLogger(__name__)

Send = Callable[[str, Mapping[str, object]], bool]


class PipelinePausedError(AirflowSkipException):
    """The pipeline is paused: the task skips (the run succeeds) and says since when and how to resume."""


def current_state(pipeline: Pipeline, variables: Variables) -> PauseState | None:
    """Return the pipeline's failure streak, or None; a Variable that holds no state is logged and ignored."""
    name = auto_pause.state_variable(pipeline.dag_id)
    state, problem = auto_pause.parse_state(variables.get(name))
    if problem:
        log.warning(
            "Variable %s is not an auto-pause state (%s), so %s is not paused and counts failures afresh; "
            "delete the Variable to silence this",
            name,
            problem,
            pipeline.dag_id,
        )
    return state


def stop_if_paused(pipeline: Pipeline, io: TaskIO, variables: Variables, *, send: Send | None = None) -> None:
    """Skip the fetch of a paused pipeline's run, first sending its pause notice if that is still unsent.

    :raises PipelinePausedError: if the pipeline is paused (nothing is read).
    """
    state = current_state(pipeline, variables)
    if state is None or not state.paused:
        return
    if not state.notice_sent:
        try:
            limits = PauseLimits.of(load_config(pipeline, None, variables))
        except ConfigError:  # the notice still goes out, without the limits the Variable may set
            limits = PauseLimits()
        _notify(pipeline, state, limits, variables, send)
    sentence = auto_pause.paused_sentence(pipeline.dag_id, state)
    log.warning("%s", sentence)
    io.keep(PAUSED, sentence)
    raise PipelinePausedError(sentence)


def skip_commit_if_paused(io: TaskIO) -> None:
    """Skip the commit of a run whose fetch skipped because the pipeline is paused.

    :raises PipelinePausedError: with the fetch's sentence.
    """
    sentence = io.kept("fetch", PAUSED)
    if sentence:
        log.info("%s", sentence)
        raise PipelinePausedError(str(sentence))


@dataclass(frozen=True)
class RunMessages:
    """What a run's messages did (its circuit's tally) and the auto-pause limits its settings set."""

    tally: CircuitTally
    limits: PauseLimits


def measure(run: RunInfo, staging_url: str | None) -> RunMessages | None:
    """Read what the run's messages did, before its commit tidies the staging away (None: nothing to read).

    Never raises: what cannot be read is logged, and the run is not counted.
    """
    if not staging_url:
        return None
    try:
        staging = RunStaging.for_run(staging_url, run.dag_id, run.run_id)
        plan = staging.read_plan()
        circuit = RunCircuit(staging.with_generation(plan["generation"]).generation_path / "circuit", 1)
        return RunMessages(circuit.tally(), PauseLimits.of(PipelineConfig.model_validate(plan["config"])))
    except Exception as exc:  # counting must never change what the run reports
        log.warning("Could not read run %s's failures for auto-pause: %s: %s", run.run_id, type(exc).__name__, exc)
        return None


def count_run(
    pipeline: Pipeline,
    run: RunInfo,
    messages: RunMessages | None,
    variables: Variables,
    *,
    send: Send | None = None,
    now: datetime | None = None,
) -> PauseState | None:
    """Add the run's failures to the pipeline's streak; pause it, with one notice, when a limit is reached.

    Called by the commit whether it succeeded or failed, with what :func:`measure` read before it. It
    never raises: a streak that could not be counted is logged, and the run's own outcome stands.

    :return: the streak after the run (None: none).
    """
    if messages is None:
        return None
    try:
        return _count(pipeline, run, messages, variables, send, now or datetime.now(UTC))
    except Exception as exc:  # counting must never change what the run reports
        log.warning("Could not count run %s's failures for auto-pause: %s: %s", run.run_id, type(exc).__name__, exc)
        return None


def _count(
    pipeline: Pipeline, run: RunInfo, messages: RunMessages, variables: Variables, send: Send | None, now: datetime
) -> PauseState | None:
    limits = messages.limits
    previous = current_state(pipeline, variables)
    if not limits.active and previous is None:
        return None
    checkpoint = variables.get(pipeline.checkpoint_variable)
    state = auto_pause.after_run(previous, messages.tally, limits, run_id=run.run_id, checkpoint=checkpoint, now=now)
    if state == previous:
        return state
    name = auto_pause.state_variable(pipeline.dag_id)
    if state is None:
        variables.delete(name)
        log.info("%s delivered again: its count of failing messages is back to 0", pipeline.dag_id)
        return None
    variables.set(name, state.dumps())
    if not state.paused:
        log.info(
            "%s: %s in a row failed since %s (auto-pause after %s)",
            pipeline.dag_id,
            plural(state.failing_messages, "message"),
            state.failing_since.strftime("%Y-%m-%d %H:%M:%S UTC"),
            limits.text(),
        )
        return state
    log.warning("%s", auto_pause.paused_sentence(pipeline.dag_id, state))
    return _notify(pipeline, state, limits, variables, send)


def _notify(
    pipeline: Pipeline, state: PauseState, limits: PauseLimits, variables: Variables, send: Send | None
) -> PauseState:
    """Send the pause notice and record that it was sent (a notice not sent is tried again by the next run)."""
    try:
        settings = notices.load_settings(variables)
    except ValueError as exc:
        log.warning("%s; the pause notice was not sent (the next run tries again)", exc)
        return state
    moment = log_id_time(state.checkpoint)
    expires = moment + timedelta(days=settings.retention_days) if moment else None
    text = auto_pause.pause_notice(pipeline.dag_id, state, limits, pipeline.webhook_conn_id, expires)
    payload = {"event": "paused", "text": text, "dag_id": pipeline.dag_id}
    if not (send or notices.send)(settings.conn_id, payload):
        return state
    sent = state.model_copy(update={"notice_sent": True})
    variables.set(auto_pause.state_variable(pipeline.dag_id), sent.dumps())
    return sent
