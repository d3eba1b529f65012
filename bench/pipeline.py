"""Run the pipeline's steps in this process, as the DAG's tasks would, against the dev servers.

Airflow reads ``AIRFLOW_HOME`` when first imported, so :func:`prepare_airflow` must run before any
``auth0_log_webhooks`` or ``airflow`` import; every such import here is inside a function.
Connections are given as ``AIRFLOW_CONN_*`` environment variables (no metadata DB), Variables as a
dict (``InMemoryVariables``), exactly as tests/integration/conftest.py does.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DELIVERY_SLOTS = 5
"""The ``auth0_webhooks`` pool's slots: how many delivery tasks run at once."""


def prepare_airflow(home: Path) -> None:
    """Point Airflow at a throwaway home without example DAGs (before importing airflow)."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"


def wire_connections(tenant_url: str, client_id: str, client_secret: str, hook_url: str) -> None:
    """Point ``auth0_default`` at an emulator and ``auth0_webhook_default`` at a sink (AIRFLOW_CONN_*)."""
    host, port = tenant_url.removeprefix("http://").split(":")
    auth0 = {
        "conn_type": "auth0",
        "host": host,
        "port": int(port),
        "login": client_id,
        "password": client_secret,
        "extra": {"scheme": "http"},
    }
    webhook = {"conn_type": "http", "host": hook_url, "extra": {"timeout": 30, "allow_private_network": True}}
    os.environ["AIRFLOW_CONN_AUTH0_DEFAULT"] = json.dumps(auth0)
    os.environ["AIRFLOW_CONN_AUTH0_WEBHOOK_DEFAULT"] = json.dumps(webhook)


def quiet_library_logs() -> None:
    """Keep the steps' per-chunk INFO lines out of the benchmark's output (warnings still show)."""
    logging.getLogger("auth0_log_webhooks").setLevel(logging.WARNING)


STEPS_APART = {"deliver_while_fetching": False}
"""The settings of a benchmark that times the fetch and the delivery as steps of their own: without the fetch's
delivery lane (on by default), the fetch only reads and stages, and the delivery step has every batch to send."""


def pipeline_variables(workdir: Path, *, max_logs_per_run: int, settings: Mapping[str, Any] | None = None) -> Any:
    """Return the Variables of the Authentication API pipeline, staging under ``workdir``, with ``settings`` too."""
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from auth0_log_webhooks.run.variables import InMemoryVariables

    config = {
        "staging_url": f"file://{workdir}/staging",
        "dead_letter_url": f"file://{workdir}/dead_letters",
        "max_logs_per_run": max_logs_per_run,
        **(settings or {}),
    }
    return InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps(config)})


def log_time(log_event: Mapping[str, Any]) -> datetime:
    """Return the ``date`` of a log as an aware datetime."""
    moment = datetime.fromisoformat(str(log_event["date"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- 1. rate-limited read -------------------------------------------------------------------


@dataclass(frozen=True)
class ReadResult:
    """What reading through the rate limit took."""

    logs: int
    pages: int
    api_requests: int
    seconds: float
    burst: int
    per_second: float
    rate_limited: int
    waits: int
    """How many times the hook slept (waiting for the bucket's reset, or backing off after a 429)."""
    waited_seconds: float

    @property
    def floor_pages(self) -> float:
        """The token bucket's floor for the pages read: (pages - burst) / rate."""
        return max(0, self.pages - self.burst) / self.per_second

    @property
    def floor_requests(self) -> float:
        """The floor for every rate-limited request sent (pages, the oldest-log search, the last empty page)."""
        return max(0, self.api_requests - self.burst) / self.per_second

    @property
    def ratio(self) -> float:
        """Seconds taken over the floor of the pages read."""
        return self.seconds / self.floor_pages if self.floor_pages else float("nan")


def rate_limited_read(emulator: Any, logs: int, *, burst: int, per_minute: float) -> ReadResult:
    """Read ``logs`` logs through ``Auth0Hook.iter_log_pages`` from the checkpoint of the oldest log.

    :param emulator: a running :class:`bench.servers.Emulator` with that rate limit, wired as auth0_default.
    """
    from auth0_log_webhooks.hooks.auth0 import Auth0Hook
    from auth0_log_webhooks.log_ids import cursor_before

    quiet_library_logs()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    before = emulator.counters()
    hook = Auth0Hook(sleep=sleep)
    hook.access_token()  # the token endpoint is not rate limited; keep it out of the timing
    started = time.perf_counter()
    oldest = hook.oldest_log()
    if oldest is None:
        raise RuntimeError("the emulated tenant has no logs")
    read = pages = 0
    for page in hook.iter_log_pages(cursor_before(log_time(oldest))):
        pages += 1
        read += len(page)
        if read >= logs:
            break
    seconds = time.perf_counter() - started
    after = emulator.counters()
    sent = after["log_requests"] - before["log_requests"]
    limited = after["rate_limited"] - before["rate_limited"]
    return ReadResult(
        logs=read,
        pages=pages,
        api_requests=sent - limited,
        seconds=seconds,
        burst=burst,
        per_second=per_minute / 60.0,
        rate_limited=limited,
        waits=len(waits),
        waited_seconds=sum(waits),
    )


# -- 2. unthrottled end to end --------------------------------------------------------------


@dataclass(frozen=True)
class EndToEndResult:
    """One fetch + deliver (+ commit) pass: wall times per phase and what was sent.

    ``logs`` were read; ``delivered_logs`` of them were selected and delivered (the default selection
    leaves out Management API operations, ``sapi`` and ``fapi``).
    """

    label: str
    logs: int
    fetch_seconds: float
    deliver_seconds: float
    commit_seconds: float
    fetch_requests: int
    deliver_requests: int
    delivered_logs: int
    chunk_seconds: tuple[float, ...] = ()
    """Wall time of each delivery chunk (the library's mapped deliver tasks)."""

    @property
    def seconds(self) -> float:
        """Wall time of the whole pass."""
        return self.fetch_seconds + self.deliver_seconds + self.commit_seconds

    def rate(self, seconds: float) -> float:
        """Logs per second over ``seconds``."""
        return self.logs / seconds if seconds else float("nan")


def library_end_to_end(
    emulator: Any, sink: Any, workdir: Path, logs: int, run_id: str, settings: Mapping[str, Any] | None = None
) -> EndToEndResult:
    """Run fetch, every delivery chunk (5 at a time, like the pool) and commit in this process, with the
    config Variable's ``settings`` beside the staging folders and the cap.

    :param emulator: a :class:`bench.servers.Emulator` without a rate limit, wired as auth0_default.
    :param sink: a :class:`bench.servers.Sink`, wired as auth0_webhook_default (reset here).
    """
    from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
    from dev.runner import run_pipeline

    quiet_library_logs()
    variables = pipeline_variables(workdir, max_logs_per_run=logs, settings=settings)
    sink.reset()
    before = emulator.counters()
    outcome = run_pipeline(AUTHENTICATION_API, variables, run_id=run_id, slots=DELIVERY_SLOTS)
    reports, summary, plan = outcome.reports, outcome.summary, outcome.plan
    if summary is None:
        raise RuntimeError(f"the run did not deliver everything: {outcome.error}")

    after = emulator.counters()
    received = sink.summary()
    delivered = sum(report["delivered_logs"] for report in reports)
    selected = plan["selected"]
    if plan["fetched"] != logs or delivered != selected or summary["delivered_logs"] != selected:
        raise RuntimeError(f"expected {logs} logs read, {selected} delivered: reports {reports}, summary {summary}")
    if received["unique_log_ids"] != selected:
        raise RuntimeError(f"the sink holds {received['unique_log_ids']} distinct logs, expected {selected}")
    return EndToEndResult(
        label="library",
        logs=logs,
        fetch_seconds=outcome.seconds["fetch"],
        deliver_seconds=outcome.seconds["deliver"],
        commit_seconds=outcome.seconds["commit"],
        fetch_requests=after["log_requests"] - before["log_requests"],
        deliver_requests=received["requests"],
        delivered_logs=delivered,
        chunk_seconds=tuple(outcome.chunk_seconds),
    )
