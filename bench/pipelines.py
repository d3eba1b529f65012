"""Benchmark 12 (``--only pipelines``): a hundred pipelines on one deployment, on the cron default and in event mode.

The pipelines file holds ``count`` (100) entries, one per emulated tenant: each tenant is an
emulator of its own (a thread of this process, Auth0's limit of a burst of 10 and 100 requests a
minute, 20 logs of history, its own token-exchange logs), each entry its own Auth0 connection
(``AIRFLOW_CONN_AUTH0_TENANT_NNN``), all delivering to one webhook sink. Three measurements:

1. parse: ``dags/auth0_log_pipelines.py`` parsed by Airflow's ``DagBag`` in a fresh process with
   Airflow imported first (as the dag-processor's parsing child is), best of ``parse_repeats``: the
   file's parse duration as Airflow records it, and that it made ``count`` DAGs with the entries'
   ids. Target: under 2 s.
2. cron (``modes`` has ``cron``): ``airflow standalone`` with the 100 pipelines unpaused on their
   default ``*/5 * * * *``; once every first run has finished, ``cron_minutes`` idle minutes (no new
   logs but the pipelines' own token exchanges) in which the CPU time of each Airflow process is read
   from /proc (bench/scheduler.py's sampler). Target: the scheduler and the dag-processor together
   under 25% of one core.
3. event (``modes`` has ``event``): the same stack with every pipeline in event mode (100 watchers in
   the one triggerer); once every first run has finished and every watcher has polled, tenant 0 gets
   live traffic of 5 logs/s for ``traffic_minutes`` while the CPU is read as above. Targets: the
   triggerer under 25% of one core, and tenant 0's log date to arrival p95 under 30 s.

The stacks have ``stack_count`` pipelines (default ``count``; the quick form runs 20: every pipeline's
first run is two task processes, minutes of CPU for 100 on 2 cores). With ``event_idle_minutes``, the
event stack first idles that long and prints the scheduler and dag-processor's share as well: the idle
headline of the quick form, which starts one stack only (event mode keeps the cron schedule, so its
scheduler has the cron default's work and the asset events' besides).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import requests
import yaml

from auth0_log_webhooks.pipelines.definition import DEFAULT_POOL
from bench.freshness import TRAFFIC_PER_SECOND, Traffic, first_arrivals, log_epoch, percentile
from bench.freshness_stages import (
    FlagSampler,
    ReadRecorder,
    describe_stages,
    events_from_api,
    runs_from_api,
    stages,
    stale_flag,
    timeline,
)
from bench.report import Row, say, verdict_word
from bench.servers import REPO
from bench.stack import SharedStack, StackPart, Window, connection_env
from dev.airflow_env import descendants

COUNT = 100
PARSE_TARGET_SECONDS = 2.0
CPU_TARGET_SHARE = 0.25
"""Of one core."""
P95_TARGET_SECONDS = 30.0
DAG_FILE = REPO / "dags" / "auth0_log_pipelines.py"
PARSE_MARK = "bench.pipelines parse: "
WATCHER_READS = 4
"""Reads of a tenant since a moment that show its watcher polls (a cron run reads it once or twice)."""


PIPELINE_PREFIX = "tenant"


def pipeline_id(number: int) -> str:
    """The id of pipeline ``number`` (its DAG id)."""
    return f"{PIPELINE_PREFIX}_{number:03d}"


def auth0_conn_id(number: int) -> str:
    """The Auth0 connection of pipeline ``number``'s tenant."""
    return f"auth0_{pipeline_id(number)}"


def pipelines_document(count: int, *, mode: str, staging_root: Path) -> dict[str, Any]:
    """The pipelines file: ``count`` authentication pipelines on the default schedule, one tenant each."""
    return {
        "pipelines": [
            {
                "id": pipeline_id(n),
                "kind": "authentication",
                "title": f"Tenant {n} (bench)",
                "auth0_connection": auth0_conn_id(n),
                "webhook_connection": "auth0_webhook_default",
                "mode": mode,
                "settings": {
                    "staging_url": f"file://{staging_root}/staging",
                    "dead_letter_url": f"file://{staging_root}/dead",
                },
            }
            for n in range(count)
        ]
    }


