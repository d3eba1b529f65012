"""Throughput through a real scheduler (``--only scheduler``): one triggered run of 100,000 logs.

The same emulated tenant (no rate limit) and webhook sink, each a process of its own, serve two
passes over the same logs in one invocation, with the default settings (which include
``deliver_while_fetching``: the fetch's delivery lane sends batches while it reads):

1. in process: fetch, every delivery chunk 5 at a time, commit (``library_end_to_end``, as benchmark
   2), the fastest of ``rounds`` passes;
2. through ``airflow standalone`` (scheduler, dag-processor, api-server, triggerer, LocalExecutor on
   SQLite) in a temporary AIRFLOW_HOME: one triggered run of the Authentication API DAG.

What is timed for the Airflow run is the run's own ``start_date`` to ``end_date`` from the REST API:
from the scheduler starting the run to it marking the run finished. Starting ``airflow standalone``,
parsing the DAG, the execution API's first request (it builds its routes then, 4-7 s here, once per API
server start: :meth:`~dev.airflow_env.AirflowStandalone.warm_execution_api`) and the trigger request are
not in it, as the in-process warm-up pass is not. The pipeline here has no schedule (a
pipelines file of its own), so the triggered run is the only one, and ``max_logs_per_run`` lets it
read every log (the bench's config Variable, printed).

The profile printed with it comes from the task instances the API reports: each task's queued,
start and end times, so the gaps the scheduler leaves between tasks, the delivery tasks' durations
and how busy the pool's slots were.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from bench.pipeline import DELIVERY_SLOTS, EndToEndResult, wire_connections
from bench.servers import Emulator, Sink, start_emulator, start_sink
from bench.stack import SharedStack, StackPart
from dev.airflow_env import AirflowStandalone, descendants

DAG_ID = AUTHENTICATION_API.dag_id
LOGS = 100_000
RATE_TARGET = 5_000.0
"""Logs read per second through the scheduler, at least."""
RATIO_TARGET = 1.3
"""The Airflow run's time over the in-process time, at most (issue 23; 1.5 before)."""

OWN_CONNECTIONS = ("auth0_default", "auth0_webhook_default")
SHARED_CONNECTIONS = ("bench_scheduler_auth0", "bench_scheduler_webhook")
"""Its connections on the quick form's shared stack: no other benchmark's pipeline uses them."""


def pipeline_entry(auth0_connection: str, webhook_connection: str) -> dict[str, Any]:
    """The pipelines file's entry of this benchmark: no schedule, so the triggered runs are its only runs."""
    return {
        "id": DAG_ID,
        "kind": "authentication",
        "title": "Authentication API webhooks (bench, triggered runs only)",
        "auth0_connection": auth0_connection,
        "webhook_connection": webhook_connection,
        "pool": "auth0_webhooks",
        "schedule": None,
    }


def stack_part(workdir: Path, **_: Any) -> StackPart:
    """This benchmark's part of the quick form's shared stack: its pipeline, unpaused and parsed. Its emulator and
    sink start when it runs (after its in-process passes), its connections set through the REST API then."""

    def ready(airflow: Any) -> None:
        airflow.wait_for_dag(DAG_ID)
        airflow.unpause(DAG_ID)

    return StackPart("scheduler", [pipeline_entry(*SHARED_CONNECTIONS)], wait=ready)


def _say(message: str) -> None:
    print(message, flush=True)


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


@dataclass(frozen=True)
class Task:
    """One task instance's times, from the REST API."""

    task_id: str
    map_index: int
    state: str
    queued: datetime | None
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        """Start to end."""
        return (self.end - self.start).total_seconds()

    @property
    def waited(self) -> float:
        """Queued to start: the executor starting the task's process."""
        return (self.start - self.queued).total_seconds() if self.queued else 0.0


@dataclass(frozen=True)
class SchedulerResult:
    """The Airflow run: its times, its tasks and what the sink received."""

    name: str
    config: dict[str, Any]
    run_id: str
    state: str
    start: datetime
    end: datetime
    tasks: tuple[Task, ...]
    logs: int
    received_logs: int
    unique_logs: int
    requests: int
    cpu: dict[str, float]

    @property
    def seconds(self) -> float:
        """The run's start_date to end_date."""
        return (self.end - self.start).total_seconds()

    def named(self, task_id: str) -> list[Task]:
        """The task instances of ``task_id``, by map index."""
        return sorted((t for t in self.tasks if t.task_id == task_id), key=lambda t: t.map_index)


