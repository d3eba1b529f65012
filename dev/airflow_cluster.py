"""A distributed Airflow on one machine: PostgreSQL, CeleryExecutor on Redis, each component its own process.

:class:`ClusterStack` is what a production deployment runs, on loopback:

* the metadata DB is a fresh PostgreSQL database (127.0.0.1:5432, trust auth, user ``postgres``)
  created for the stack and dropped when it stops;
* the CeleryExecutor's broker is Redis (127.0.0.1:6379) under a key prefix of the stack's own, so
  parallel stacks share the server without seeing each other's queues (removed when it stops);
  Celery's results go to the stack's PostgreSQL database;
* api-server, scheduler, dag-processor, triggerer and each Celery worker are separate processes
  (``celery@worker-a``, ``celery@worker-b``, ...), each in its own process group, so a test can
  SIGKILL one worker as a machine failure would and start it again.

Each worker reports its own host name to Airflow (``[core] hostname_callable`` =
:func:`worker_hostname`), so a task instance's ``hostname`` says which worker ran it.

The components share one AIRFLOW_HOME only for their configuration and task logs (the API server
reads a task's log from disk); the pipeline's data (staging, dead letters) goes through object
storage, never through that folder.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from dev.airflow_env import AirflowStandalone, descendants, free_port

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
WORKER_ENV = "AUTH0_DEV_WORKER_HOSTNAME"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def worker_hostname() -> str:
    """Return this worker's name (``[core] hostname_callable`` of the stack's workers)."""
    import socket

    return os.environ.get(WORKER_ENV) or socket.getfqdn()


def _admin_connection() -> Any:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    connection.autocommit = True
    return connection


class ClusterStack(AirflowStandalone):
    """Airflow as separate processes on PostgreSQL and Celery; the REST helpers of :class:`AirflowStandalone`.

    :param workers: the Celery workers' names (``celery@<name>``); each runs ``concurrency`` tasks at once.
    """

    def __init__(
        self,
        home: Path,
        *,
        workers: tuple[str, ...] = ("worker-a", "worker-b"),
        concurrency: int = 3,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(home, extra_env=extra_env)
        self.database = f"auth0_webhooks_{secrets.token_hex(6)}"
        self.key_prefix = f"{self.database}:"
        self.worker_names = workers
        self.concurrency = concurrency
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.log_offsets: dict[str, int] = {}  # where each worker's log stood when it was last started
        self.jwt_secret = secrets.token_hex(32)
        self.fernet_key = _fernet_key()
        self.log_ports = (free_port(), free_port())  # nothing serves logs; the ports must not collide

    # -- configuration ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Return the environment every component runs with: PostgreSQL, Celery on Redis, shared secrets."""
        env = super().env()
        # The standalone's SQLite lock wait ({"timeout": 20}): psycopg2 refuses it ("invalid dsn"), so migrate fails.
        del env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"]
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"{POSTGRES}/{self.database}",
                "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{POSTGRES}/{self.database}",
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": self.key_prefix,
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                # Every component must sign and check the Execution API's tokens with the same key,
                # and read the connections the API server encrypted.
                "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
                "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API__HOST": "127.0.0.1",
                # A task whose worker died is noticed within about 30 s, not the default 5 minutes.
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.log_ports[0]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.log_ports[1]),
            }
        )
        env.update(self.extra_env)
        return env

    def worker_env(self, name: str, extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
        """Return a worker's environment: the stack's, its own host name, and ``extra_env``."""
        env = self.env()
        env.update(
            {WORKER_ENV: name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.worker_hostname", **(extra_env or {})}
        )
        return env

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self, timeout: float = 300.0) -> None:
        """Create the database, migrate it, start every component and wait until the workers answer."""
        self.home.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(_admin_connection()) as admin, admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.database}"')
        deadline = time.monotonic() + timeout
        migrate = self._airflow(["db", "migrate"], "migrate", self.env())
        if migrate.wait(timeout) != 0:
            raise RuntimeError(f"airflow db migrate failed; see {self.home / 'migrate.log'}")
        self._launch("api-server", ["api-server", "--port", str(self.port), "--host", "127.0.0.1"])
        self._launch("scheduler", ["scheduler", "--skip-serve-logs"])
        self._launch("dag-processor", ["dag-processor"])
        self._launch("triggerer", ["triggerer", "--skip-serve-logs"])
        for name in self.worker_names:
            self.start_worker(name)
        self._wait_for_api(deadline)
        self.wait_for_workers(self.worker_names, deadline - time.monotonic())

    def start_worker(self, name: str, extra_env: Mapping[str, str] | None = None) -> None:
        """Start the Celery worker ``celery@<name>`` as its own process (again, after a kill)."""
        args = ["celery", "worker", "-H", name, "-c", str(self.concurrency), "--skip-serve-logs"]
        args += ["--pid", str(self.home / f"{name}.pid")]
        self.log_offsets[name] = len(self.component_log(name))
        self.processes[name] = self._airflow(args, name, self.worker_env(name, extra_env))

    def wait_for_workers(self, names: tuple[str, ...], timeout: float = 120.0) -> None:
        """Wait until each named worker logged that it is ready to take tasks."""
        deadline = time.monotonic() + timeout
        waiting = list(names)
        while waiting and time.monotonic() < deadline:
            waiting = [n for n in waiting if "ready." not in self.component_log(n)[self.log_offsets[n] :]]
            for name in waiting:
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"worker {name} exited; see {self.home / (name + '.log')}")
            time.sleep(1)
        if waiting:
            raise TimeoutError(f"workers {waiting} were not ready within {timeout:.0f}s; see their logs in {self.home}")

    def component_log(self, name: str) -> str:
        """Return what a component printed so far."""
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_worker(self, name: str, sig: signal.Signals = signal.SIGTERM, timeout: float = 60.0) -> None:
        """Stop one worker or component (SIGTERM: a worker finishes its tasks; SIGKILL: it and its tasks die)."""
        self._stop([name], sig, timeout)

    def stop(self, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop every component and worker, then drop the database and the broker's keys."""
        self._stop(list(self.processes), sig, timeout)
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for key in client.scan_iter(match=f"{self.key_prefix}*", count=1000):
                client.delete(key)
        with contextlib.closing(_admin_connection()) as admin, admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def kill(self) -> None:
        """Crash every component and worker at once with SIGKILL; the database and broker keys stay."""
        self._stop(list(self.processes), signal.SIGKILL, 30.0)

    def postgres_connections(self) -> int:
        """Return how many connections to the stack's database are open right now."""
        with contextlib.closing(_admin_connection()) as admin, admin.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.database,))
            (count,) = cursor.fetchone()
        return int(count)

    # -- helpers ------------------------------------------------------------------------------

    def _stop(self, names: list[str], sig: signal.Signals, timeout: float) -> None:
        """Signal the processes' groups at once, wait for them, then kill what they left behind.

        Task processes may leave their worker's group (and outlive their supervisor), so each
        process's descendants are collected before the signal and killed after.
        """
        processes = {name: self.processes.pop(name) for name in names if name in self.processes}
        families = {name: descendants(p.pid) for name, p in processes.items() if p.poll() is None}
        for process in processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
        for process in processes.values():
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout)
        for pid in (pid for family in families.values() for pid in family):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _launch(self, name: str, args: list[str]) -> None:
        self.processes[name] = self._airflow(args, name, self.env())

    def _airflow(self, args: list[str], name: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        with (self.home / f"{name}.log").open("ab") as out:
            return subprocess.Popen(  # noqa: S603 - our own venv's airflow, fixed arguments
                [str(Path(self.python).parent / "airflow"), *args],
                env=dict(env),
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_for_api(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited; see {self.home / (name + '.log')}")
            with contextlib.suppress(requests.RequestException):
                if self.session.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok:
                    return
            time.sleep(1)
        raise TimeoutError(f"the API server did not answer in time; see {self.home / 'api-server.log'}")


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
