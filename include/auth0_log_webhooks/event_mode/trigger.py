"""Event mode: a trigger in the triggerer watches the tenant and an asset event schedules the pipeline.

:class:`Auth0LogsTrigger` is a ``BaseEventTrigger``: it runs in the triggerer (no worker slot), reads
one page of ``GET /api/v2/logs?from=<checkpoint>`` every ``poll_interval`` seconds (the read budget,
default 12 requests a minute, shared with the pipeline's own reads under Auth0's limit), and yields
an event when logs other than the pipeline's own traffic wait after the checkpoint (see
:mod:`auth0_log_webhooks.event_mode.new_logs` for what counts and the debounce). :func:`tenant_logs_asset` is the
asset whose ``AssetWatcher`` holds it; the pipeline DAG is scheduled on that asset *or* its cron
expression (``AssetOrTimeSchedule``), so a cron safety net still reads what the watcher missed
(``Pipeline.safety_net``: by default hourly, at a minute of the pipeline's own).

A poll whose page has nothing new after the checkpoint read earlier reads no Variable (each read is
a request to the Execution API, about 14 ms of CPU against 2 ms for the page); one with something new reads
the pause and checkpoint Variables before it decides, and every ``reread_after`` seconds (60) a poll
reads them first. While the pipeline is auto-paused the trigger reads only the pause Variable each
poll: no Auth0 request and no event, so no run that would only skip (the cron schedule's runs still
skip, and send a pause notice that could not be sent). A pause that starts while the tenant is idle
is seen within ``reread_after`` seconds; after a resume the next poll reads the tenant and asks for a
run if logs wait.

The trigger keeps one hook, hence one cached token, for its lifetime: polling does not write a
``seccft`` log per poll, and no poll raises (a failed one is counted, logged and followed by a
longer pause), so the triggerer never re-creates the trigger and its hook. Nothing secret goes into
the trigger's kwargs (they are stored in the metadata DB): it reads the connection and the
checkpoint Variable through the Task SDK.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.sdk import Asset, AssetWatcher
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from auth0_log_webhooks.delivery.auto_pause import parse_state, state_variable
from auth0_log_webhooks.event_mode.new_logs import (
    Debounce,
    LastRead,
    PollFailures,
    checked_page,
    first_log,
    foreign_logs,
    logs_after,
)
from auth0_log_webhooks.hooks.auth0 import PAGE_SIZE, Auth0Hook
from auth0_log_webhooks.http.redaction import excerpt
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.variables import AirflowVariables
from auth0_log_webhooks.wording import plural

log = logging.getLogger(__name__)

ERROR_PAUSE_SECONDS = 60.0
"""How long the watcher waits after a failed poll (the cron schedule still runs meanwhile); doubled
after each further failure in a row, up to :data:`~auth0_log_webhooks.event_mode.new_logs.MAX_ERROR_PAUSE_SECONDS`."""
MAX_ERROR_CHARS = 300
"""The most of a failure's text a log line quotes (the tenant chooses part of it)."""
REREAD_AFTER_SECONDS = 60.0
"""How long polls that find nothing new go without reading the pause and checkpoint Variables."""


