"""A throwaway Airflow (``airflow standalone``) for the demo and the end-to-end tests.

Runs scheduler, dag-processor, api-server and triggerer on SQLite in its own AIRFLOW_HOME with
this repository's dags/, applies airflow_settings.yaml through the REST API (pools, variables,
connections; connections may be overridden, e.g. to point at the local emulator and sink), and
drives DAG runs through the REST API.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import requests
import yaml
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from dev.waiting import Waiter, WaitTimeout

API_TIMEOUT = (10.0, 60.0)  # seconds to connect, seconds to answer
SQLITE_CONNECT_ARGS: dict[str, object] = {"timeout": 20.0}
"""What every Airflow process of a stack connects to its SQLite database with (``[database]
sql_alchemy_connect_args`` names this dict): a writer waits up to 20 s for the lock, not sqlite3's 5 s. On 2 loaded
cores, 100 pipelines' first runs beside the dag-processor writing their 100 DAGs held it longer, and the scheduler,
dag-processor and triggerer each exited on "database is locked" within two minutes of the start. Well under
``API_TIMEOUT``'s 60 s, so an API request that waits for the lock still answers (60 s made one time out)."""
API_RETRIES = Retry(
    total=4,
    connect=4,
    read=4,
    status=0,
    backoff_factor=2,
    allowed_methods=frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"}),
    raise_on_status=False,
)

REPO = Path(__file__).resolve().parents[1]
FINISHED = {"success", "failed"}


def _quiet(line: str) -> None:
    """Report nothing: the tests wait without progress lines."""


def free_port() -> int:
    """Return a TCP port that is free right now on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def connection_json(conn: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an airflow_settings.yaml connection entry into the REST API's body."""
    body = {
        "connection_id": conn["conn_id"],
        "conn_type": conn["conn_type"],
        "host": conn.get("conn_host"),
        "login": conn.get("conn_login"),
        "password": conn.get("conn_password"),
        "port": conn.get("conn_port"),
        "schema": conn.get("conn_schema"),
        "description": conn.get("conn_description"),
    }
    extra = conn.get("conn_extra")
    if extra:
        body["extra"] = json.dumps(extra)
    return {k: v for k, v in body.items() if v is not None}