def write_pipelines_file(path: Path, count: int, *, mode: str) -> Path:
    """Write the pipelines file of ``count`` pipelines in ``mode`` to ``path``; return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(pipelines_document(count, mode=mode, staging_root=path.parent)))
    return path


# -- 1. parse -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParseResult:
    """The pipelines DAG file's parse: Airflow's recorded duration and the DAG ids it made."""

    seconds: list[float]
    cpu_seconds: list[float]
    """The parsing process's CPU time over the same span: what the parse costs whatever the machine's load."""
    dag_ids: list[str]
    errors: dict[str, str]

    @property
    def best(self) -> float:
        """The fastest parse."""
        return min(self.seconds)


def _parse_child(argv: list[str]) -> int:
    """In a fresh process: import Airflow, then parse the DAG file; print one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipelines parse")
    parser.add_argument("--file", type=Path, default=DAG_FILE)
    args = parser.parse_args(argv)
    from airflow.dag_processing.dagbag import DagBag  # imported before the clock, as the dag-processor has

    cpu = time.process_time()
    bag = DagBag(dag_folder=str(args.file))
    cpu = time.process_time() - cpu
    stat = next(s for s in bag.dagbag_stats)
    line = {
        "seconds": stat.duration.total_seconds(),
        "cpu_seconds": cpu,
        "dag_ids": sorted(bag.dag_ids),
        "errors": {k: str(v)[:500] for k, v in bag.import_errors.items()},
    }
    print(PARSE_MARK + json.dumps(line), flush=True)
    return 0