def _tasks(answer: Sequence[dict[str, Any]]) -> tuple[Task, ...]:
    found = []
    for ti in answer:
        start, end = _moment(ti.get("start_date")), _moment(ti.get("end_date"))
        if start is None or end is None:  # skipped, or never ran
            continue
        found.append(Task(ti["task_id"], int(ti["map_index"]), ti["state"], _moment(ti.get("queued_when")), start, end))
    return tuple(found)


TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
ROLES = (
    ("dag-processor", "dag-processor"),
    ("triggerer", "triggerer"),
    ("api_server", "api-server"),
    ("api-server", "api-server"),
    ("scheduler", "scheduler"),
    ("worker", "tasks"),
    ("task", "tasks"),
    ("serve-logs", "other airflow"),
    ("standalone", "other airflow"),
)


def _cpu_seconds(pid: int) -> tuple[str, float] | None:
    """Return a process's title and its CPU time so far (user + system), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return title, (int(fields[11]) + int(fields[12])) / TICKS


def _machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICKS


def _role(title: str, servers: dict[str, str]) -> str:
    for marker, name in servers.items():
        if marker in title:
            return name
    for marker, name in ROLES:
        if marker in title:
            return name
    return "other airflow"


class CpuSampler:
    """CPU seconds used during a run, per role: Airflow's components, its task processes, the servers.

    Every ``every`` seconds it reads the CPU time of each process of the standalone tree and of the
    emulator and sink; a process's last sample counts (a task process that exits loses at most its
    last ``every`` seconds). Machine-wide busy time comes from /proc/stat, so the CPU that processes
    outside this benchmark used in the same window shows too.
    """

    def __init__(self, root: int, servers: dict[int, str], every: float = 0.25) -> None:
        self.root = root
        self.servers = servers
        self.every = every
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.machine = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)

    def _pids(self) -> list[int]:
        return [self.root, *descendants(self.root), *self.servers]

    def start(self) -> None:
        """Note every process's CPU time now and sample until stop()."""
        for pid in self._pids():
            found = _cpu_seconds(pid)
            if found:
                self.first[pid] = found[1]
        self.machine = -_machine_busy()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        """Read every process's CPU time once."""
        for pid in self._pids():
            found = _cpu_seconds(pid)
            if found:
                self.last[pid] = found

    def stop(self) -> dict[str, float]:
        """Stop sampling; return CPU seconds per role, with ``machine`` (every process on it)."""
        self.sample()
        self.machine += _machine_busy()
        self._stop.set()
        self._thread.join(5)
        markers = {str(pid): name for pid, name in self.servers.items()}
        used: dict[str, float] = {}
        for pid, (title, seconds) in self.last.items():
            role = markers.get(str(pid)) or _role(title, {})
            used[role] = used.get(role, 0.0) + seconds - self.first.get(pid, 0.0)
        used["machine"] = self.machine
        return used


def _in_process_cpu(emulator: Emulator, sink: Sink) -> dict[str, float]:
    """CPU seconds so far of this process (the pipeline's steps), the emulator, the sink and the machine."""
    found = {"pipeline (this process)": time.process_time()}
    for name, server in (("emulator", emulator), ("sink", sink)):
        cpu = _cpu_seconds(server.process.pid)
        found[name] = cpu[1] if cpu else 0.0
    found["machine"] = _machine_busy()
    return found


