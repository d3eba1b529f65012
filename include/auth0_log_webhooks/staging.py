"""Batches between the fetch and delivery tasks, kept in object storage instead of XCom.

The fetch cuts the logs it selects into batches (:class:`Stager`) and splits the batches into
chunks, one per mapped delivery task (:func:`plan_chunks`). Layout under
``<staging_url>/<dag_id>/<run>/``::

    batches/000000.jsonl   one batch, one log per line, as fetched
    plan.json              the fetch's plan: per batch its log count, first and last log_id; where
                           reading started and stopped; the settings the run delivers with
    done/000000.json       the delivery ledger: a batch's outcome, written once it is settled

Every task of a run finds this folder from its pipeline's ``staging_url`` and its run id; XCom
carries only small chunk descriptors. The ledger is what lets a retried
delivery task skip what it already delivered and the commit step see every task's progress, even
of a task killed mid-run. ``staging_url`` is a local folder by default; use s3:// or gs:// when
tasks run on several machines.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import orjson
from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.checkpoints import is_log_id, log_id_of, log_time, time_of
from auth0_log_webhooks.contracts import BatchOutcome, BatchRange, Chunk, Plan
from auth0_log_webhooks.filters import LogFilter
from auth0_log_webhooks.stores import guarded, reaching
from auth0_log_webhooks.wording import chunk_label

WINDOW_MARGIN = timedelta(minutes=5)
"""How far past a backfill window's end reading goes: log ids and dates may disagree by a little."""


class MalformedLogError(ValueError):
    """Auth0 returned a log the pipeline cannot place (no log id, or out of order)."""


class NothingStagedError(FileNotFoundError):
    """The run's fetch has not staged a plan: it failed, was cleared, or staged elsewhere."""


RUN_KEY_PREFIX_CHARS = 48


def run_key(run_id: str) -> str:
    """Return a run's folder name: a readable prefix of its id, then 16 hex of the id's SHA-256.

    The digest keeps run ids that differ only in characters the prefix replaces (``:``, ``+``,
    ``_``) apart; ``.``, ``..`` and an empty id are refused, so no run's folder is the DAG's folder.

    :raises ValueError: for an empty run id, ``.`` or ``..``.
    """
    if run_id.strip() in ("", ".", ".."):
        raise ValueError(f"run id {run_id!r} cannot name a staging folder; trigger the run with another run id")
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", run_id, flags=re.ASCII)[:RUN_KEY_PREFIX_CHARS].strip("_")
    digest = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{readable}-{digest}" if readable else digest


@dataclass
class Manifest:
    """What the stager cut so far: its batches, and where reading started and stopped."""

    start_cursor: str
    end_cursor: str | None = None
    batches: list[BatchRange] = field(default_factory=list)
    fetched: int = 0
    selected: int = 0
    note: str = ""
    more_to_read: bool = False
    """True when reading stopped at ``max_logs_per_run``: the tenant had more after ``end_cursor``."""


class RunStaging:
    """The staged batches, manifest and delivery ledger of one DAG run."""

    def __init__(self, path: ObjectStoragePath) -> None:
        self.path = path

    @property
    def store_path(self) -> ObjectStoragePath:
        """The run's folder; a store error names it (see :mod:`auth0_log_webhooks.stores`)."""
        return self.path

    @classmethod
    def for_run(cls, root: str, dag_id: str, run_id: str) -> RunStaging:
        """Return the staging of run ``run_id`` of ``dag_id`` under ``root``."""
        return cls(ObjectStoragePath(root.rstrip("/")) / dag_id / run_key(run_id))

    @classmethod
    def at(cls, path: str) -> RunStaging:
        """Reopen a run's staging from its path (as passed through XCom)."""
        return cls(ObjectStoragePath(path))

    def _batch(self, index: int) -> ObjectStoragePath:
        return self.path / "batches" / f"{index:06d}.jsonl"

    def _marker(self, index: int) -> ObjectStoragePath:
        return self.path / "done" / f"{index:06d}.json"

    @guarded("staging_url")
    def reset(self) -> None:
        """Remove what an earlier try of the fetch left, and create the folders."""
        if self.path.exists():
            self.path.rmdir(recursive=True)
        (self.path / "batches").mkdir(parents=True, exist_ok=True)
        (self.path / "done").mkdir(parents=True, exist_ok=True)

    @guarded("staging_url")
    def write_batch(self, index: int, logs: list[Mapping[str, Any]]) -> None:
        """Stage one batch."""
        self._batch(index).write_bytes(b"".join(orjson.dumps(log) + b"\n" for log in logs))

    @guarded("staging_url")
    def read_batch(self, index: int) -> list[dict[str, Any]]:
        """Load one staged batch."""
        return [orjson.loads(line) for line in self._batch(index).read_bytes().splitlines() if line]

    @guarded("staging_url")
    def write_plan(self, plan: Plan) -> None:
        """Record what the fetch staged (written last, once every batch is in place)."""
        (self.path / "plan.json").write_bytes(json.dumps(plan).encode())

    @guarded("staging_url")
    def read_plan(self) -> Plan:
        """Load the fetch's plan.

        :raises NothingStagedError: naming the folder, if no fetch has staged this run here.
        """
        path = self.path / "plan.json"
        if not path.exists():
            raise NothingStagedError(
                f"No plan in {self.path}: the run's fetch did not stage it (it failed, or staging_url changed "
                "during the run). Clear the run's fetch task to read the logs again."
            )
        return cast(Plan, json.loads(path.read_bytes()))

    @guarded("staging_url")
    def mark(self, index: int, outcome: BatchOutcome) -> None:
        """Record a batch's settled outcome in the ledger."""
        self._marker(index).write_bytes(json.dumps(outcome).encode())

    @guarded("staging_url")
    def outcome(self, index: int) -> BatchOutcome | None:
        """Return a batch's recorded outcome, or None if it is not settled."""
        marker = self._marker(index)
        return cast(BatchOutcome, json.loads(marker.read_bytes())) if marker.exists() else None

    @guarded("staging_url")
    def outcomes(self) -> dict[int, BatchOutcome]:
        """Return every settled batch's outcome by index."""
        done = self.path / "done"
        if not done.exists():
            return {}
        return {
            int(p.stem): cast(BatchOutcome, json.loads(p.read_bytes())) for p in done.iterdir() if p.suffix == ".json"
        }

    @guarded("staging_url")
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
    with reaching(folder, "staging_url"):
        return _prune(folder, (now or datetime.now(UTC)) - older_than)