def parse_time(pipelines_file: Path, home: Path, repeats: int) -> ParseResult:
    """Parse the pipelines DAG file ``repeats`` times, each in a fresh process, with ``pipelines_file``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AUTH0_LOG_WEBHOOKS_PIPELINES": str(pipelines_file),
            "PYTHONPATH": str(REPO),
        }
    )
    home.mkdir(parents=True, exist_ok=True)
    seconds: list[float] = []
    cpu: list[float] = []
    ids: list[str] = []
    errors: dict[str, str] = {}
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-m", "bench.pipelines", "parse"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith(PARSE_MARK)]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"parsing {DAG_FILE.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        found = json.loads(lines[-1].removeprefix(PARSE_MARK))
        seconds.append(found["seconds"])
        cpu.append(found["cpu_seconds"])
        ids, errors = found["dag_ids"], found["errors"]
    return ParseResult(seconds, cpu, ids, errors)


# -- 2, 3. a stack of a hundred pipelines -----------------------------------------------------------


COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api_server")
"""The long-lived processes of ``airflow standalone``, as their command lines name them."""


def missing_components(titles: list[str]) -> list[str]:
    """The components of :data:`COMPONENTS` no process title names (``api_server`` said as "the API server")."""
    gone = [name for name in COMPONENTS if not any(f"airflow {name}" in title for title in titles)]
    return ["the API server" if name == "api_server" else f"the {name}" for name in gone]


def _title(pid: int) -> str:
    """A process's command line, empty if it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class ManyStack:
    """``count`` emulated tenants (threads here), a sink and ``airflow standalone`` with ``count`` pipelines."""

    mode: str
    count: int
    workdir: Path
    parse_every: float | None = None
    """``[dag_processor] min_file_process_interval`` in seconds; None: Airflow's default (30)."""
    tenants: list[Any] = field(default_factory=list)
    sink: Any = None
    airflow: Any = None
    shared: bool = False
    """On the quick form's shared stack (bench/stack.py): its pipelines are one part of it."""

    def start(self) -> None:
        """Start the tenants, the sink and Airflow; wait until every DAG is parsed and its first run ended."""
        from dev.airflow_env import AirflowStandalone

        env = self.start_servers()
        env["AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"] = "False"
        if self.parse_every is not None:
            env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = f"{self.parse_every:.0f}"
        pipelines = write_pipelines_file(self.workdir / "pipelines.yaml", self.count, mode=self.mode)
        env["AUTH0_LOG_WEBHOOKS_PIPELINES"] = str(pipelines)
        self.airflow = AirflowStandalone(self.workdir / "airflow", extra_env=env)
        began = time.monotonic()
        self.airflow.start()
        self.apply_settings({})
        self.wait_ready(began)

    def start_servers(self) -> dict[str, str]:
        """Start the tenants and the sink; return the environment of Airflow's processes: every connection."""
        from dev.auth0_tenant.testing import start_emulator
        from dev.webhook_sink.app import start_sink
        from dev.webhook_sink.config import SinkConfig

        self.workdir.mkdir(parents=True, exist_ok=True)
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        self.sink = start_sink(SinkConfig(record_path=self.workdir / "sink.jsonl", secrets=(secret,)))
        env = connection_env(
            "auth0_webhook_default",
            {
                "conn_type": "http",
                "host": f"{self.sink.url}/hook",
                "extra": {"signing_secret": secret, "timeout": 10, "allow_private_network": True},
            },
        )
        for n in range(self.count):
            tenant = start_emulator(
                logs=20, seed=1000 + n, history_days=1, client_secret="bench-" + os.urandom(8).hex()
            )
            self.tenants.append(tenant)
            host, port = tenant.domain.split(":")
            env |= connection_env(
                auth0_conn_id(n),
                {
                    "conn_type": "auth0",
                    "host": host,
                    "port": int(port),
                    "login": tenant.client_id,
                    "password": tenant.client_secret,
                    "extra": {"scheme": "http"},
                },
            )
        return env

    def wait_ready(self, began: float) -> None:
        """Wait until every pipeline DAG is parsed and its first run ended (in event mode: every watcher polls).

        Only the pipelines' own runs count: the deployment's daily report has no connection here, fails and
        is retried five minutes later, which is no part of the pipelines' start.
        """
        count = self.count
        self.wait(
            f"the {count} pipeline DAGs to be parsed",
            lambda: self.parsed() >= count,
            900,
            status=lambda: f"{self.parsed()} of {count} parsed",
        )
        self.wait(
            "every pipeline's first run to start",
            lambda: self.runs_total() >= count,
            900,
            status=lambda: f"{self.runs_total()} of {count} runs started; {self.stack_health()}",
        )
        self.wait(
            "every first run to end",
            lambda: self.active_runs() == 0,
            1800,
            status=lambda: f"{self.active_runs()} of {count} runs queued or running; {self.stack_health()}",
        )
        if self.mode == "event":
            self.wait_for_watchers()
        took = time.monotonic() - began
        say(f"    {self.mode}: {self.count} pipelines parsed and their first runs ended in {took:.0f}s")

    def switch_mode(self, mode: str) -> None:
        """Rewrite the pipelines file in ``mode``; wait until the dag-processor re-parsed it (every DAG's schedule
        changed) and, for ``event``, every watcher polls. The stack's first runs ended in the mode it started in,
        so a second mode needs no second start (the most of a stack's set-up: two task processes per pipeline).
        """
        began = time.monotonic()
        before = self.schedules()
        pipelines = write_pipelines_file(self.workdir / "pipelines.yaml", self.count, mode=mode)
        self.mode = mode

        def changed() -> bool:
            now = self.schedules()
            return all(now.get(dag_id) not in (None, was) for dag_id, was in before.items())

        self.wait(f"the {self.count} DAGs to be parsed in {mode} mode", changed, 900)
        self.wait(
            "the runs of the schedule to end",
            lambda: self.active_runs() == 0,
            1800,
            status=lambda: f"{self.active_runs()} runs queued or running; {self.stack_health()}",
        )
        if mode == "event":
            self.wait_for_watchers()
        took = time.monotonic() - began
        say(f"    {mode}: {pipelines.name} rewritten; the {self.count} pipelines in {mode} mode after {took:.0f}s")

    def schedules(self) -> dict[str, str | None]:
        """Each pipeline DAG's schedule as the API summarises it, by DAG id."""
        found = self.airflow.api("GET", "/dags", params={"dag_id_pattern": "tenant%", "limit": 1000})["dags"]
        return {d["dag_id"]: d.get("timetable_summary") for d in found}

    def wait_for_watchers(self) -> None:
        """Wait until every tenant is read at a watcher's pace: ``WATCHER_READS`` times since now (a cron run
        reads its tenant once or twice, and the schedule's runs come every 5 minutes)."""
        base = [t.state.counters["log_requests"] for t in self.tenants]
        self.wait("every watcher to poll its tenant", lambda: self.every_tenant_read_since(base), 900)

    def apply_settings(self, connections: dict[str, Any], timeout: float = 300) -> None:
        """Create the settings' pools and variables and ``connections``; again while the API server answers a
        database error (SQLite is locked while the dag-processor writes the pipelines' DAGs). Each write is an
        upsert, so a repeat is safe.

        :raises RuntimeError: the API server's answer, if it is no database error or errors outlast ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.airflow.apply_settings(connections=connections)
                return
            except RuntimeError as exc:
                if "Database error" not in str(exc) or time.monotonic() > deadline:
                    raise
                say(f"    {self.mode}: the API server answered a database error while DAGs are written; again in 2s")
                time.sleep(2)

    @staticmethod
    def wait(
        what: str,
        done: Callable[[], bool],
        timeout: float,
        *,
        status: Callable[[], str] | None = None,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Poll ``done`` every 2 s until it is true; after ``timeout`` s raise, naming ``what``.

        A poll the API server answers with a database error (SQLite is locked while the dag-processor writes the
        pipelines' DAGs) or not in time counts as not done yet. Every ``every`` s it says it still waits, with
        ``status()`` (how far it got) or why the last poll had no answer, and so does the error: a wait of 15
        minutes that fails says where it stood.
        """
        began = clock()
        said = began
        while True:
            answer = ManyStack._answered(done)
            if answer is True:
                return
            now = clock()
            if now - began > timeout or now - said >= every:
                where = answer if isinstance(answer, str) else ManyStack._status(status)
                if now - began > timeout:
                    raise TimeoutError(f"waited {timeout:.0f}s for {what}{where and f' ({where})'}")
                say(f"    still waiting for {what} after {now - began:.0f}s{where and f': {where}'}")
                said = now
            sleep(2)

    @staticmethod
    def _answered(done: Callable[[], bool]) -> bool | str:
        """``done()``, or why the API server gave no answer: a database error or none in time."""
        try:
            return done()
        except requests.Timeout:
            return "the API server did not answer in time"
        except RuntimeError as exc:
            if "Database error" not in str(exc):
                raise
            return "the API server answered a database error"

    @staticmethod
    def _status(status: Callable[[], str] | None) -> str:
        """``status()``, or empty when there is none or the API server gave no answer to it."""
        if status is None:
            return ""
        try:
            return status()
        except (requests.Timeout, RuntimeError) as exc:
            return f"no answer on how far: {str(exc)[:120]}"

    def parsed(self) -> int:
        """Pipeline DAGs the API knows."""
        query = {"dag_id_pattern": f"{PIPELINE_PREFIX}%", "limit": 1}
        return int(self.airflow.api("GET", "/dags", params=query)["total_entries"])

    def runs_total(self, **params: Any) -> int:
        """Runs of the pipelines' DAGs matching ``params`` (the REST API's filters); no other DAG's."""
        query = {"limit": 1, "dag_id_pattern": PIPELINE_PREFIX, **params}
        return int(self.airflow.api("GET", "/dags/~/dagRuns", params=query)["total_entries"])

    def active_runs(self) -> int:
        """Runs queued or running, of the pipelines' DAGs."""
        return self.runs_total(state=["queued", "running"])

    def every_tenant_read_since(self, base: list[int]) -> bool:
        """True once every tenant served ``WATCHER_READS`` log reads since ``base`` (its count then): watchers poll."""
        return all(
            t.state.counters["log_requests"] >= b + WATCHER_READS for t, b in zip(self.tenants, base, strict=True)
        )

    def stack_health(self) -> str:
        """Which of Airflow's components are gone (from /proc), in words: a stalled wait says if one exited."""
        root = self.airflow.process.pid if self.airflow is not None and self.airflow.process is not None else None
        titles = [] if root is None else [_title(pid) for pid in (root, *descendants(root))]
        gone = missing_components(titles)
        if not gone:
            return "scheduler, dag-processor, triggerer and API server running"
        log = self.airflow.home / "standalone.log" if self.airflow is not None else "standalone.log"
        return f"{' and '.join(gone)} not running (see {log})"

    def stop(self) -> None:
        """Stop Airflow, the sink and the tenants (not a shared stack's: the runner stops it)."""
        if self.shared:
            return
        for part in (self.airflow, self.sink, *self.tenants):
            if part is not None:
                part.stop()