def airflow_runs(
    workdir: Path,
    emulator: Emulator,
    sink: Sink,
    logs: int,
    configs: Sequence[tuple[str, dict[str, Any]]],
    shared: SharedStack | None = None,
) -> list[SchedulerResult]:
    """Start ``airflow standalone`` in ``workdir`` (or take the quick form's ``shared`` one); trigger one run per
    (name, config), each from the oldest log.

    Between runs the checkpoint Variable is deleted, so every run reads the same ``logs`` logs.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if shared is None:
        pipelines = workdir / "pipelines.yaml"
        pipelines.write_text(yaml.safe_dump({"pipelines": [pipeline_entry(*OWN_CONNECTIONS)]}))
        env = {"AUTH0_LOG_WEBHOOKS_PIPELINES": str(pipelines)}
        airflow = AirflowStandalone(workdir / "airflow_home", extra_env=env)
        auth0, webhook = OWN_CONNECTIONS
    else:
        airflow = shared.ready("scheduler")
        auth0, webhook = SHARED_CONNECTIONS
    host, port = emulator.domain.split(":")
    started = time.perf_counter()
    results = []
    try:
        if shared is None:
            airflow.start()
        connections: dict[str, dict[str, Any]] = {
            auth0: {
                "conn_type": "auth0",
                "conn_host": host,
                "conn_port": int(port),
                "conn_login": emulator.client_id,
                "conn_password": emulator.client_secret,
                "conn_extra": {"scheme": "http"},
            },
            # The same connection the in-process pass uses (bench.pipeline.wire_connections).
            webhook: {
                "conn_type": "http",
                "conn_host": sink.hook_url,
                "conn_extra": {"timeout": 30, "allow_private_network": True},
            },
        }
        if shared is None:
            airflow.apply_settings(connections=connections)
        else:  # the stack applied the settings file at its start (its pool's PATCH would need include_deferred)
            airflow.set_connections(connections)
        airflow.wait_for_dag(DAG_ID)
        airflow.unpause(DAG_ID)  # no schedule: no run until a trigger
        if shared is None:
            _say(f"    airflow standalone up and the DAG parsed in {time.perf_counter() - started:.0f}s (not timed)")
        else:
            others = [dag_id for dag_id in shared.dag_ids() if dag_id != DAG_ID]
            _say(
                f"    on the quick form's shared stack, beside {len(others)} other benchmarks' pipelines (idle, their "
                "watchers polling): its CPU below counts them too"
            )
        if airflow.execution_api_warmup is not None:
            _say(
                f"    the execution API's first request took {airflow.execution_api_warmup:.1f}s before the run "
                "(it builds its routes once per API server start; not timed, as the in-process warm-up pass is not)"
            )
        for name, config in configs:
            airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(config))
            with contextlib.suppress(RuntimeError):  # absent before the first run
                airflow.api("DELETE", f"/variables/{AUTHENTICATION_API.checkpoint_variable}")
            sink.reset()
            assert airflow.process is not None
            sampler = CpuSampler(airflow.process.pid, {emulator.process.pid: "emulator", sink.process.pid: "sink"})
            sampler.start()
            try:
                run_id = airflow.trigger(DAG_ID, run_id=f"bench_scheduler_{name}")
                state = airflow.wait_for_run(DAG_ID, run_id, timeout=1800)
            finally:
                cpu = sampler.stop()
            run = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns/{run_id}")
            tasks = _tasks(airflow.task_instances(DAG_ID, run_id))
            received = sink.summary()
            start, end = _moment(run["start_date"]), _moment(run["end_date"])
            if start is None or end is None:
                raise RuntimeError(f"run {run_id} has no start or end date: {run}")
            results.append(
                SchedulerResult(
                    name=name,
                    config=config,
                    run_id=run_id,
                    state=state,
                    start=start,
                    end=end,
                    tasks=tasks,
                    logs=logs,
                    received_logs=received["logs_received"],
                    unique_logs=received["unique_log_ids"],
                    requests=received["requests"],
                    cpu=cpu,
                )
            )
    finally:
        if shared is None:
            airflow.stop()
    return results


def _empty_expansion(skipped: Task, fetch: list[Task], commit: list[Task], at: Callable[[datetime], str]) -> list[str]:
    """Lines for a deliver mapped over no chunk (the lane sent every batch): when the scheduler skipped it, and
    how long from there to the commit being queued and started."""
    lines = [f"      deliver: no chunk left (the lane sent every batch), marked skipped at {at(skipped.end)}"]
    if fetch:
        lines.append(f"      gap fetch end -> deliver skipped: {(skipped.end - fetch[0].end).total_seconds():.2f}s")
    if commit:
        c = commit[0]
        queued = ((c.queued or c.start) - skipped.end).total_seconds()
        lines.append(f"      gap deliver skipped -> commit queued: {queued:.2f}s, queued -> started: {c.waited:.2f}s")
    return lines


def _commit_lines(
    r: SchedulerResult, fetch: list[Task], commit: list[Task], at: Callable[[datetime], str]
) -> list[str]:
    """Lines for the commit task that ran (``commit``), or for the fetch that committed the run itself."""
    if commit:
        c = commit[0]
        return [
            *(
                [f"      gap fetch end -> commit start: {(c.start - fetch[0].end).total_seconds():.2f}s"]
                if fetch
                else []
            ),
            f"      commit:  started {at(c.start)}, ended {at(c.end)}: {c.seconds:.2f}s running",
            f"      gap commit end -> run end: {(r.end - c.end).total_seconds():.2f}s",
        ]
    if fetch and r.named("commit"):
        return [
            "      commit:  skipped: nothing was left for it, so the fetch committed the run itself",
            f"      gap fetch end -> run end: {(r.end - fetch[0].end).total_seconds():.2f}s",
        ]
    return []


def profile(r: SchedulerResult) -> list[str]:
    """Lines describing where the run's time went: each phase, and the gaps the scheduler left."""
    fetch = r.named("fetch")
    commit = [t for t in r.named("commit") if t.state != "skipped"]  # skipped: the fetch committed the run itself
    deliver = [t for t in r.named("deliver") if t.state != "skipped"]
    expansion = [t for t in r.named("deliver") if t.state == "skipped"]  # mapped over no chunk: the lane sent all
    lines = ["      where the time went (task instances from the REST API, seconds after the run's start):"]
    t0 = r.start

    def at(moment: datetime) -> str:
        return f"{(moment - t0).total_seconds():6.2f}s"

    others = sorted((t for t in r.tasks if t.task_id not in {"fetch", "deliver", "commit"}), key=lambda t: t.start)
    if fetch:
        f = fetch[0]
        lines.append(
            f"      fetch:   queued {at(f.queued or f.start)}, started {at(f.start)}, ended {at(f.end)}: "
            f"{f.seconds:.2f}s running, {f.waited:.2f}s from queued to running"
        )
    if deliver:
        durations = [t.seconds for t in deliver]
        waits = [t.waited for t in deliver]
        first, last = min(t.start for t in deliver), max(t.end for t in deliver)
        span = (last - first).total_seconds()
        busy = sum(durations) / (DELIVERY_SLOTS * span) if span else float("nan")
        lines.append(
            f"      deliver: {len(deliver)} mapped tasks, first started {at(first)}, last ended {at(last)}: "
            f"{span:.2f}s; each ran {min(durations):.2f}-{max(durations):.2f}s "
            f"(median {statistics.median(durations):.2f}s, {sum(durations):.2f}s in all), "
            f"queued to running {min(waits):.2f}-{max(waits):.2f}s; the pool's {DELIVERY_SLOTS} slots "
            f"busy {busy:.0%} of the span"
        )
        if fetch:
            lines.append(f"      gap fetch end -> first delivery start: {(first - fetch[0].end).total_seconds():.2f}s")
        if commit:
            lines.append(
                f"      gap last delivery end -> commit start: {(commit[0].start - last).total_seconds():.2f}s"
            )
    if expansion and not deliver:
        lines += _empty_expansion(expansion[0], fetch, commit, at)
    lines += _commit_lines(r, fetch, commit, at)
    extra = [t for t in others if t.state != "skipped"]
    if extra:
        lines.append(
            "      other tasks: "
            + ", ".join(f"{t.task_id} {at(t.start)}-{at(t.end)} ({t.seconds:.2f}s)" for t in extra)
        )
    cpu = dict(r.cpu)
    machine = cpu.pop("machine")
    ours = sum(cpu.values())
    window = r.seconds  # the sampling window is trigger to finish, a little longer than the run
    lines.append(
        f"      CPU seconds from trigger to finish ({CORES} cores = {CORES * window:.0f} CPU-s in {window:.0f}s): "
        + ", ".join(f"{role} {seconds:.1f}" for role, seconds in sorted(cpu.items(), key=lambda kv: -kv[1]))
        + f"; this stack {ours:.1f}, the whole machine {machine:.1f} (so {max(0.0, machine - ours):.1f} "
        "by processes outside this benchmark)"
    )
    running = sum(t.seconds for t in r.tasks)
    lines.append(
        f"      task time {running:.2f}s over a {r.seconds:.2f}s run (with {DELIVERY_SLOTS} delivery slots in parallel)"
    )
    return lines