def _prune(folder: ObjectStoragePath, cutoff: datetime) -> int:
    if not folder.exists():
        return 0
    removed = 0
    for run in folder.iterdir():
        plan = run / "plan.json"
        if not plan.exists():
            continue
        created = json.loads(plan.read_bytes()).get("created_at")
        if created and datetime.fromisoformat(created) < cutoff:
            run.rmdir(recursive=True)
            removed += 1
    return removed


# -- cutting batches ---------------------------------------------------------------------------


def _checked(pages: Iterable[list[Any]], start: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(log_id, log)`` in order, refusing a log without a log id or out of log id order."""
    previous = start
    for page in pages:
        for item in page:
            try:
                log_id = log_id_of(item) if isinstance(item, dict) else ""
            except ValueError:
                log_id = ""
            if not is_log_id(log_id):
                raise MalformedLogError(
                    f"Auth0 returned a log without a valid log_id after {previous}: {str(item)[:200]}"
                )
            if log_id <= previous:
                raise MalformedLogError(f"Auth0 returned log {log_id} out of order, after {previous}")
            previous = log_id
            yield log_id, item


@dataclass
class Stager:
    """Select logs and cut them into staged batches, holding one batch in memory at a time."""

    staging: RunStaging
    accept: LogFilter
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    batch_size: int
    max_logs: int
    window: tuple[datetime, datetime] | None = None

    def run(self, pages: Iterable[list[Any]], start: str) -> Manifest:
        """Consume pages, stage the selected logs batch by batch, and return what was cut."""
        manifest = Manifest(start_cursor=start, end_cursor=None)
        batch: list[tuple[str, Mapping[str, Any]]] = []
        for log_id, item in _checked(pages, start):
            if self._past_window(log_id):
                break
            manifest.fetched += 1
            manifest.end_cursor = log_id
            if self._in_window(item) and self.accept.accepts(item):
                batch.append((log_id, self.transform(item)))
                if len(batch) == self.batch_size:
                    self._flush(manifest, batch)
                    batch = []
            # Past the cap, stop on a batch boundary so the next run cuts the same batches (same
            # webhook-ids); when selected logs are rare, stop anyway after a bounded overshoot.
            if manifest.fetched >= self.max_logs and (not batch or manifest.fetched >= 2 * self.max_logs):
                manifest.note = f"stopped after max_logs_per_run={self.max_logs}; the next run continues"
                manifest.more_to_read = True
                break
        self._flush(manifest, batch)
        return manifest

    def _flush(self, manifest: Manifest, batch: list[tuple[str, Mapping[str, Any]]]) -> None:
        if not batch:
            return
        self.staging.write_batch(len(manifest.batches), [item for _, item in batch])
        manifest.batches.append(BatchRange(count=len(batch), first=batch[0][0], last=batch[-1][0]))
        manifest.selected += len(batch)

    def _in_window(self, item: Mapping[str, Any]) -> bool:
        if self.window is None:
            return True
        start, end = self.window
        return start <= log_time(item) < end

    def _past_window(self, log_id: str) -> bool:
        return self.window is not None and time_of(log_id) > self.window[1] + WINDOW_MARGIN


# -- splitting batches among delivery tasks ----------------------------------------------------


def chunk_ranges(count: int, max_parts: int) -> Iterator[tuple[int, int]]:
    """Split ``count`` items into at most ``max_parts`` contiguous, near-equal ``[start, stop)`` ranges."""
    parts = min(count, max_parts)
    for i in range(parts):
        yield count * i // parts, count * (i + 1) // parts


def plan_chunks(batches: list[BatchRange], max_tasks: int, min_batches_per_task: int = 1) -> list[Chunk]:
    """Return one chunk of contiguous batches per delivery task: at most ``max_tasks``, and no more
    than one per ``min_batches_per_task`` batches (a task costs Airflow seconds; a batch, milliseconds)."""
    tasks = min(max_tasks, -(-len(batches) // max(1, min_batches_per_task)))
    chunks = []
    for number, (start, stop) in enumerate(chunk_ranges(len(batches), tasks)):
        label = chunk_label(start, stop, batches[start:stop])
        chunks.append(Chunk(chunk=number, start=start, stop=stop, label=label))
    return chunks