@dataclass(frozen=True)
class LoadResult:
    """CPU seconds per Airflow role over a window, and what ran in it."""

    mode: str
    seconds: float
    cpu: dict[str, float]
    runs: int
    lags: list[float] = field(default_factory=list)
    created: int = 0

    def share(self, *roles: str) -> float:
        """The CPU of ``roles`` over the window, as a share of one core."""
        return sum(self.cpu.get(role, 0.0) for role in roles) / self.seconds

    def p95(self) -> float:
        """Tenant 0's log date to arrival p95 (inf when nothing arrived)."""
        return percentile(self.lags, 0.95) if self.lags else float("inf")


def _spans(items: list[dict[str, Any]], first: str, then: str) -> str:
    """``median / p95 / max`` of the seconds from each item's ``first`` moment to its ``then`` (both set)."""
    spans = [
        datetime.fromisoformat(item[then]).timestamp() - datetime.fromisoformat(item[first]).timestamp()
        for item in items
        if item.get(first) and item.get(then)
    ]
    if not spans:
        return "none"
    return f"{percentile(spans, 0.5):.1f} / {percentile(spans, 0.95):.1f} / {max(spans):.1f}s"


def describe_waits(stack: ManyStack, dag_id: str, since: float) -> str:
    """Where the runs of ``dag_id`` created since ``since`` (epoch seconds) spent their time, from the REST API.

    For each run: created (queued) to started, which ``max_active_runs`` holds while the pipeline's run before
    is in flight; for each task: scheduled to queued, which the pool's slots and the executor's parallelism hold;
    queued to running, the executor starting the process (the CPU); then the task's run.
    """
    after = {"run_after_gte": datetime.fromtimestamp(since, UTC).isoformat(), "limit": 1000}
    runs = stack.airflow.api("GET", f"/dags/{dag_id}/dagRuns", params=after)["dag_runs"]
    tis = stack.airflow.api("GET", f"/dags/{dag_id}/dagRuns/~/taskInstances", params=after)["task_instances"]
    kinds = Counter(r["run_type"] for r in runs)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for ti in tis:
        by_task.setdefault(ti["task_id"], []).append(ti)
    parts = [
        f"{len(runs)} runs ({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}); median / p95 / max: "
        f"run created to started {_spans(runs, 'queued_at', 'start_date')}, "
        f"run {_spans(runs, 'start_date', 'end_date')}"
    ]
    parts += [
        f"{task} ({len(items)}): scheduled to queued (pool slots, parallelism) "
        f"{_spans(items, 'scheduled_when', 'queued_when')}, queued to running (executor, CPU) "
        f"{_spans(items, 'queued_when', 'start_date')}, running {_spans(items, 'start_date', 'end_date')}"
        for task, items in sorted(by_task.items())
    ]
    return "; ".join(parts)


