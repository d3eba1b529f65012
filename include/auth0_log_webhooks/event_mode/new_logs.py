"""Event mode's decisions, free of Airflow: which new logs count, and when to ask for a run.

A pipeline reads logs with a client-credentials token, and on Auth0 every such exchange writes a
``seccft`` log (``feccft`` when refused) and every 429 an ``api_limit`` log, all carrying the
pipeline's client id. A watcher that asked for a run whenever a log newer than the checkpoint
exists would therefore feed itself: each run's token request is the next run's reason. So:

* **Own traffic does not count.** ``seccft``, ``feccft``, ``api_limit`` and ``api_limit_warning``
  logs whose ``client_id`` is the pipeline's are ignored when deciding; they are still delivered by
  the next run that happens for another reason (or by the cron safety net), like any other log.
* **Debounce.** Once the watcher asked for a run at checkpoint C, it does not ask again until the
  checkpoint has moved past C (the run committed), or ``refire_after`` seconds passed (the run was
  lost or failed; the cron schedule also covers that case).
* **Quiet while paused.** While auto-pause holds the pipeline (its ``<dag_id>_auto_pause`` Variable
  says paused), the watcher reads nothing from Auth0 and asks for no run: such a run would only skip,
  and a paused pipeline is meant to stop reading the tenant. It reads only that Variable each poll,
  so once the pipeline is resumed it asks for a run at its next poll if logs wait, without waiting
  out the debounce: the catch-up starts within seconds (:meth:`Debounce.paused_now`).

* **Variables when something is new.** Reading a Variable in the triggerer is a request to the
  Execution API, about 14 ms of CPU against 2 ms for the tenant's page. Checkpoints only move forward,
  so a page with nothing new after the checkpoint read earlier has nothing new after the current
  one either: such a poll reads no Variable (:class:`LastRead`). A page with something new reads
  the pause and checkpoint Variables before deciding, as every poll did before, and every
  ``reread_after`` seconds a poll reads them first anyway, so a pause that starts while the tenant
  is idle stops the watcher's reads within that time.

An idle tenant then costs no event-triggered run at all, only the cron safety net's runs (by default
hourly at a minute of the pipeline's own; an entry's ``schedule`` or ``safety_net`` sets another).

Pages come from the tenant, so they are checked before anything is read out of them
(:func:`checked_page`): a page whose items are not log objects, or whose ``type`` or ``client_id``
is not a short string, is a :class:`MalformedPageError` that names positions and kinds, never
values. What the watcher reports about the first new log (:func:`first_log`) is its id and date
only if they are well formed. A failed poll is counted by :class:`PollFailures`, which says when a
failure is worth a log line, so a tenant that keeps answering garbage costs one line every
:data:`FAILURE_LOG_EVERY` seconds, not one a poll.

* **A live tenant's runs follow each other.** Airflow 3.3 creates an asset-triggered run only while the
  DAG's cached "at ``max_active_runs``" flag is off, and the dag-processor, which rewrites that flag at
  every parse of the DAG file, can write it on from a count taken while a run was in flight, after the
  run ended: the DAG then gets no asset-triggered run until the next parse (30 s by default) however
  soon the watcher asks. So a run's fetch watches the pages it reads (:class:`LiveTraffic`): a run that
  read a log the pipeline did not cause, dated after the run was asked for (``run/context.py``,
  ``live_since``), ends by asking for the next run
  itself (``steps/follow_up.py``), as a run that stopped at its cap does; Airflow starts that run as
  soon as this one ends, whatever the flag says. A run that read no such log ends the chain, and the
  watcher asks for the next one as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from auth0_log_webhooks.log_ids import is_log_id
from auth0_log_webhooks.wording import plural

OWN_TRAFFIC_TYPES = frozenset({"seccft", "feccft", "api_limit", "api_limit_warning"})


MAX_FIELD_CHARS = 200
"""The longest ``type`` or ``client_id`` a log may have (Auth0's are a few dozen characters)."""
MAX_DATE_CHARS = 40
FAILURE_LOG_EVERY = 600.0
"""Seconds between log lines about the same failure repeating."""
MAX_ERROR_PAUSE_SECONDS = 3600.0
"""The longest pause after failed polls in a row: a tenant that keeps failing costs a request an hour."""
CHECKED_FIELDS = ("type", "client_id")


class MalformedPageError(ValueError):
    """A page of logs from the tenant that the watcher cannot read: it names positions and kinds, not values."""


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def checked_page(page: object) -> list[Mapping[str, Any]]:
    """Return ``page`` if it is a list of log objects whose ``type`` and ``client_id`` are short strings.

    :raises MalformedPageError: saying how many items are unusable and the first one's position and kind.
    """
    if not isinstance(page, list):
        raise MalformedPageError(f"Auth0 answered a {_kind(page)} where a list of logs belongs")
    problems: list[str] = []
    for position, item in enumerate(page, start=1):
        if not isinstance(item, Mapping):
            problems.append(f"item {position} is a {_kind(item)}, not a log object")
            continue
        for name in CHECKED_FIELDS:
            value = item.get(name)
            if value is not None and not isinstance(value, str):
                problems.append(f"item {position} has a {name} that is a {_kind(value)}, not text")
            elif isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
                problems.append(f"item {position} has a {name} of {len(value):,} characters")
    if problems:
        raise MalformedPageError(
            f"Auth0 answered a page of {plural(len(page), 'log')} that the watcher cannot read: "
            f"{plural(len(problems), 'problem')}, the first: {problems[0]}. A scheduled run reads the same page "
            "and says how to step past it"
        )
    return page


def first_log(log: Mapping[str, Any]) -> dict[str, str | None]:
    """Return the id and date of a new log for the event and the log line, each None unless well formed."""
    log_id, date = log.get("log_id"), log.get("date")
    if isinstance(date, str) and len(date) <= MAX_DATE_CHARS:
        try:
            datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            date = None
    else:
        date = None
    return {"first_log_id": log_id if is_log_id(log_id) else None, "first_log_date": date}


@dataclass
class PollFailures:
    """Failed polls in a row, and when the last log line about them was written."""

    in_a_row: int = 0
    total: int = 0
    last_logged_text: str | None = None
    last_logged_at: float | None = None

    def failed(self, text: str, now: float) -> bool:
        """Count a failed poll; return whether to write a log line about it (new text, or a while since)."""
        self.in_a_row += 1
        self.total += 1
        due = (
            text != self.last_logged_text
            or self.last_logged_at is None
            or now - self.last_logged_at >= FAILURE_LOG_EVERY
        )
        if due:
            self.last_logged_text, self.last_logged_at = text, now
        return due

    def pause(self, first: float) -> float:
        """Return the pause after the failures so far: ``first`` after one, doubled after each more, at most an hour."""
        doublings = min(max(self.in_a_row - 1, 0), 30)
        return min(first * float(2**doublings), MAX_ERROR_PAUSE_SECONDS)

    def succeeded(self) -> int:
        """Count a good poll; return how many failed polls came right before it."""
        before, self.in_a_row, self.last_logged_text = self.in_a_row, 0, None
        return before


def is_own_traffic(log: Mapping[str, Any], client_id: str) -> bool:
    """Whether ``log`` records the pipeline's own token exchange or rate-limited request."""
    return log.get("type") in OWN_TRAFFIC_TYPES and log.get("client_id") == client_id


def foreign_logs(logs: Iterable[Mapping[str, Any]], client_id: str) -> list[Mapping[str, Any]]:
    """The logs that are not the pipeline's own traffic, in order."""
    return [log for log in logs if not is_own_traffic(log, client_id)]


def log_epoch(log: Mapping[str, Any]) -> float | None:
    """A log's ``date`` in epoch seconds, None unless it is a well-formed date (a date without a zone is UTC)."""
    date = log.get("date")
    if not isinstance(date, str) or len(date) > MAX_DATE_CHARS:
        return None
    try:
        moment = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@dataclass
class LiveTraffic:
    """Whether the pages a run read hold a log the pipeline did not cause, dated at or after ``since``.

    :param client_id: the pipeline's client id (its own token exchanges and 429s do not count).
    :param since: epoch seconds, when the run was asked for: a log dated after it came while the run waited or ran.
    """

    client_id: str
    since: float
    seen: bool = False

    def watch(self, pages: Iterable[list[Any]]) -> Iterator[list[Any]]:
        """Yield ``pages`` unchanged, noting whether one holds such a log (items that are not logs are skipped:
        the reader checks them)."""
        for page in pages:
            if not self.seen and isinstance(page, list):
                self.seen = any(self.fresh(item) for item in page)
            yield page

    def fresh(self, item: object) -> bool:
        """Whether ``item`` is a log the pipeline did not cause, dated at or after ``since``."""
        if not isinstance(item, Mapping) or is_own_traffic(item, self.client_id):
            return False
        moment = log_epoch(item)
        return moment is not None and moment >= self.since


def logs_after(logs: Iterable[Mapping[str, Any]], checkpoint: str) -> list[Mapping[str, Any]]:
    """The logs of a page read from an earlier checkpoint that come after ``checkpoint``, in order.

    Log ids are 56 digits, so their order is their text's; a log whose id is not one is kept (it may be new).
    """
    return [log for log in logs if not is_log_id(log.get("log_id")) or str(log["log_id"]) > checkpoint]


@dataclass
class LastRead:
    """The checkpoint as the Variables last said, and when: a poll that finds nothing new after it reads no Variable.

    :param reread_after: seconds after which a poll reads the Variables before the tenant again.
    """

    reread_after: float
    checkpoint: str | None = None
    at: float | None = None

    def due(self, now: float) -> bool:
        """Whether this poll reads the Variables before the tenant: none read yet, no checkpoint, or a while since."""
        return self.at is None or self.checkpoint is None or now - self.at >= self.reread_after

    def read(self, checkpoint: str | None, now: float) -> None:
        """Record the checkpoint the Variables hold at ``now``."""
        self.checkpoint, self.at = checkpoint, now


@dataclass
class Debounce:
    """Remembers the last request for a run, so that one backlog asks for one run.

    :param refire_after: seconds after which the same checkpoint may ask again (a lost run).
    """

    refire_after: float
    fired_for: str | None = None
    fired_at: float | None = None
    paused: bool = False

    def should_fire(self, checkpoint: str | None, new_foreign: int, now: float) -> bool:
        """Whether to ask for a run now: new logs, and no request pending at this checkpoint."""
        if new_foreign <= 0:
            return False
        pending = self.fired_at is not None and self.fired_for == checkpoint
        return not (pending and self.fired_at is not None and now - self.fired_at < self.refire_after)

    def fired(self, checkpoint: str | None, now: float) -> None:
        """Record that a run was asked for at ``checkpoint``."""
        self.fired_for, self.fired_at = checkpoint, now

    def paused_now(self, paused: bool) -> bool:
        """Record whether the pipeline is paused at this poll; return whether that changed since the last one.

        A resume forgets the last request, so logs that waited through the pause ask for a run at once.
        """
        changed = paused != self.paused
        self.paused = paused
        if changed and not paused:
            self.fired_for, self.fired_at = None, None
        return changed
