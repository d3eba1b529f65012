"""Batches between the fetch and delivery tasks, kept in object storage instead of XCom.

Layout under ``<staging_url>/<dag_id>/<run>/``::

    batches/000000.jsonl   one batch, one log per line, as fetched
    manifest.json          per batch: log count, first and last log_id; the fetch's end cursor
    done/000000.json       the delivery ledger: a batch's outcome, written once it is settled

XCom carries only the run's folder and small chunk descriptors. The ledger is what lets a retried
delivery task skip what it already delivered and the commit step see every task's progress, even
of a task killed mid-run. ``staging_url`` is a local folder by default; use s3:// or gs:// when
tasks run on several machines.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from airflow.sdk import ObjectStoragePath


def default_root(kind: str) -> str:
    """Return ``file://<AIRFLOW_HOME>/auth0_log_webhooks/<kind>``, the local default."""
    home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
    return f"file://{os.path.abspath(home)}/auth0_log_webhooks/{kind}"


def run_key(run_id: str) -> str:
    """Return a run id made safe as a single path segment."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


@dataclass
class Manifest:
    """What a fetch staged: per batch ``[count, first_log_id, last_log_id]``, and where it stopped."""

    batches: list[list[Any]] = field(default_factory=list)
    start_cursor: str | None = None
    end_cursor: str | None = None
    fetched: int = 0
    selected: int = 0
    note: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def last_log_id(self, index: int) -> str:
        """Return the last log id of batch ``index``."""
        return str(self.batches[index][2])


class RunStaging:
    """The staged batches, manifest and delivery ledger of one DAG run."""

    def __init__(self, root: str, dag_id: str, run_id: str) -> None:
        self.path = ObjectStoragePath(root.rstrip("/")) / dag_id / run_key(run_id)

    @classmethod
    def at(cls, path: str) -> RunStaging:
        """Reopen a run's staging from its path (as passed through XCom)."""
        staging = cls.__new__(cls)
        staging.path = ObjectStoragePath(path)
        return staging

    def _batch(self, index: int) -> ObjectStoragePath:
        return self.path / "batches" / f"{index:06d}.jsonl"

    def _marker(self, index: int) -> ObjectStoragePath:
        return self.path / "done" / f"{index:06d}.json"

    def reset(self) -> None:
        """Remove what an earlier try of the fetch left, and create the folders."""
        if self.path.exists():
            self.path.rmdir(recursive=True)
        (self.path / "batches").mkdir(parents=True, exist_ok=True)
        (self.path / "done").mkdir(parents=True, exist_ok=True)

    def write_batch(self, index: int, logs: list[Mapping[str, Any]]) -> None:
        """Stage one batch."""
        self._batch(index).write_bytes(b"".join(orjson.dumps(log) + b"\n" for log in logs))

    def read_batch(self, index: int) -> list[dict[str, Any]]:
        """Load one staged batch."""
        return [orjson.loads(line) for line in self._batch(index).read_bytes().splitlines() if line]

    def write_manifest(self, manifest: Manifest) -> None:
        """Record what the fetch staged (written last, once every batch is in place)."""
        (self.path / "manifest.json").write_bytes(json.dumps(asdict(manifest)).encode())

    def read_manifest(self) -> Manifest:
        """Load the manifest."""
        return Manifest(**json.loads((self.path / "manifest.json").read_bytes()))

    def mark(self, index: int, outcome: Mapping[str, Any]) -> None:
        """Record a batch's settled outcome in the ledger."""
        self._marker(index).write_bytes(json.dumps(dict(outcome)).encode())

    def outcome(self, index: int) -> dict[str, Any] | None:
        """Return a batch's recorded outcome, or None if it is not settled."""
        marker = self._marker(index)
        return json.loads(marker.read_bytes()) if marker.exists() else None

    def outcomes(self) -> dict[int, dict[str, Any]]:
        """Return every settled batch's outcome by index."""
        done = self.path / "done"
        if not done.exists():
            return {}
        return {int(p.stem): json.loads(p.read_bytes()) for p in done.iterdir() if p.name.endswith(".json")}

    def remove(self) -> None:
        """Delete the run's staging (after the commit)."""
        if self.path.exists():
            self.path.rmdir(recursive=True)


def prune(root: str, dag_id: str, older_than: timedelta, *, now: datetime | None = None) -> int:
    """Remove staging left by runs of ``dag_id`` fetched more than ``older_than`` ago; return how many.

    A successful run removes its own staging; a failed one keeps it so its tasks can be cleared
    and rerun. The next runs deliver the same logs from the checkpoint, so old staging is garbage.
    """
    folder = ObjectStoragePath(root.rstrip("/")) / dag_id
    if not folder.exists():
        return 0
    cutoff = (now or datetime.now(UTC)) - older_than
    removed = 0
    for run in folder.iterdir():
        manifest = run / "manifest.json"
        if not manifest.exists():
            continue
        created = json.loads(manifest.read_bytes()).get("created_at")
        if created and datetime.fromisoformat(created) < cutoff:
            run.rmdir(recursive=True)
            removed += 1
    return removed


def chunk_ranges(batch_count: int, max_tasks: int) -> Iterator[tuple[int, int]]:
    """Split ``batch_count`` batches into at most ``max_tasks`` contiguous, near-equal ranges."""
    tasks = min(batch_count, max_tasks)
    for i in range(tasks):
        yield batch_count * i // tasks, batch_count * (i + 1) // tasks
