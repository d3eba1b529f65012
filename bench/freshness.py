"""Benchmarks 8 and 9: freshness and idle cost through a real scheduler, in cron and in event mode.

Each mode gets its own ``airflow standalone`` in a temporary AIRFLOW_HOME, with one pipeline (the
Authentication API one, on its default ``*/5 * * * *`` schedule, ``mode`` cron or event) reading an
emulated tenant that writes a ``seccft`` log for every token exchange and limits requests to a burst
of 10 and 100 a minute, as Auth0 does, and delivering to a webhook sink that records when each
request arrived. After the run on unpause has delivered the history (and, in event mode, once the
watcher polls):

8. freshness: live traffic of 5 logs/s for 5 minutes; once every one of them arrived (or 7 minutes
   after the traffic stopped), the seconds from each log's ``date`` to its first arrival at the sink:
   p50, p95 and max, the runs by type and the 429s the tenant served. Target for event mode: p95 at
   most 30 s, zero 429s.
9. idle cost: then 5 minutes with no traffic but the pipeline's own token exchanges (and their
   ``seccft`` logs): runs started and Auth0 requests served in that window, scaled to an hour.
   Target: at most 12 runs an hour in either mode.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import yaml

from bench.stack import SharedStack, StackPart, connection_env

MODES = ("cron", "event")
CRON = "*/5 * * * *"
TRAFFIC_PER_SECOND = 5.0
TRAFFIC_MINUTES = 5.0
IDLE_MINUTES = 5.0
P95_TARGET_SECONDS = 30.0
RUNS_PER_HOUR_TARGET = 12
SETTLE_SECONDS = {"cron": 420.0, "event": 180.0}  # after the traffic: the next tick (cron) plus a run


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (``share`` 0.5 for the median)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class FreshnessResult:
    """Benchmark 8 for one mode: log date to arrival, in seconds, of the live traffic's logs."""

    mode: str
    created: int
    lags: list[float]
    runs: dict[str, int]
    rate_limited: int
    traffic_seconds: float

    @property
    def missing(self) -> int:
        """Logs created by the traffic that never arrived."""
        return self.created - len(self.lags)

    def p(self, share: float) -> float:
        """A percentile of the lags (inf when nothing arrived)."""
        return percentile(self.lags, share) if self.lags else math.inf

    @property
    def met(self) -> bool:
        """p95 within the target, zero 429s and nothing missing."""
        return self.p(0.95) <= P95_TARGET_SECONDS and self.rate_limited == 0 and self.missing == 0


@dataclass
class IdleResult:
    """Benchmark 9 for one mode: what an idle tenant costs in a window, and per hour."""

    mode: str
    seconds: float
    runs: dict[str, int]
    requests: int
    log_requests: int
    tokens: int
    own_logs_after_checkpoint: int

    def per_hour(self, count: float) -> float:
        """``count`` in this window scaled to an hour."""
        return count * 3600.0 / self.seconds

    @property
    def run_count(self) -> int:
        """Runs started in the window, of any type."""
        return sum(self.runs.values())


@dataclass
class Traffic:
    """Adds generated logs to the tenant at ``per_second`` from a thread; keeps their ids."""

    tenant: Any
    per_second: float
    ids: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Start adding logs, one every 1/per_second seconds (on schedule, not drifting)."""

        def loop() -> None:
            began, made = time.monotonic(), 0
            while not self._stop.is_set():
                due = math.floor((time.monotonic() - began) * self.per_second) + 1 - made
                if due > 0:
                    self.ids += self.tenant.state.add_logs(due)
                    made += due
                self._stop.wait(max(0.0, began + made / self.per_second - time.monotonic()))

        self._thread = threading.Thread(target=loop, name="live-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop adding logs."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def first_arrivals(sink: Any) -> dict[str, float]:
    """log_id -> when the sink first accepted it (epoch seconds)."""
    first: dict[str, float] = {}
    for request in sink.state.requests(limit=1_000_000):
        if request["status"] == 200:
            for log_id in request["log_ids"]:
                first.setdefault(log_id, request["received_at"])
    return first


def log_epoch(tenant: Any, log_id: str) -> float:
    """A log's ``date`` in epoch seconds."""
    return datetime.fromisoformat(tenant.state.get_log(log_id)["date"].replace("Z", "+00:00")).timestamp()


