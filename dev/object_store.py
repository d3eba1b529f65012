"""A local S3-compatible object store for the distributed tests and bench: moto's server.

moto (``moto[server]``) answers the S3 REST API in-memory, in one process we start on a free
loopback port, with no account, no disk and no container; s3fs (what Airflow's Amazon provider
puts behind ``ObjectStoragePath("s3://...")``) talks to it through an ``endpoint_url``. MinIO would
be closer to production but ships as a binary that cannot be installed from PyPI here.

Tasks reach it through an Airflow connection of type ``aws`` (:meth:`S3Server.connection`) whose
id is part of the URL: ``s3://<conn_id>@<bucket>/<prefix>``, as in production.

The server is moto's S3 app alone (``python -m dev.object_store``, :func:`serve`) rather than
``python -m moto.server``: that one finds the service of every request anew (it scans moto's
package folder for the list of services, about a tenth of its CPU under a benchmark's load) and runs
Flask in debug mode. The S3 answers are moto's either way; only the emulation's own cost is cut.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from dev.airflow_env import free_port, terminate

ACCESS_KEY = "dev-access-key"
SECRET_KEY = "dev-secret-key-" + "0" * 16
REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[1]


class S3Server:
    """moto's S3 server as a child process on 127.0.0.1; a context manager."""

    def __init__(self, log_file: Path, *, python: str = sys.executable) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.python = python
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers."""
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own venv's python, fixed arguments
                [self.python, "-m", "dev.object_store", "--port", str(self.port)],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's S3 server exited; see {self.log_file}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/moto-api/data.json", timeout=2).ok:
                    return
            time.sleep(0.3)
        raise TimeoutError(f"moto's S3 server did not answer within {timeout:.0f}s; see {self.log_file}")

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the server (its objects are gone with it)."""
        if self.process is not None:
            terminate(self.process, timeout)

    def client(self) -> Any:
        """Return a boto3 S3 client for this server (test-side checks)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str) -> None:
        """Create a bucket."""
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Return every key under ``prefix`` in ``bucket``."""
        paginator = self.client().get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def connection(self, endpoint_url: str | None = None) -> dict[str, Any]:
        """Return an ``aws`` connection entry (airflow_settings.yaml keys) reaching this server.

        :param endpoint_url: another endpoint (e.g. one nothing listens on, to test an unreachable store).
        """
        return {
            "conn_type": "aws",
            "conn_login": ACCESS_KEY,
            "conn_password": SECRET_KEY,
            "conn_extra": {"endpoint_url": endpoint_url or self.url, "region_name": REGION},
        }

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Answer S3 requests (and moto's own ``/moto-api``) on ``host:port`` until killed, with moto's S3 app."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    class S3Only(DomainDispatcherApplication):
        """moto's dispatcher with the service known: every request but ``/moto-api`` goes to the S3 app."""

        def __init__(self) -> None:
            super().__init__(create_backend_app)
            self.s3 = create_backend_app("s3")

        def get_application(self, environ: dict[str, Any]) -> Any:
            if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
                return super().get_application(environ)
            return self.s3

    os.environ.setdefault("MOTO_PORT", str(port))  # as moto.server sets it
    run_simple(host, port, S3Only(), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="moto's S3 server, the S3 app alone")
    parser.add_argument("--port", type=int, required=True)
    serve(parser.parse_args().port)
