"""The quick form's one ``airflow standalone``, shared by the benchmarks that need a real scheduler.

Starting ``airflow standalone`` (migrations, four processes, the DAG parse, the pipelines' first runs)
takes a minute or more on 2 cores, and benchmarks 6, 8/9 and 12 each started their own: three starts
in every ``make bench-quick``. In the quick form the runner (``bench/__main__.py``) starts one:

1. each of those benchmarks gives its :class:`StackPart` before the start (``stack_part(workdir,
   **parameters)`` in its module): its entries of the one pipelines file, with ids and connections of
   their own, its connections as ``AIRFLOW_CONN_*`` variables, the servers it started (emulated
   tenants, sinks), and what it waits for before it is measured (its first runs ended, its watchers
   polling);
2. the stack starts once, with every part's pipelines, and waits for every part;
3. each benchmark runs on it (``run(workdir, stack=..., **parameters)``) and counts only its own
   DAGs' runs. An idle window (:meth:`SharedStack.idle_window`) is measured once and read by every
   benchmark asking for one as long: benchmark 9 counts its pipeline's runs and Auth0 requests in it,
   benchmark 12 the scheduler's and the dag-processor's CPU, over the same minute;
4. the runner stops it, and every part's servers, at the end.

The full form, and a quick run of one such benchmark alone, start a stack per benchmark as before.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from bench.report import say


class Server(Protocol):
    """A server a part started (an emulated tenant, a sink): stopped with the stack."""

    def stop(self) -> None:
        """Stop it."""


@dataclass
class StackPart:
    """What one benchmark adds to the shared stack."""

    benchmark: str
    pipelines: list[dict[str, Any]]
    """Its entries of the pipelines file (ids no other part uses)."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment of every Airflow process: its connections as ``AIRFLOW_CONN_*``."""
    servers: list[Server] = field(default_factory=list)
    tenants: dict[str, Any] = field(default_factory=dict)
    """Its emulated tenants by name: their counters are read at each end of an idle window."""
    wait: Callable[[Any], None] | None = None
    """Called with the started stack's :class:`dev.airflow_env.AirflowStandalone`; returns once the part is ready."""
    owner: Any = None
    """The benchmark's own object for its part (what its ``run`` reads back with :meth:`SharedStack.part`)."""

    @property
    def dag_ids(self) -> list[str]:
        """Its pipelines' DAG ids."""
        return [str(entry["id"]) for entry in self.pipelines]


def merged_pipelines(parts: list[StackPart]) -> dict[str, Any]:
    """The one pipelines file of every part's entries.

    :raises ValueError: if two parts use one pipeline id, or one environment variable with two values.
    """
    seen: dict[str, str] = {}
    for part in parts:
        for dag_id in part.dag_ids:
            if dag_id in seen:
                raise ValueError(f"pipeline {dag_id!r} is in the parts of both {seen[dag_id]} and {part.benchmark}")
            seen[dag_id] = part.benchmark
    return {"pipelines": [entry for part in parts for entry in part.pipelines]}


def merged_env(parts: list[StackPart]) -> dict[str, str]:
    """Every part's environment in one.

    :raises ValueError: if two parts set one variable to different values.
    """
    env: dict[str, str] = {}
    for part in parts:
        for key, value in part.env.items():
            if env.get(key, value) != value:
                raise ValueError(f"{key} is set by two parts differently (the last: {part.benchmark})")
            env[key] = value
    return env


@dataclass(frozen=True)
class Window:
    """An idle window on the shared stack: its span, the CPU of every process of the stack, tenants' counters."""

    minutes: float
    began: float
    """Epoch seconds."""
    seconds: float
    cpu: dict[str, float]
    """CPU seconds by role (bench.scheduler.CpuSampler), ``machine`` the whole machine's."""
    before: dict[str, dict[str, int]]
    after: dict[str, dict[str, int]]
    measured_by: str

    @property
    def ended(self) -> float:
        """Epoch seconds."""
        return self.began + self.seconds

    def counted(self, tenant: str, counter: str) -> int:
        """How much a tenant's counter grew over the window."""
        return self.after[tenant][counter] - self.before[tenant][counter]