@dataclass
class ModeStack:
    """An emulator, a sink and ``airflow standalone`` running one pipeline in ``mode``.

    ``shared``: the pipeline is this benchmark's part of the quick form's shared stack (bench/stack.py),
    with an id and connections of its own (``bench_freshness_<mode>``), its connections as environment
    variables and its storage in the entry's settings; the runner starts and stops that stack.
    """

    mode: str
    workdir: Path
    say: Callable[[str], None]
    tenant: Any = None
    sink: Any = None
    airflow: Any = None
    shared: bool = False

    @property
    def dag_id(self) -> str:
        from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API

        return f"bench_freshness_{self.mode}" if self.shared else AUTHENTICATION_API.dag_id

    @property
    def checkpoint_variable(self) -> str:
        """The pipeline's checkpoint Variable (as PipelineDefinition names it)."""
        return f"{self.dag_id}_checkpoint"

    @property
    def tenant_name(self) -> str:
        """The tenant's name among the shared stack's tenants."""
        return f"freshness {self.mode}"

    def start_servers(self) -> dict[str, dict[str, Any]]:
        """Start the tenant and the sink; return the pipeline's two connections (airflow_settings.yaml's keys)."""
        from dev.auth0_tenant.testing import start_emulator
        from dev.webhook_sink.app import start_sink
        from dev.webhook_sink.config import SinkConfig

        self.workdir.mkdir(parents=True, exist_ok=True)
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        self.tenant = start_emulator(logs=500, seed=61, history_days=1, client_secret="bench-" + os.urandom(8).hex())
        self.sink = start_sink(SinkConfig(record_path=self.workdir / "sink.jsonl", secrets=(secret,)))
        host, port = self.tenant.domain.split(":")
        return {
            self.connection_ids[0]: {
                "conn_type": "auth0",
                "conn_host": host,
                "conn_port": int(port),
                "conn_login": self.tenant.client_id,
                "conn_password": self.tenant.client_secret,
                "conn_extra": {"scheme": "http"},
            },
            self.connection_ids[1]: {
                "conn_type": "http",
                "conn_host": f"{self.sink.url}/hook",
                "conn_extra": {"signing_secret": secret, "timeout": 10, "allow_private_network": True},
            },
        }

    @property
    def connection_ids(self) -> tuple[str, str]:
        """The pipeline's Auth0 and webhook connections."""
        if self.shared:
            return f"{self.dag_id}_auth0", f"{self.dag_id}_webhook"
        return "auth0_default", "auth0_webhook_default"

    @property
    def storage(self) -> dict[str, str]:
        """The staging and dead-letter folders (the config Variable's, or the shared entry's settings)."""
        return {"staging_url": f"file://{self.workdir}/staging", "dead_letter_url": f"file://{self.workdir}/dead"}

    def entry(self) -> dict[str, Any]:
        """The pipelines file's entry: the default Authentication API one on the cron schedule, in ``mode``."""
        from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
        from auth0_log_webhooks.pipelines.pipelines_file import DEFAULT_PATH

        document = yaml.safe_load(DEFAULT_PATH.read_text())
        entry: dict[str, Any] = next(p for p in document["pipelines"] if p["id"] == AUTHENTICATION_API.dag_id)
        entry = entry | {"schedule": CRON, "mode": self.mode}
        if self.shared:
            auth0, webhook = self.connection_ids
            settings = {**entry.get("settings", {}), **self.storage}
            entry |= {"id": self.dag_id, "auth0_connection": auth0, "webhook_connection": webhook, "settings": settings}
        return entry

    def start(self) -> None:
        """Start the servers and Airflow, deliver the history and (event mode) wait for the watcher."""
        from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
        from auth0_log_webhooks.pipelines.pipelines_file import ENV_VAR
        from dev.airflow_env import AirflowStandalone

        connections = self.start_servers()
        pipelines = self.workdir / "pipelines.yaml"
        pipelines.write_text(yaml.safe_dump({"pipelines": [self.entry()]}))
        self.airflow = AirflowStandalone(self.workdir / "airflow", extra_env={ENV_VAR: str(pipelines)})
        began = time.monotonic()
        self.airflow.start()
        self.airflow.apply_settings(connections=connections)
        self.airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(self.storage))
        self.airflow.wait_for_dag(self.dag_id)
        self.airflow.unpause(self.dag_id)
        self.wait_ready(began)

    def wait_ready(self, began: float) -> None:
        """Wait for the first run's success, then for no active run; in event mode for the watcher's polls."""
        first = self.wait_for_first_run()
        state = self.airflow.wait_for_run(self.dag_id, first)
        if state != "success":
            raise RuntimeError(f"the first run of {self.dag_id} ({self.mode} mode) ended {state}")
        self.wait_until_idle()
        if self.mode == "event":
            self.wait_for_watcher()
        self.say(f"    {self.mode}: Airflow up and the history delivered in {time.monotonic() - began:.0f}s")

    def wait_for_first_run(self, timeout: float = 180.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs()
            if runs:
                return str(runs[0]["dag_run_id"])
            time.sleep(1)
        raise TimeoutError("the scheduler started no run after unpausing")

    def runs(self) -> list[dict[str, Any]]:
        return list(self.airflow.api("GET", f"/dags/{self.dag_id}/dagRuns", params={"limit": 1000})["dag_runs"])

    def wait_until_idle(self, timeout: float = 600.0) -> None:
        """Wait until no run is queued or running."""
        deadline = time.monotonic() + timeout
        while any(run["state"] in ("queued", "running") for run in self.runs()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs of {self.dag_id} still active after {timeout:.0f}s")
            time.sleep(1)

    def wait_for_watcher(self, timeout: float = 180.0) -> None:
        """Wait until the tenant sees reads while no run is active: the trigger polls."""
        deadline, base = time.monotonic() + timeout, self.tenant.state.counters["log_requests"]
        while self.tenant.state.counters["log_requests"] < base + 2:
            if time.monotonic() > deadline:
                raise TimeoutError("the event-mode watcher never polled the tenant")
            time.sleep(1)

    def runs_started_since(self, since: float, until: float = math.inf) -> dict[str, int]:
        """Runs by type created at or after ``since`` and before ``until`` (epoch seconds)."""
        found: Counter[str] = Counter()
        for run in self.runs():
            queued = run.get("queued_at") or run.get("start_date") or run.get("run_after")
            if queued and since <= datetime.fromisoformat(queued.replace("Z", "+00:00")).timestamp() < until:
                found[str(run["run_type"])] += 1
        return dict(found)

    def stop(self) -> None:
        """Stop Airflow and the servers (not on the shared stack: the runner stops it)."""
        if self.shared:
            return
        for part in (self.airflow, self.sink, self.tenant):
            if part is not None:
                part.stop()


def freshness(stack: ModeStack, minutes: float) -> FreshnessResult:
    """Benchmark 8 on a started stack: live traffic for ``minutes``, then wait for every log to arrive."""
    began, limited_before = time.time(), stack.tenant.state.counters["rate_limited"]
    traffic = Traffic(stack.tenant, TRAFFIC_PER_SECOND)
    traffic.start()
    time.sleep(minutes * 60)
    traffic.stop()
    traffic_seconds = time.time() - began
    wanted = {i for i in traffic.ids if stack.tenant.state.get_log(i)["type"] not in ("sapi", "fapi")}
    deadline = time.monotonic() + SETTLE_SECONDS[stack.mode]
    while not wanted <= set(stack.sink.state.log_ids()) and time.monotonic() < deadline:
        time.sleep(1)
    stack.wait_until_idle()
    arrivals = first_arrivals(stack.sink)
    lags = [arrivals[i] - log_epoch(stack.tenant, i) for i in sorted(wanted) if i in arrivals]
    return FreshnessResult(
        mode=stack.mode,
        created=len(wanted),
        lags=lags,
        runs=stack.runs_started_since(began),
        rate_limited=stack.tenant.state.counters["rate_limited"] - limited_before,
        traffic_seconds=traffic_seconds,
    )


def idle(stack: ModeStack, minutes: float, shared: SharedStack | None = None) -> IdleResult:
    """Benchmark 9 on a started stack: ``minutes`` without traffic; runs and requests in that window.

    On the ``shared`` stack the window is its idle window (one measurement that benchmark 12 reads too).
    """
    if shared is not None:
        window = shared.idle_window(minutes, "benchmark 9")
        began, seconds = window.began, window.seconds
        before, after = window.before[stack.tenant_name], window.after[stack.tenant_name]
    else:
        before = dict(stack.tenant.state.counters)
        began = time.time()
        time.sleep(minutes * 60)
        seconds = time.time() - began
        after = dict(stack.tenant.state.counters)
    checkpoint = stack.airflow.variable(stack.checkpoint_variable)
    waiting = [stack.tenant.state.get_log(i) for i in stack.tenant.all_log_ids(checkpoint)]
    return IdleResult(
        mode=stack.mode,
        seconds=seconds,
        runs=stack.runs_started_since(began, began + seconds),
        requests=after["requests"] - before["requests"],
        log_requests=after["log_requests"] - before["log_requests"],
        tokens=after["tokens_issued"] - before["tokens_issued"],
        own_logs_after_checkpoint=sum(log["type"] in ("seccft", "feccft", "api_limit") for log in waiting),
    )


def describe_freshness(r: FreshnessResult) -> str:
    """The printed line of benchmark 8 for one mode."""
    runs = ", ".join(f"{count} {kind}" for kind, count in sorted(r.runs.items())) or "none"
    return (
        f"    {r.mode}: {r.created:,} logs in {r.traffic_seconds:.0f}s of traffic; log date to arrival "
        f"p50 {r.p(0.5):.1f}s, p95 {r.p(0.95):.1f}s, max {r.p(1.0):.1f}s; {r.missing} never arrived; "
        f"runs: {runs}; 429s served: {r.rate_limited}"
    )


def describe_idle(r: IdleResult) -> str:
    """The printed line of benchmark 9 for one mode."""
    runs = ", ".join(f"{count} {kind}" for kind, count in sorted(r.runs.items())) or "none"
    return (
        f"    {r.mode}: {r.seconds / 60:.1f} idle minutes: {r.run_count} runs ({runs}), {r.requests} Auth0 requests "
        f"({r.log_requests} log reads, {r.tokens} token exchanges); x{3600 / r.seconds:.0f} -> "
        f"{r.per_hour(r.run_count):.0f} runs and {r.per_hour(r.requests):.0f} requests an hour; "
        f"{r.own_logs_after_checkpoint} own-traffic logs waiting after the checkpoint"
    )


def bench_mode(
    mode: str,
    workdir: Path,
    say: Callable[[str], None],
    *,
    traffic_minutes: float,
    idle_minutes: float,
    shared: SharedStack | None = None,
) -> tuple[FreshnessResult | None, IdleResult | None]:
    """Start a stack in ``mode`` (or take this mode's pipeline on the ``shared`` stack), run benchmark 8 (if
    ``traffic_minutes``) then 9 (if ``idle_minutes``)."""
    if shared is not None:
        shared.ready("freshness")
        stack = cast(ModeStack, shared.part("freshness").owner[mode])
        say(f"    {mode}: pipeline {stack.dag_id} on the quick form's shared stack (its own tenant, sink and runs)")
    else:
        stack = ModeStack(mode, workdir / f"freshness-{mode}", say)
    try:
        if not stack.shared:
            stack.start()
        fresh = freshness(stack, traffic_minutes) if traffic_minutes > 0 else None
        if fresh is not None:
            say(describe_freshness(fresh))
        quiet = idle(stack, idle_minutes, shared) if idle_minutes > 0 else None
        if quiet is not None:
            say(describe_idle(quiet))
        return fresh, quiet
    finally:
        stack.stop()


def bench_freshness(
    workdir: Path,
    say: Callable[[str], None],
    *,
    modes: list[str],
    traffic_minutes: float,
    idle_minutes: float,
    shared: SharedStack | None = None,
) -> list[tuple[str, str, str, bool | None]]:
    """Benchmarks 8 and 9 in each of ``modes`` (on the ``shared`` stack if given); return the summary rows."""
    say(
        f"\n[8, 9] through a real scheduler, {', '.join(modes)} mode: {TRAFFIC_PER_SECOND:g} logs/s for "
        f"{traffic_minutes:g} minutes, then {idle_minutes:g} idle minutes (a tenant logging its own token exchanges, "
        f"Auth0's limit of burst 10 and 100 requests/minute, schedule {CRON})"
    )
    rows: list[tuple[str, str, str, bool | None]] = []
    for mode in modes:
        fresh, quiet = bench_mode(
            mode, workdir, say, traffic_minutes=traffic_minutes, idle_minutes=idle_minutes, shared=shared
        )
        if fresh is not None:
            target = f"p95 <= {P95_TARGET_SECONDS:.0f}s, 0 429s" if mode == "event" else "n/a"
            met = fresh.met if mode == "event" else None
            rows.append(
                (
                    f"8 freshness, {mode}",
                    f"p50 {fresh.p(0.5):.1f}s, p95 {fresh.p(0.95):.1f}s, max {fresh.p(1.0):.1f}s, "
                    f"{fresh.rate_limited} 429s, {fresh.missing} missing",
                    target,
                    met,
                )
            )
            say(f"    {mode}: target {target} -> {'n/a' if met is None else ('MET' if met else 'NOT MET')}")
        if quiet is not None:
            runs_an_hour = quiet.per_hour(quiet.run_count)
            met = runs_an_hour <= RUNS_PER_HOUR_TARGET
            rows.append(
                (
                    f"9 idle cost, {mode}",
                    f"{runs_an_hour:.0f} runs/h, {quiet.per_hour(quiet.requests):.0f} Auth0 requests/h "
                    f"(x{3600 / quiet.seconds:.0f} of {quiet.seconds / 60:.1f} min)",
                    f"<= {RUNS_PER_HOUR_TARGET} runs/h",
                    met,
                )
            )
            say(f"    {mode}: target <= {RUNS_PER_HOUR_TARGET} runs an hour -> {'MET' if met else 'NOT MET'}")
    return rows


def run(
    workdir: Path,
    *,
    modes: list[str] | tuple[str, ...] = MODES,
    traffic_minutes: float = TRAFFIC_MINUTES,
    idle_minutes: float = IDLE_MINUTES,
    stack: SharedStack | None = None,
) -> list[tuple[str, str, str, bool | None]]:
    """``python -m bench --only freshness``: benchmarks 8 and 9 in each of ``modes`` (0 minutes skips one); on the
    quick form's shared ``stack``, each mode's pipeline is this benchmark's part of it (:func:`stack_part`)."""

    def say(message: str) -> None:
        print(message, flush=True)

    return bench_freshness(
        workdir, say, modes=list(modes), traffic_minutes=traffic_minutes, idle_minutes=idle_minutes, shared=stack
    )


def stack_part(workdir: Path, *, modes: list[str] | tuple[str, ...] = MODES, **_: Any) -> StackPart:
    """This benchmark's part of the shared stack: a pipeline per mode (``bench_freshness_<mode>``), each with its
    own tenant and sink started here and its connections as environment variables."""
    stacks = {mode: ModeStack(mode, workdir / f"freshness-{mode}", print_now, shared=True) for mode in modes}
    env: dict[str, str] = {}
    for stack in stacks.values():
        for conn_id, conn in stack.start_servers().items():
            env |= connection_env(conn_id, airflow_json(conn))

    def ready(airflow: Any) -> None:
        for stack in stacks.values():
            stack.airflow = airflow
            airflow.wait_for_dag(stack.dag_id)
            stack.wait_ready(time.monotonic())

    return StackPart(
        "freshness",
        [stack.entry() for stack in stacks.values()],
        env=env,
        servers=[server for stack in stacks.values() for server in (stack.sink, stack.tenant)],
        tenants={stack.tenant_name: stack.tenant for stack in stacks.values()},
        wait=ready,
        owner=stacks,
    )


def print_now(message: str) -> None:
    """Print a line now."""
    print(message, flush=True)


def airflow_json(conn: dict[str, Any]) -> dict[str, Any]:
    """A connection as airflow_settings.yaml has it (conn_host...) in Airflow's JSON form (host...)."""
    return {(key if key == "conn_type" else key.removeprefix("conn_")): value for key, value in conn.items()}
