"""Benchmark 4 (``--only distributed``): one run of a million logs on a distributed Airflow.

PostgreSQL metadata DB, CeleryExecutor on Redis with two workers (``celery@worker-a``/``-b``, each
its own process), api-server, scheduler, dag-processor and triggerer as separate processes, staging
and dead letters on S3 (moto's server), the emulator and sink as processes of their own
(:class:`dev.airflow_cluster.ClusterStack`). The first run after unpausing reads every log from the oldest.

While it runs, a sampler reads every second: each running task instance's peak RSS (``VmHWM``
of the process Airflow reports as the task's pid) and the connections open to the stack's
database. Printed: wall time from trigger to success, logs/s, peak RSS per task (fetch, the
deliveries' range, commit), the most Postgres connections seen, and which worker ran what.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from bench.servers import CLIENT_ID, CLIENT_SECRET, start_emulator, start_sink
from dev.airflow_cluster import ClusterStack
from dev.object_store import S3Server

DAG_ID = AUTHENTICATION_API.dag_id
BUCKET = "auth0-webhooks-bench"
STORE_CONN_ID = "aws_staging"


def peak_rss_mb(pid: int) -> float | None:
    """Return a live process's peak resident set size (``VmHWM``) in MB, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass
class Sampler:
    """Samples task memory and Postgres connections every ``every`` seconds in a thread."""

    cluster: ClusterStack
    run_id: str
    every: float = 1.0
    peaks: dict[str, float] = field(default_factory=dict)
    max_connections: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _session: requests.Session = field(default_factory=requests.Session)  # not the main thread's

    def start(self) -> None:
        """Start sampling in the background."""
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self) -> None:
        """Take one sample (errors of a sample are skipped: the stack may be busy)."""
        try:
            self.max_connections = max(self.max_connections, self.cluster.postgres_connections())
            path = f"{self.cluster.url}/api/v2/dags/{DAG_ID}/dagRuns/{self.run_id}/taskInstances"
            answer = self._session.get(path, params={"limit": 1000}, timeout=30)
            answer.raise_for_status()
            for ti in answer.json()["task_instances"]:
                if ti["state"] == "running" and ti.get("pid"):
                    peak = peak_rss_mb(int(ti["pid"]))
                    key = f"{ti['task_id']}[{ti['map_index']}]"
                    if peak is not None:
                        self.peaks[key] = max(self.peaks.get(key, 0.0), peak)
            self.samples += 1
        except Exception:  # noqa: S110 - a missed sample is not a failed benchmark
            pass


def _say(message: str) -> None:
    print(message, flush=True)


def _configure(cluster: ClusterStack, emulator: Any, sink: Any, s3: S3Server, logs: int) -> None:
    host, port = emulator.domain.split(":")
    cluster.apply_settings(
        connections={
            "auth0_default": {
                "conn_type": "auth0",
                "conn_host": host,
                "conn_port": int(port),
                "conn_login": CLIENT_ID,
                "conn_password": CLIENT_SECRET,
                "conn_extra": {"scheme": "http"},
            },
            "auth0_webhook_default": {
                "conn_type": "http",
                "conn_host": sink.hook_url,
                "conn_extra": {"timeout": 30, "allow_private_network": True},  # the sink is on loopback
            },
            STORE_CONN_ID: s3.connection(),
        }
    )
    root = f"s3://{STORE_CONN_ID}@{BUCKET}"
    config = {"staging_url": f"{root}/staging", "dead_letter_url": f"{root}/dead", "max_logs_per_run": logs}
    cluster.set_variable(AUTHENTICATION_API.config_variable, json.dumps(config))


def bench_distributed(workdir: Path, logs: int) -> list[tuple[str, str]]:
    """Run benchmark 4 and return its summary rows (benchmark, result)."""
    _say(f"\n[4] distributed: {logs:,} logs, PostgreSQL + CeleryExecutor (2 workers on Redis) + S3 (moto)")
    started = time.perf_counter()
    s3 = S3Server(workdir / "moto.log")
    emulator = start_emulator(workdir, logs=logs, per_minute=0, name="emulator-distributed")
    sink = start_sink(workdir, name="sink-distributed")
    cluster = ClusterStack(workdir / "cluster", extra_env={"AUTH0_AUTHENTICATION_API_WEBHOOKS_SCHEDULE": "0 0 * * *"})
    try:
        s3.start()
        s3.create_bucket(BUCKET)
        cluster.start()
        _say(f"    stack up in {time.perf_counter() - started:.0f}s (emulator with {logs:,} logs, S3, cluster)")
        _configure(cluster, emulator, sink, s3, logs)
        cluster.wait_for_dag(DAG_ID)
        # Unpausing starts the latest daily interval's run at once: with no checkpoint yet, it reads
        # every log from the oldest (up to max_logs_per_run), as a new deployment's first run does.
        t0 = time.perf_counter()
        cluster.unpause(DAG_ID)
        run_id = _first_run(cluster)
        sampler = Sampler(cluster, run_id)
        sampler.start()
        try:
            state = cluster.wait_for_run(DAG_ID, run_id, timeout=3 * 3600)
        finally:
            sampler.stop()
        seconds = time.perf_counter() - t0
        return _report(cluster, sink, run_id, state, seconds, logs, sampler)
    finally:
        cluster.stop()
        s3.stop()
        sink.stop()
        emulator.stop()


def _first_run(cluster: ClusterStack) -> str:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        runs = cluster.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        if runs:
            return str(runs[0]["dag_run_id"])
        time.sleep(0.5)
    raise TimeoutError("unpausing the DAG started no run within 300s")


def _report(
    cluster: ClusterStack, sink: Any, run_id: str, state: str, seconds: float, logs: int, sampler: Sampler
) -> list[tuple[str, str]]:
    summary = sink.summary()
    tis = cluster.task_instances(DAG_ID, run_id)
    workers = Counter(ti.get("hostname") for ti in tis)
    deliveries = sorted(p for k, p in sampler.peaks.items() if k.startswith("deliver["))
    fetch, commit = sampler.peaks.get("fetch[-1]"), sampler.peaks.get("commit[-1]")
    rate = logs / seconds
    _say(f"    run {run_id}: {state} in {seconds:.0f}s = {rate:,.0f} logs read/s")
    _say(
        f"    webhook: {summary['requests']:,} requests, {summary['logs_received']:,} logs received, "
        f"{summary['unique_log_ids']:,} unique, {summary['duplicate_log_ids']} duplicates"
    )
    _say(f"    task instances per worker: {dict(workers)}")
    memory = (
        f"fetch {_mb(fetch)}, deliver {_mb(deliveries[0] if deliveries else None)}-"
        f"{_mb(deliveries[-1] if deliveries else None)} ({len(deliveries)} tasks), commit {_mb(commit)}"
    )
    _say(f"    peak RSS per task (VmHWM of the task process, sampled every second): {memory}")
    connections = f"{sampler.max_connections} ({sampler.samples} samples)"
    _say(f"    most Postgres connections to the stack's database: {connections}")
    return [
        ("4 distributed run", f"{logs:,} logs {state} in {seconds:.0f}s, {rate:,.0f} logs/s"),
        ("4 distributed memory", memory),
        ("4 distributed Postgres", f"<= {sampler.max_connections} connections"),
    ]


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MB"


def run(workdir: Path, *, logs: int = 1_000_000) -> list[tuple[str, str, str, bool | None]]:
    """``python -m bench --only distributed``: :func:`bench_distributed`'s rows, which have no target yet."""
    return [(name, result, "n/a", None) for name, result in bench_distributed(workdir, logs)]