@dataclass
class SharedStack:
    """One ``airflow standalone`` with every part's pipelines; see the module's docstring."""

    workdir: Path
    parts: list[StackPart] = field(default_factory=list)
    airflow: Any = None
    ready_after: float | None = None
    """Seconds from the launch until every part was ready."""
    windows: dict[float, Window] = field(default_factory=dict)
    failed: dict[str, BaseException] = field(default_factory=dict)
    """By benchmark: its part's wait failed; the other parts still run on the stack."""
    _done: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None
    _thread: threading.Thread | None = None

    def add(self, part: StackPart) -> None:
        """Add a benchmark's part (before :meth:`start`)."""
        if self.airflow is not None:
            raise RuntimeError(f"the shared stack has started; {part.benchmark}'s part comes too late")
        self.parts.append(part)

    def part(self, benchmark: str) -> StackPart:
        """The part ``benchmark`` added.

        :raises KeyError: if it added none.
        """
        for part in self.parts:
            if part.benchmark == benchmark:
                return part
        raise KeyError(f"the shared stack has no part of {benchmark}")

    def dag_ids(self) -> list[str]:
        """Every part's DAG ids."""
        return [dag_id for part in self.parts for dag_id in part.dag_ids]

    def start(self) -> None:
        """Start Airflow with every part's pipelines; wait for the DAGs to be parsed, then for each part."""
        from dev.airflow_env import AirflowStandalone

        self.workdir.mkdir(parents=True, exist_ok=True)
        pipelines = self.workdir / "pipelines.yaml"
        pipelines.write_text(yaml.safe_dump(merged_pipelines(self.parts)))
        env = merged_env(self.parts)
        env.update(
            {
                "AUTH0_LOG_WEBHOOKS_PIPELINES": str(pipelines),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # every pipeline runs from its parse
            }
        )
        self.airflow = AirflowStandalone(self.workdir / "airflow", extra_env=env)
        began = time.monotonic()
        self.airflow.start()
        self.apply_settings()
        wanted = set(self.dag_ids())
        wait_until(f"the {len(wanted)} pipelines' DAGs to be parsed", lambda: wanted <= self.parsed(), 900)
        for part in self.parts:
            try:
                if part.wait is not None:
                    part.wait(self.airflow)
            except Exception as exc:  # that benchmark fails with it; the others' parts are still measured
                self.failed[part.benchmark] = exc
                say(f"    shared stack: {part.benchmark}'s part was not ready: {type(exc).__name__}: {exc}")
        self.ready_after = time.monotonic() - began
        say(
            f"    shared stack: airflow standalone with {len(wanted)} pipelines "
            f"({', '.join(f'{p.benchmark} {len(p.pipelines)}' for p in self.parts)}) ready in {self.ready_after:.0f}s"
        )

    def apply_settings(self, timeout: float = 300.0) -> None:
        """Create airflow_settings.yaml's pools and variables; again while the API answers a database error
        (SQLite is locked while the dag-processor writes the DAGs). Each write is an upsert, so a repeat is safe."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.airflow.apply_settings()
                return
            except RuntimeError as exc:
                if "Database error" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(2)

    def parsed(self) -> set[str]:
        """The DAG ids the API knows."""
        return {str(d["dag_id"]) for d in self.airflow.api("GET", "/dags", params={"limit": 1000})["dags"]}

    def start_in_background(self) -> None:
        """Start (as :meth:`start`) in a thread; :meth:`ready` waits for it."""

        def starting() -> None:
            try:
                self.start()
            except BaseException as exc:  # handed to whoever waits in ready()
                self._error = exc
            finally:
                self._done.set()

        self._thread = threading.Thread(target=starting, name="shared-stack-start", daemon=True)
        self._thread.start()

    def ready(self, benchmark: str = "", timeout: float = 1800.0) -> Any:
        """Wait for the start; return the started :class:`dev.airflow_env.AirflowStandalone`.

        :raises RuntimeError: naming the start's error, if it failed (every benchmark on the stack then fails), or
            the error of ``benchmark``'s part if that part was not ready.
        """
        if self._thread is None and not self._done.is_set():
            raise RuntimeError("the shared stack was never started")
        if not self._done.wait(timeout):
            raise TimeoutError(f"the shared stack was not ready within {timeout:.0f}s")
        if self._error is not None:
            raise RuntimeError(f"the shared stack did not start: {type(self._error).__name__}: {self._error}")
        if benchmark in self.failed:
            error = self.failed[benchmark]
            raise RuntimeError(f"its part of the shared stack was not ready: {type(error).__name__}: {error}")
        return self.airflow

    def idle_window(self, minutes: float, benchmark: str) -> Window:
        """An idle window of ``minutes``: measured now by the first benchmark asking, read by any later one."""
        if minutes in self.windows:
            window = self.windows[minutes]
            say(f"    the shared stack's {minutes:g}-minute idle window, measured by {window.measured_by}, read again")
            return window
        from bench.scheduler import CpuSampler

        airflow = self.ready()
        counters = {name: tenant for part in self.parts for name, tenant in part.tenants.items()}
        sampler = CpuSampler(airflow.process.pid, {os.getpid(): "bench (tenants, sinks)"})
        before = {name: dict(tenant.state.counters) for name, tenant in counters.items()}
        began, started = time.time(), time.monotonic()
        sampler.start()
        time.sleep(minutes * 60)
        cpu = sampler.stop()
        seconds = time.monotonic() - started
        after = {name: dict(tenant.state.counters) for name, tenant in counters.items()}
        window = Window(minutes, began, seconds, cpu, before, after, benchmark)
        self.windows[minutes] = window
        return window

    def stop(self) -> None:
        """Stop Airflow (after its start, if it is still starting), then every part's servers."""
        if self._thread is not None:
            self._thread.join(60)
        if self.airflow is not None:
            self.airflow.stop()
        for part in self.parts:
            for server in part.servers:
                with contextlib.suppress(Exception):
                    server.stop()


def wait_until(what: str, done: Callable[[], bool], timeout: float, every: float = 2.0) -> None:
    """Poll ``done`` every ``every`` seconds until it is true; after ``timeout`` seconds raise, naming ``what``."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(every)


def connection_env(conn_id: str, conn: Mapping[str, Any]) -> dict[str, str]:
    """``AIRFLOW_CONN_<ID>`` for a connection given as Airflow's JSON form (conn_type, host, port, login...)."""
    return {f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(dict(conn))}