def say_stages(stack: ManyStack, since: float, logs: dict[str, tuple[float, float]], recorder: ReadRecorder) -> None:
    """Print where tenant 0's live logs spent their freshness (bench/freshness_stages.py): each stage's p50 and
    p95, the stages of the logs at or above the p95, and the moments around the five slowest logs."""
    dag_id = pipeline_id(0)
    after = datetime.fromtimestamp(since - 120, UTC).isoformat()
    found = stack.airflow.api("GET", f"/dags/{dag_id}/dagRuns", params={"run_after_gte": after, "limit": 1000})
    runs = runs_from_api(found["dag_runs"])
    params = {"name_pattern": f"{dag_id}_tenant_logs", "timestamp_gte": after, "limit": 1000}
    events = events_from_api(stack.airflow.api("GET", "/assets/events", params=params)["asset_events"])
    reads = list(recorder.reads)
    per_log = {i: stages(i, date, arrival, reads, events, runs) for i, (date, arrival) in logs.items()}
    totals = [arrival - date for date, arrival in logs.values()]
    say(
        f"    event: tenant 0's freshness in stages ({len(logs)} logs, {len(reads)} reads of the tenant, "
        f"{len(events)} asset events, {len(runs)} runs):"
    )
    for line in describe_stages(list(per_log.values()), totals):
        say(f"      {line}")
    slowest = sorted(logs, key=lambda i: logs[i][0] - logs[i][1])[:5]
    for log_id in slowest:
        date, arrival = logs[log_id]
        say(f"      {timeline(log_id, date, arrival, reads, events, runs)}")


def sample_pool(stack: ManyStack, pool: str, seconds: float, every: float = 10.0) -> list[dict[str, int]]:
    """Read ``pool``'s slots every ``every`` seconds for ``seconds``: what its tasks queue for."""
    samples: list[dict[str, int]] = []
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            found = stack.airflow.api("GET", f"/pools/{pool}")
            samples.append({k: int(found[k]) for k in ("running_slots", "queued_slots", "scheduled_slots")})
        except RuntimeError:
            pass  # a busy API server: a sample fewer
        time.sleep(max(0.0, min(every, ends - time.monotonic())))
    return samples