class Auth0LogsTrigger(BaseEventTrigger):
    """Yield an event when a pipeline's tenant has logs after its checkpoint that it did not cause.

    :param auth0_conn_id: the pipeline's ``auth0`` connection.
    :param checkpoint_variable: the Variable holding the pipeline's checkpoint.
    :param poll_interval: seconds between reads (one request each).
    :param refire_after: seconds before the same checkpoint may ask for a run again.
    :param pause_variable: the pipeline's auto-pause Variable; while it says paused the trigger reads
        nothing and yields nothing (None, as triggers serialized before it have: never paused).
    :param reread_after: seconds that polls finding nothing new go without reading the Variables.
    """

    def __init__(
        self,
        auth0_conn_id: str,
        checkpoint_variable: str,
        poll_interval: float = 5.0,
        refire_after: float = 600.0,
        pause_variable: str | None = None,
        reread_after: float = REREAD_AFTER_SECONDS,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's base class is untyped
        self.auth0_conn_id = auth0_conn_id
        self.checkpoint_variable = checkpoint_variable
        self.poll_interval = poll_interval
        self.refire_after = refire_after
        self.pause_variable = pause_variable
        self.reread_after = reread_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Classpath and kwargs, as the triggerer re-creates the trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "auth0_conn_id": self.auth0_conn_id,
                "checkpoint_variable": self.checkpoint_variable,
                "poll_interval": self.poll_interval,
                "refire_after": self.refire_after,
                "pause_variable": self.pause_variable,
                "reread_after": self.reread_after,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll forever; yield one event per backlog (debounced). Never raises: see :meth:`watch_once`."""
        hook = self.make_hook()
        debounce, failures, last = Debounce(self.refire_after), PollFailures(), LastRead(self.reread_after)
        while True:
            payload, pause = await asyncio.to_thread(self.watch_once, hook, debounce, failures, last=last)
            if payload is not None:
                yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
            await asyncio.sleep(pause)

    def make_hook(self) -> Auth0Hook:
        """The one hook (hence the one cached token) the trigger keeps for its lifetime."""
        return Auth0Hook(self.auth0_conn_id)

    def watch_once(
        self,
        hook: Auth0Hook,
        debounce: Debounce,
        failures: PollFailures,
        now: float | None = None,
        last: LastRead | None = None,
    ) -> tuple[dict[str, Any] | None, float]:
        """One poll that never raises: the event's payload (or None) and the seconds to wait before the next.

        Whatever goes wrong (the tenant, the page it answered, the Variable, a bug) is a failed poll:
        counted, logged when new or every ``FAILURE_LOG_EVERY`` seconds, and followed by a longer pause.
        A trigger that raised would be re-created by the triggerer with a new hook, so a bad page would
        cost a token exchange per poll; here the hook and its token survive.
        """
        moment = time.time() if now is None else now
        try:
            payload = self.poll_once(hook, debounce, moment, last)
        except Exception as exc:  # the trigger must outlive anything a poll meets
            text = excerpt(str(exc).encode(), limit=MAX_ERROR_CHARS) or type(exc).__name__
            logged = failures.failed(text, moment)
            pause = max(self.poll_interval, failures.pause(ERROR_PAUSE_SECONDS))
            if logged:
                log.warning(
                    "Watching tenant logs through connection %r failed (%s, %s in a row, %s since the watcher "
                    "started): %s. Trying again in %.0fs; the cron schedule keeps delivering meanwhile.",
                    self.auth0_conn_id,
                    type(exc).__name__,
                    plural(failures.in_a_row, "failed poll"),
                    f"{failures.total:,}",
                    text,
                    pause,
                )
            return None, pause
        before = failures.succeeded()
        if before:
            log.info("Watching tenant logs works again after %s", plural(before, "failed poll"))
        return payload, self.poll_interval

    def poll_once(
        self, hook: Auth0Hook, debounce: Debounce, now: float | None = None, last: LastRead | None = None
    ) -> dict[str, Any] | None:
        """One read after the checkpoint; the event's payload if a run should start, else None.

        Nothing is read from the tenant while the pipeline is paused (:meth:`paused`). ``last`` is the
        checkpoint read at an earlier poll; without it (or when it is due) the Variables are read first.

        :raises MalformedPageError: if the tenant's page is not a list of log objects with text types.
        """
        moment = time.time() if now is None else now
        if last is None:  # no earlier poll to trust: read the Variables first
            last = LastRead(0.0)
        variables = AirflowVariables()
        fresh = last.due(moment) or debounce.paused
        if fresh:
            if self.paused(variables, debounce):
                return None
            last.read(variables.get(self.checkpoint_variable), moment)
        new = self.new_logs(hook, last.checkpoint)
        if new and not fresh:  # new after the checkpoint read earlier: decide on the Variables as they are now
            if self.paused(variables, debounce):
                return None
            read_from = last.checkpoint
            last.read(variables.get(self.checkpoint_variable), moment)
            if last.checkpoint != read_from:
                new = [{}] if last.checkpoint is None else logs_after(new, last.checkpoint)
        checkpoint = last.checkpoint
        if not debounce.should_fire(checkpoint, len(new), moment):
            return None
        debounce.fired(checkpoint, moment)
        first = first_log(new[0])
        log.info("New logs after checkpoint %s (first %s); asking for a run", checkpoint, first["first_log_id"])
        return {"checkpoint": checkpoint, "new_logs_seen": len(new), **first}

    @staticmethod
    def new_logs(hook: Auth0Hook, checkpoint: str | None) -> list[Mapping[str, Any]]:
        """The logs after ``checkpoint`` that the pipeline did not cause (one page); a placeholder without one.

        :raises MalformedPageError: if the tenant's page is not a list of log objects with text types.
        """
        if checkpoint is None:  # a new pipeline: its first run finds where to start
            return [{}]
        page = checked_page(next(iter(hook.iter_log_pages(checkpoint, PAGE_SIZE)), []))
        return foreign_logs(page, hook.client_id)

    def paused(self, variables: AirflowVariables, debounce: Debounce) -> bool:
        """Return whether the pipeline is auto-paused now; log once when that changes.

        The Variable is read as the pipeline's fetch reads it: a value that is not a pause state is not a pause.
        """
        if self.pause_variable is None:
            return False
        state, _ = parse_state(variables.get(self.pause_variable))
        paused = state is not None and state.paused
        if debounce.paused_now(paused):
            if paused:
                log.info(
                    "The pipeline is paused (Variable %s): the watcher reads nothing from Auth0 and asks for no run "
                    "until it is resumed; it checks the Variable every %.0fs.",
                    self.pause_variable,
                    self.poll_interval,
                )
            else:
                log.info(
                    "The pipeline was resumed (Variable %s): watching the tenant's logs again", self.pause_variable
                )
        return paused


def tenant_logs_asset(pipeline: Pipeline) -> Asset:
    """The asset standing for a pipeline's tenant logs, watched by an :class:`Auth0LogsTrigger`."""
    trigger = Auth0LogsTrigger(
        auth0_conn_id=pipeline.auth0_conn_id,
        checkpoint_variable=pipeline.checkpoint_variable,
        poll_interval=60.0 / pipeline.event_reads_per_minute,
        pause_variable=state_variable(pipeline.dag_id),
    )
    return Asset(
        name=f"{pipeline.dag_id}_tenant_logs",
        uri=f"x-auth0-logs://{pipeline.auth0_conn_id}/{pipeline.dag_id}",
        watchers=[AssetWatcher(name=f"{pipeline.dag_id}_watcher", trigger=trigger)],
    )
