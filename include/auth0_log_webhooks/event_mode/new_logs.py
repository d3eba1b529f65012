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

An idle tenant then costs no event-triggered run at all; the cron safety net (every 5 minutes by
default) bounds the runs an hour at 12 in either mode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

OWN_TRAFFIC_TYPES = frozenset({"seccft", "feccft", "api_limit", "api_limit_warning"})


def is_own_traffic(log: Mapping[str, Any], client_id: str) -> bool:
    """Whether ``log`` records the pipeline's own token exchange or rate-limited request."""
    return log.get("type") in OWN_TRAFFIC_TYPES and log.get("client_id") == client_id


def foreign_logs(logs: Iterable[Mapping[str, Any]], client_id: str) -> list[Mapping[str, Any]]:
    """The logs that are not the pipeline's own traffic, in order."""
    return [log for log in logs if not is_own_traffic(log, client_id)]


@dataclass
class Debounce:
    """Remembers the last request for a run, so that one backlog asks for one run.

    :param refire_after: seconds after which the same checkpoint may ask again (a lost run).
    """

    refire_after: float
    fired_for: str | None = None
    fired_at: float | None = None

    def should_fire(self, checkpoint: str | None, new_foreign: int, now: float) -> bool:
        """Whether to ask for a run now: new logs, and no request pending at this checkpoint."""
        if new_foreign <= 0:
            return False
        pending = self.fired_at is not None and self.fired_for == checkpoint
        return not (pending and self.fired_at is not None and now - self.fired_at < self.refire_after)

    def fired(self, checkpoint: str | None, now: float) -> None:
        """Record that a run was asked for at ``checkpoint``."""
        self.fired_for, self.fired_at = checkpoint, now
