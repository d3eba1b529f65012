"""Start the Auth0 tenant emulator and the webhook sink as separate processes (their CLIs).

Each server runs in its own process, so the benchmarked process holds only the pipeline's own
memory and competes with no server thread for its GIL. A server announces
``listening on http://HOST:PORT`` on stdout once it accepts connections; that is how the port
chosen with ``--port 0`` is found.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import requests

from dev.airflow_env import terminate

REPO = Path(__file__).resolve().parents[1]
ANNOUNCEMENT = "listening on "
CLIENT_ID = "emulator-client"
CLIENT_SECRET = "emulator-secret"


@dataclass
class ServerProcess:
    """A dev server running as a child process; ``url`` has no trailing slash."""

    name: str
    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the process (SIGTERM) and wait for it; kill it if it does not exit."""
        self.session.close()
        terminate(self.process, timeout)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call one of the server's control endpoints and return its JSON answer."""
        response = self.session.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()


@dataclass
class Emulator(ServerProcess):
    """The Auth0 tenant emulator (``python -m dev.auth0_tenant``)."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    @property
    def domain(self) -> str:
        """``127.0.0.1:PORT``, the connection's host and port."""
        return self.url.removeprefix("http://")

    def counters(self) -> dict[str, int]:
        """requests, log_requests, rate_limited, tokens_issued, faults_served, unmatched."""
        return cast(dict[str, int], self.control("GET", "/__emulator/counters"))


@dataclass
class Sink(ServerProcess):
    """The webhook sink (``python -m dev.webhook_sink``)."""

    @property
    def hook_url(self) -> str:
        """The URL deliveries go to."""
        return f"{self.url}/hook"

    def summary(self) -> dict[str, Any]:
        """The sink's tally of the current session (requests, logs_received, unique_log_ids...)."""
        return cast(dict[str, Any], self.control("GET", "/__sink/summary"))

    def reset(self) -> None:
        """Start a new session: forget the counters (the record file keeps its history)."""
        self.control("POST", "/__sink/reset")


def _launch(
    module: str, args: list[str], log_path: Path, timeout: float = 120.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``python -m module args`` in the repository root and return it with its announced URL.

    :raises RuntimeError: if the process exits or does not announce a URL within ``timeout``.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{module} exited with {process.returncode}; see {log_path}")
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if not ready:
            continue
        data = os.read(process.stdout.fileno(), 4096)
        buffer += data
        for line in buffer.decode(errors="replace").splitlines():
            if line.startswith(ANNOUNCEMENT):
                return process, line.removeprefix(ANNOUNCEMENT).strip().rstrip("/")
    process.terminate()
    process.wait(15)
    raise RuntimeError(f"{module} did not announce its URL within {timeout:.0f}s; see {log_path}")


def start_emulator(
    workdir: Path,
    *,
    logs: int,
    seed: int = 1,
    burst: int = 10,
    per_minute: float = 0,
    name: str = "emulator",
    own_traffic: bool = False,
    extra_args: tuple[str, ...] = (),
) -> Emulator:
    """Start an emulated tenant with ``logs`` logs; ``per_minute`` 0 disables its rate limit.

    ``own_traffic`` False (the default here) keeps a fixed set of logs: no seccft/feccft logs of the
    benchmark's token exchanges, no api_limit logs, so that counts compare exactly.
    """
    args = [
        "--port",
        "0",
        "--logs",
        str(logs),
        "--seed",
        str(seed),
        "--rate-limit-burst",
        str(burst),
        "--rate-limit-per-minute",
        str(per_minute),
        *(() if own_traffic else ("--no-token-logs", "--no-api-limit-logs")),
        *extra_args,
    ]
    process, url = _launch("dev.auth0_tenant", args, workdir / f"{name}.stderr.log")
    return Emulator(name=name, url=url, process=process)


def start_sink(workdir: Path, *, name: str = "sink") -> Sink:
    """Start a webhook sink recording to ``workdir/<name>.jsonl`` without fsync."""
    args = ["--port", "0", "--record", str(workdir / f"{name}.jsonl"), "--no-fsync"]
    process, url = _launch("dev.webhook_sink", args, workdir / f"{name}.stderr.log")
    return Sink(name=name, url=url, process=process)