def describe_pool(pool: str, samples: list[dict[str, int]]) -> str:
    """The pool's samples in one line: tasks running, queued and scheduled (waiting for a slot), median / max."""
    if not samples:
        return f"pool {pool}: no sample"
    parts = []
    for key in ("running_slots", "queued_slots", "scheduled_slots"):
        values = [float(s[key]) for s in samples]
        parts.append(f"{key.removesuffix('_slots')} {percentile(values, 0.5):.0f} / {max(values):.0f}")
    return f"pool {pool} over {len(samples)} samples (median / max): {', '.join(parts)}"


def measure_window(stack: ManyStack, minutes: float, *, traffic: bool) -> LoadResult:
    """Read every Airflow process's CPU for ``minutes``; with ``traffic``, tenant 0 gets 5 logs/s meanwhile."""
    from bench.scheduler import CpuSampler

    assert stack.airflow.process is not None
    runs_before = stack.runs_total()
    sampler = CpuSampler(stack.airflow.process.pid, {os.getpid(): "bench (tenants, sink)"})
    live = Traffic(stack.tenants[0], TRAFFIC_PER_SECOND) if traffic else None
    recorder = ReadRecorder(stack.tenants[0].state)
    began = time.monotonic()
    wall = time.time()
    sampler.start()
    flags = FlagSampler(stack.workdir / "airflow" / "airflow.db", pipeline_id(0))
    if live:
        recorder.install()
        flags.start()
        live.start()
    pool = sample_pool(stack, DEFAULT_POOL, minutes * 60) if live else []
    if not live:
        time.sleep(minutes * 60)
    cpu = sampler.stop()
    seconds = time.monotonic() - began
    lags: list[float] = []
    created = 0
    if live:
        live.stop()
        tenant = stack.tenants[0]
        wanted = {i for i in live.ids if tenant.state.get_log(i)["type"] not in ("sapi", "fapi")}
        ManyStack.wait("tenant 0's live logs to arrive", lambda: wanted <= set(stack.sink.state.log_ids()), 300)
        recorder.remove()
        flagged = stale_flag(flags.stop())
        say(f"    event: {pipeline_id(0)}'s cached exceeds_max_non_backfill (SQLite, every 0.5s): {flagged}")
        arrivals = first_arrivals(stack.sink)
        lags = [arrivals[i] - log_epoch(tenant, i) for i in sorted(wanted) if i in arrivals]
        created = len(wanted)
        try:
            say_stages(
                stack, wall, {i: (log_epoch(tenant, i), arrivals[i]) for i in sorted(wanted) if i in arrivals}, recorder
            )
        except RuntimeError as exc:  # the numbers above stand without it
            say(f"    event: tenant 0's stages not read ({str(exc)[:200]})")
        try:
            waited = describe_waits(stack, pipeline_id(0), wall)
        except RuntimeError as exc:  # the numbers above stand without it
            waited = f"not read ({str(exc)[:200]})"
        say(f"    event: where tenant 0's runs waited: {waited}")
        say(f"    event: {describe_pool(DEFAULT_POOL, pool)}")
    return LoadResult(stack.mode, seconds, cpu, stack.runs_total() - runs_before, lags, created)


def describe_cpu(r: LoadResult, label: str = "") -> str:
    """The printed line of a window's CPU by role, headed ``label`` (default: the mode)."""
    cpu = dict(r.cpu)
    machine = cpu.pop("machine", 0.0)
    roles = ", ".join(
        f"{role} {s:.1f}s ({s / r.seconds:.0%})" for role, s in sorted(cpu.items(), key=lambda kv: -kv[1])
    )
    return (
        f"    {label or r.mode}: {r.seconds:.0f}s window, {r.runs} runs started; "
        f"CPU seconds (share of one core): {roles}; "
        f"the whole machine {machine:.1f}s ({machine / r.seconds:.0%} of one core, other sessions included)"
    )