def pool_json(pool: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an airflow_settings.yaml pool entry into the REST API's body, for POST and for PATCH alike.

    ``include_deferred`` is there although False is its default: a PATCH (the pool exists already, as when a
    retried POST got 409) checks the whole pool and answers 422 without it.
    """
    return {
        "name": pool["pool_name"],
        "slots": pool["pool_slot"],
        "description": pool.get("pool_description"),
        "include_deferred": False,
    }


def terminate(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Stop a child process: SIGTERM, wait up to ``timeout``, then SIGKILL if it is still running."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def descendants(pid: int) -> list[int]:
    """Return the ids of every living descendant of ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class AirflowStandalone:
    """``airflow standalone`` in ``home``; use as a context manager, or call start() and stop()."""

    def __init__(self, home: Path, *, extra_env: Mapping[str, str] | None = None, python: str = sys.executable) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.python = python
        self.extra_env = dict(extra_env or {})
        self.process: subprocess.Popen[bytes] | None = None
        self.execution_api_warmup: float | None = None
        """Seconds the execution API's first request took (:meth:`warm_execution_api`), once started."""
        self.session = requests.Session()
        # A loaded 2-core machine's API server (SQLite, four Airflow processes beside it) can take
        # longer than a request's timeout to answer: reads and idempotent writes are asked again, a
        # few times with a backoff, instead of failing the caller. POST (a new run) is never repeated.
        self.session.mount("http://", HTTPAdapter(max_retries=API_RETRIES))

    def env(self) -> dict[str, str]:
        """Return the environment every Airflow process of this instance runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
                "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__PORT": str(self.port),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",  # the connection form's Test button
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": "dev.airflow_env.SQLITE_CONNECT_ARGS",
                "PYTHONPATH": str(REPO),
                "PATH": f"{Path(self.python).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 600.0) -> None:
        """Start ``airflow standalone`` and wait until its API answers and the DAGs are parsed.

        The limit is generous: on a loaded 2-core machine a first start (migrations, four processes,
        the DAG parse) took over 240 s, while on an idle one it takes about 40 s.
        """
        self.launch()
        what = f"airflow standalone to answer (see {self.home}/standalone.log)"
        Waiter(timeout, report=_quiet).until(what, self.ready)
        self.warm_execution_api()

    def launch(self) -> None:
        """Start ``airflow standalone`` in the background; :meth:`ready` says when its API answers."""
        self.home.mkdir(parents=True, exist_ok=True)
        log_file = (self.home / "standalone.log").open("ab")  # a restart appends: earlier runs stay readable
        self.process = subprocess.Popen(  # noqa: S603 - our own venv's airflow, fixed arguments
            [str(Path(self.python).parent / "airflow"), "standalone"],
            env=self.env(),
            cwd=self.home,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> bool | None:
        """Return True once the API answers its health check, None until then.

        :raises RuntimeError: if ``airflow standalone`` exited.
        """
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"airflow standalone exited; see {self.home / 'standalone.log'}")
        try:
            # not the session: its retries would hold each poll for half a minute while nothing listens yet
            return True if requests.get(f"{self.url}/api/v2/monitor/health", timeout=2).ok else None
        except requests.RequestException:
            return None

    def warm_execution_api(self) -> float:
        """Make the execution API's first request, which builds its routes, and return the seconds it took.

        The API server's Task Execution API (Cadwyn) builds its versioned routes on its first request,
        blocking the API server meanwhile: 4 to 7 s on these 2 cores. Without this, that first request
        is the first task's start (its supervisor's ``run`` call times out after 5 s and is sent again),
        so the first task of a fresh instance ran seconds longer than every later one. A deployment pays
        it once per API server start; the instance here pays it before anything is timed.
        """
        started = time.perf_counter()
        # not the session: a health check is cheap to ask again, and Waiter reports what it waited for
        Waiter(API_TIMEOUT[1], report=_quiet).until(
            f"the execution API of {self.url} to answer its health check", self._execution_api_answers
        )
        self.execution_api_warmup = time.perf_counter() - started
        return self.execution_api_warmup

    def _execution_api_answers(self) -> bool | None:
        try:
            return True if requests.get(f"{self.url}/execution/health", timeout=API_TIMEOUT).ok else None
        except requests.RequestException:
            return None

    def stop(self, timeout: float = 30.0, sig: signal.Signals = signal.SIGTERM) -> None:
        """Stop every process of the instance: its process group and every descendant.

        Task processes may leave the group (and outlive their supervisor), so descendants are
        collected first and killed too.
        """
        if self.process is None or self.process.poll() is not None:
            return
        family = descendants(self.process.pid)
        os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout)
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        """Crash the instance: SIGKILL every process at once, as a machine failure would."""
        self.stop(sig=signal.SIGKILL)

    def __enter__(self) -> AirflowStandalone:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- REST API ----------------------------------------------------------------------------

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the REST API (all users are admins here) and return the JSON answer."""
        response = self.session.request(method, f"{self.url}/api/v2{path}", timeout=API_TIMEOUT, **kwargs)
        if not response.ok:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def apply_settings(
        self,
        settings_file: Path = REPO / "airflow_settings.yaml",
        connections: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Create the pools, variables and connections of airflow_settings.yaml, as ``astro dev start`` does.

        :param connections: conn_id -> entry (airflow_settings.yaml keys) replacing the file's entry.
        """
        settings = yaml.safe_load(settings_file.read_text())["airflow"]
        for pool in settings.get("pools") or []:
            body = pool_json(pool)
            self._put("/pools", body["name"], body)
        for variable in settings.get("variables") or []:
            body = {
                "key": variable["variable_name"],
                "value": variable["variable_value"],
                "description": variable.get("variable_description"),
            }
            self._put("/variables", body["key"], body)
        entries = {c["conn_id"]: c for c in settings.get("connections") or []}
        entries.update({conn_id: {"conn_id": conn_id, **c} for conn_id, c in dict(connections or {}).items()})
        self.set_connections(entries)

    def set_connections(self, connections: Mapping[str, Mapping[str, Any]]) -> None:
        """Create or replace each connection: conn_id -> entry (airflow_settings.yaml keys)."""
        for conn_id, entry in connections.items():
            body = connection_json({"conn_id": conn_id, **entry})
            self._put("/connections", body["connection_id"], body)

    def _put(self, collection: str, key: str, body: Mapping[str, Any]) -> None:
        try:
            self.api("POST", collection, json=body)
        except RuntimeError as exc:
            if "409" not in str(exc):
                raise
            self.api("PATCH", f"{collection}/{key}", json=body)

    def set_variable(self, key: str, value: str) -> None:
        """Create or replace a Variable."""
        self._put("/variables", key, {"key": key, "value": value})

    def variable(self, key: str) -> str | None:
        """Return a Variable's value, or None."""
        try:
            return cast(str | None, self.api("GET", f"/variables/{key}")["value"])
        except RuntimeError:
            return None

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """Wait until the dag-processor has parsed ``dag_id``; fail with its import errors if any."""
        try:
            Waiter(timeout, report=_quiet).until(f"DAG {dag_id} to be parsed", lambda: self.dag_parsed(dag_id))
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc.what}; import errors: {self.api('GET', '/importErrors')}", exc.waited) from None

    def dag_parsed(self, dag_id: str) -> bool | None:
        """Return True if the dag-processor has parsed ``dag_id``, None if not yet."""
        try:
            self.api("GET", f"/dags/{dag_id}")
        except RuntimeError:
            return None
        return True

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG so that its runs are scheduled."""
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: Mapping[str, Any] | None = None, run_id: str | None = None) -> str:
        """Trigger a run (no logical date, as a UI trigger) and return its run id."""
        body: dict[str, Any] = {"logical_date": None, "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600.0) -> str:
        """Wait for a run to finish and return its state."""
        what = f"run {run_id} of {dag_id} to finish"
        return Waiter(timeout, report=_quiet).until(what, lambda: self.finished_state(dag_id, run_id))

    def finished_state(self, dag_id: str, run_id: str) -> str | None:
        """Return a run's state if it has finished (``success`` or ``failed``), None while it has not.

        An API server too busy to answer within the request's timeout (a loaded 2-core machine) counts
        as not finished yet: the wait asks again, until its own limit.
        """
        try:
            state: str = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
        except requests.Timeout:
            return None
        return state if state in FINISHED else None

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return the run's task instances (mapped ones included)."""
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return cast(list[dict[str, Any]], found["task_instances"])

    def lane_report(self, dag_id: str, run_id: str) -> dict[str, Any] | None:
        """Return what the run's fetch sent while it read (its delivery lane's report); None when it sent nothing.

        The fetch keeps the report as an XCom for the commit; a fetch with the lane off keeps none (or null).
        """
        from auth0_log_webhooks.run.task_io import LANE_REPORT

        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/fetch/xcomEntries/{LANE_REPORT}"
        response = self.session.get(f"{self.url}/api/v2{path}", timeout=API_TIMEOUT)
        if response.status_code == 404:
            return None
        if not response.ok:
            raise RuntimeError(f"GET {path} -> {response.status_code}: {response.text[:500]}")
        value = response.json()["value"]
        report = json.loads(value) if isinstance(value, str) else value
        return cast(dict[str, Any], report) if report else None

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int = 1) -> str:
        """Return a task instance's log: one JSON object per line (the API's structured entries).

        :raises RuntimeError: if the API refuses (the task or try does not exist).
        """
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}"
        content = self.api("GET", path, params={"map_index": map_index})["content"]
        lines = (json.dumps(entry, ensure_ascii=False) if isinstance(entry, dict) else str(entry) for entry in content)
        return "\n".join(lines)

    def last_task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        """Return the log of a task instance's last try (Airflow may have retried it: a reset on a loaded machine).

        :raises StopIteration: if the run has no such task instance.
        """
        ti = next(
            ti
            for ti in self.task_instances(dag_id, run_id)
            if ti["task_id"] == task_id and ti["map_index"] == map_index
        )
        return self.task_log(dag_id, run_id, task_id, map_index, try_number=max(1, int(ti["try_number"])))