def bench_scheduler(
    workdir: Path,
    logs: int,
    rounds: int,
    in_process: Callable[..., EndToEndResult],
    shared: SharedStack | None = None,
) -> list[tuple[str, str, str, bool | None]]:
    """Run the in-process passes then the Airflow runs over ``logs`` logs (on the ``shared`` stack if given, which
    then idles beside the in-process passes too); return summary rows.

    The default settings, measured in process and through Airflow in this invocation: the fetch's
    delivery lane sends batches while it reads, delivery tasks (one per slot of the pool: 5) what it
    left. The Airflow run is compared with the in-process pass of the same settings.
    """
    _say(f"\n[6] throughput through a real scheduler: {logs:,} logs in one triggered run, against in process")
    if shared is not None:
        _say(
            f"    (the quick form's shared stack, {len(shared.dag_ids())} pipelines, idles beside the in-process "
            "passes: the whole machine's CPU below counts it)"
        )
    workdir.mkdir(parents=True, exist_ok=True)  # the servers' logs go here (python -m bench names it, not makes it)
    base = {
        "staging_url": f"file://{workdir}/scheduler-staging",
        "dead_letter_url": f"file://{workdir}/scheduler-dead",
        "max_logs_per_run": 2 * logs,  # the whole backlog in one run
    }
    settings: dict[str, dict[str, Any]] = {"defaults": {}}
    configs = [(name, {**base, **extra}) for name, extra in settings.items()]
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator-scheduler")
    sink = start_sink(workdir, name="sink-scheduler")
    libraries: dict[str, EndToEndResult] = {}
    try:
        wire_connections(emulator.url, emulator.client_id, emulator.client_secret, sink.hook_url)
        for name, extra in settings.items():
            passes = []
            for n in range(rounds + 1):  # the first warms the servers and this process
                before = _in_process_cpu(emulator, sink)
                result = in_process(
                    emulator, sink, workdir / f"scheduler-inprocess-{name}-{n}", logs, f"bench_inproc_{name}_{n}", extra
                )
                after = _in_process_cpu(emulator, sink)
                passes.append((result, {role: after[role] - before[role] for role in after}))
            library, library_cpu = min(passes[1:], key=lambda p: p[0].seconds)
            libraries[name] = library
            _say(
                f"    in process, {name} {json.dumps(extra)} (fastest of {rounds} after a warm-up: "
                f"{', '.join(f'{p.seconds:.2f}s' for p, _ in passes[1:])}): "
                f"{library.seconds:.2f}s = {library.rate(library.seconds):,.0f} logs/s "
                f"(fetch {library.fetch_seconds:.2f}s, deliver {library.deliver_seconds:.2f}s, "
                f"commit {library.commit_seconds:.2f}s; {library.delivered_logs:,} logs delivered)"
            )
            machine = library_cpu.pop("machine")
            _say(
                "      CPU seconds of that pass: "
                + ", ".join(f"{role} {seconds:.1f}" for role, seconds in library_cpu.items())
                + f"; the whole machine {machine:.1f} (so {max(0.0, machine - sum(library_cpu.values())):.1f} "
                "by processes outside this benchmark)"
            )
        results = airflow_runs(workdir / "scheduler", emulator, sink, logs, configs, shared)
    finally:
        sink.stop()
        emulator.stop()
    rows: list[tuple[str, str, str, bool | None]] = []
    for r in results:
        library = libraries[r.name]
        rate = r.logs / r.seconds
        ratio = r.seconds / library.seconds
        complete = r.state == "success" and r.unique_logs == library.delivered_logs
        rate_met = complete and rate >= RATE_TARGET
        ratio_met = complete and ratio <= RATIO_TARGET
        _say(f"    airflow run {r.run_id}, config Variable {json.dumps(r.config)}, pool {DELIVERY_SLOTS} slots:")
        _say(
            f"      {r.state}, start_date -> end_date {r.seconds:.2f}s = {rate:,.0f} logs read/s; the sink received "
            f"{r.received_logs:,} logs ({r.unique_logs:,} distinct; in process delivered {library.delivered_logs:,}) "
            f"in {r.requests:,} requests"
        )
        for line in profile(r):
            _say(line)
        _say(
            f"      target >= {RATE_TARGET:,.0f} logs/s -> {'MET' if rate_met else 'NOT MET'}; airflow / in process "
            f"{r.seconds:.2f}s / {library.seconds:.2f}s = {ratio:.2f}x, target <= {RATIO_TARGET}x "
            f"-> {'MET' if ratio_met else 'NOT MET'}"
        )
        tasks = len([t for t in r.named("deliver") if t.state != "skipped"])  # not the deliver the fetch skipped
        rows.append(
            (
                f"6 scheduler, {r.name} ({tasks} deliver tasks)",
                f"{logs:,} logs in {r.seconds:.2f}s, {rate:,.0f} logs/s; "
                f"{ratio:.2f}x in process ({library.seconds:.2f}s)",
                f">= {RATE_TARGET:,.0f} logs/s, <= {RATIO_TARGET}x",
                rate_met and ratio_met,
            )
        )
    return rows


def run(
    workdir: Path, *, logs: int = LOGS, rounds: int = 2, stack: SharedStack | None = None
) -> list[tuple[str, str, str, bool | None]]:
    """``python -m bench --only scheduler``: :func:`bench_scheduler` with the in-process pass of benchmark 2; its
    Airflow runs on the quick form's shared ``stack`` if given (its part: :func:`stack_part`)."""
    from bench.pipeline import library_end_to_end

    return bench_scheduler(workdir, logs, rounds, library_end_to_end, stack)