def _idle_row(result: LoadResult, count: int, label: str) -> Row:
    """The idle headline: the scheduler and dag-processor's share of one core over ``result``'s window."""
    target = f"< {CPU_TARGET_SHARE:.0%} of one core"
    share = result.share("scheduler", "dag-processor")
    met = share < CPU_TARGET_SHARE
    say(f"    {label}: scheduler + dag-processor {share:.0%} of one core; target {target} -> {verdict_word(met)}")
    return Row(f"12 {count} pipelines, {label}: scheduler + dag-processor", f"{share:.0%} of one core", target, met)


def shared_window(stack: ManyStack, window: Window) -> LoadResult:
    """An idle window of the shared stack (bench/stack.py) as this benchmark's: its CPU and its pipelines' runs."""

    def iso(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).isoformat()

    runs = stack.runs_total(run_after_gte=iso(window.began), run_after_lte=iso(window.ended))
    return LoadResult(stack.mode, window.seconds, window.cpu, runs)


def _mode_rows(mode: str, count: int, result: LoadResult, idle: LoadResult | None, note: str = "") -> list[Row]:
    """The headlines of one mode's windows: ``idle`` (event mode, before the traffic) and ``result``; ``note``
    follows each headline's name (a setting that is not Airflow's default)."""
    if mode == "cron":
        say(describe_cpu(result))
        return [_idle_row(result, count, f"cron idle{note}")]
    rows = []
    if idle is not None:
        say(describe_cpu(idle, "event, idle"))
        rows.append(_idle_row(idle, count, f"event idle (cron kept){note}"))
    say(describe_cpu(result))
    target = f"< {CPU_TARGET_SHARE:.0%} of one core"
    share = result.share("triggerer")
    met_cpu = share < CPU_TARGET_SHARE
    p95 = result.p95()
    missing = result.created - len(result.lags)
    met_fresh = p95 < P95_TARGET_SECONDS and missing == 0
    p50 = percentile(result.lags, 0.5) if result.lags else float("inf")
    say(
        f"    event: triggerer {share:.0%} of one core with {count} watchers; target {target} -> "
        f"{verdict_word(met_cpu)}; tenant 0: {result.created} live logs, log date to arrival p50 {p50:.1f}s, "
        f"p95 {p95:.1f}s, {missing} never arrived; target p95 < {P95_TARGET_SECONDS:.0f}s -> {verdict_word(met_fresh)}"
    )
    return [
        *rows,
        Row(f"12 {count} pipelines, event{note}: triggerer", f"{share:.0%} of one core", target, met_cpu),
        Row(
            f"12 {count} pipelines, event{note}: freshness p95",
            f"{p95:.1f}s ({result.created} logs, {missing} missing)",
            f"< {P95_TARGET_SECONDS:.0f}s",
            met_fresh,
        ),
    ]


def _stack_rows(
    modes: list[str] | tuple[str, ...],
    count: int,
    workdir: Path,
    minutes: dict[str, float],
    idle_minutes: float = 0.0,
    parse_every: float | None = None,
) -> list[Row]:
    """Start one stack in the first of ``modes`` and measure each mode in turn on it, switching the pipelines
    file between them (the first runs, most of a start, happen once)."""
    stack = ManyStack(modes[0], count, workdir / f"stack-{'-'.join(modes)}", parse_every)
    rows: list[Row] = []
    note = "" if parse_every is None else f", files parsed every {parse_every:.0f}s"
    try:
        stack.start()
        for mode in modes:
            if stack.mode != mode:
                stack.switch_mode(mode)
            idle = measure_window(stack, idle_minutes, traffic=False) if mode == "event" and idle_minutes > 0 else None
            result = measure_window(stack, minutes[mode], traffic=mode == "event")
            rows += _mode_rows(mode, count, result, idle, note)
    finally:
        stack.stop()
    return rows


def _shared_rows(shared: SharedStack, minutes: float, idle_minutes: float) -> list[Row]:
    """Event mode on the quick form's shared stack: its idle window (benchmark 9 reads the same), then the traffic."""
    shared.ready("pipelines")
    stack = cast(ManyStack, shared.part("pipelines").owner)
    others = [dag_id for dag_id in shared.dag_ids() if PIPELINE_PREFIX not in dag_id]
    say(
        f"    event: the {stack.count} pipelines on the quick form's shared stack, whose Airflow processes also serve "
        f"{len(others)} other benchmarks' pipelines ({', '.join(others)}): each CPU share below counts them too"
    )
    idle = shared_window(stack, shared.idle_window(idle_minutes, "benchmark 12")) if idle_minutes > 0 else None
    return _mode_rows(SHARED_MODE, stack.count, measure_window(stack, minutes, traffic=True), idle)


def run(
    workdir: Path,
    *,
    count: int = COUNT,
    stack_count: int | None = None,
    parse_repeats: int = 3,
    modes: list[str] | tuple[str, ...] = ("cron", "event"),
    cron_minutes: float = 10.0,
    traffic_minutes: float = 5.0,
    event_idle_minutes: float = 0.0,
    parse_every: float | None = None,
    stack: SharedStack | None = None,
) -> list[Row]:
    """Benchmark 12: the parse of ``count`` pipelines, then a stack of ``stack_count`` (default ``count``) per mode;
    ``event_idle_minutes`` of idling on the event stack before its traffic. With the quick form's shared
    ``stack``, the event mode's pipelines are its part (:func:`stack_part`) and the idle window its."""
    stacked = count if stack_count is None else stack_count
    say(
        f"\n[12] {count} pipelines on one deployment: the parse, then "
        f"{', '.join(f'{stacked} pipelines in {mode} mode' for mode in modes) or 'no stack'}"
    )
    workdir.mkdir(parents=True, exist_ok=True)
    pipelines = write_pipelines_file(workdir / "parse" / "pipelines.yaml", count, mode="cron")
    parsed = parse_time(pipelines, workdir / "parse" / "airflow", parse_repeats)
    expected = sorted(pipeline_id(n) for n in range(count))
    right = parsed.dag_ids == expected and not parsed.errors
    met = parsed.best < PARSE_TARGET_SECONDS and right
    say(
        f"    parse of {DAG_FILE.name} with {count} pipelines (Airflow's recorded duration, fresh process each): "
        f"{', '.join(f'{s:.2f}s' for s in parsed.seconds)} (CPU {', '.join(f'{s:.2f}s' for s in parsed.cpu_seconds)}); "
        f"{len(parsed.dag_ids)} DAGs"
        f"{'' if right else f' (expected {count} named tenant_000..; errors {parsed.errors})'}; "
        f"target best < {PARSE_TARGET_SECONDS:.0f}s -> {verdict_word(met)}"
    )
    best = f"{parsed.best:.2f}s, CPU {min(parsed.cpu_seconds):.2f}s (best of {parse_repeats})"
    rows = [Row(f"12 {count} pipelines: parse", best, "< 2 s", met)]
    minutes = {"cron": cron_minutes, "event": traffic_minutes}
    if stack is not None and SHARED_MODE in modes:
        rows += _shared_rows(stack, minutes[SHARED_MODE], event_idle_minutes)
    own = [mode for mode in modes if stack is None or mode != SHARED_MODE]
    if own:
        rows += _stack_rows(own, stacked, workdir, minutes, event_idle_minutes, parse_every)
    return rows


SHARED_MODE = "event"
"""The mode of this benchmark's pipelines on the shared stack (the quick form's only mode)."""


def stack_part(
    workdir: Path,
    *,
    count: int = COUNT,
    stack_count: int | None = None,
    modes: list[str] | tuple[str, ...] = ("cron", "event"),
    parse_every: float | None = None,
    **_: Any,
) -> StackPart | None:
    """This benchmark's part of the shared stack: ``stack_count`` pipelines in event mode, their tenants and sink.

    None if it runs no event mode (a cron stack is a stack of its own), or sets ``parse_every`` (a setting of
    the whole stack's dag-processor, which the other benchmarks' parts do not ask for).
    """
    if SHARED_MODE not in modes or parse_every is not None:
        return None
    many = ManyStack(SHARED_MODE, count if stack_count is None else stack_count, workdir / "shared", shared=True)
    env = many.start_servers()
    document = pipelines_document(many.count, mode=SHARED_MODE, staging_root=many.workdir)

    def ready(airflow: Any) -> None:
        many.airflow = airflow
        many.wait_ready(time.monotonic())

    return StackPart(
        "pipelines",
        document["pipelines"],
        env=env,
        servers=[many.sink, *many.tenants],
        tenants={f"pipelines {pipeline_id(n)}": t for n, t in enumerate(many.tenants)},
        wait=ready,
        owner=many,
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["parse"]:
        sys.exit(_parse_child(sys.argv[2:]))
    sys.exit(f"usage: python -m bench.pipelines parse [--file DAG_FILE] (the benchmark itself: {sys.argv[0]} ...)")
