"""Batches between the fetch and delivery tasks, kept in object storage instead of XCom.

The fetch cuts the logs it selects into batches (:class:`Stager`) and splits the batches into
chunks, one per mapped delivery task (:func:`plan_chunks`). Layout under
``<staging_url>/<dag_id>/<run>/``::

    g001/batches/000000.jsonl   one batch of fetch try 1 (a generation), one log per line, as fetched
    g001/done/000000.json       the delivery ledger: a batch's outcome, written once it is settled,
                                naming the batch it settles (generation, count, first and last log id)
    g001/copies/1024-001.json   a copy of the ledger markers one sender wrote (the lane; 0003-002.json: delivery
                                task 3's try 2), written when it ends, so the commit reads a few objects, not
                                every marker; a marker with no copy is read
    g001/circuit/               the run's circuit breaker (see circuit.py)
    g001/claims/fetch.json      the claim of fetch try 1 on the run; g001/claims/0003.json, delivery task 3's
    plan.json                   the fetch's plan: its generation; per batch its log count, first and
                                last log_id; where reading started and stopped; the settings
    manifest.json               the run's completeness manifest, once its commit built it (see
                                delivery/manifests.py); a cleared commit sends the same one again

Each fetch attempt writes its own generation, so a delivery task of an earlier attempt that is still
running cannot settle a batch the new attempt cut differently. A new attempt removes what earlier ones
left but their ledgers (``gNNN/done``): it reads them (:meth:`RunStaging.earlier_outcomes`) so as not
to send again a batch an earlier attempt already settled (:class:`~auth0_log_webhooks.steps.carry_over.EarlierTries`).

A task's try claims its work in the generation's ``claims`` folder and checks that its claim still stands
before each write that matters (:meth:`RunStaging.stop_if_superseded`, the one fence): a fetch try before
each batch it stages, each batch its lane sends and its plan; a delivery task's try before each batch. A
newer try of the same delivery task claims the same chunk over it; a newer try of the fetch removes the older
generation's claims when it resets the run, and a commit removes every generation. So an older try that
Airflow gave up on but whose process still runs (an orphan: its heartbeat lost, its worker cut off) stops
before its next write instead of writing over the plan or batches of the try that now owns the run.

Every task of a run finds this folder from its pipeline's ``staging_url`` and its run id; XCom
carries only small chunk descriptors. The ledger is what lets a retried
delivery task skip what it already delivered and the commit step see every task's progress, even
of a task killed mid-run. ``staging_url`` is a local folder by default; use s3:// or gs:// when
tasks run on several machines.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal, Protocol, cast

import orjson
from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange, Chunk, Plan, RunSummary
from auth0_log_webhooks.log_ids import is_log_id, log_id_of, log_time, time_of
from auth0_log_webhooks.pipelines.filters import LogFilter
from auth0_log_webhooks.run.log_encoding import encode_log, missing_id_error
from auth0_log_webhooks.run.store_errors import folder_in_use, guarded, reaching
from auth0_log_webhooks.run.store_io import names, read, read_many, read_or_none, write_bytes
from auth0_log_webhooks.wording import chunk_label

WINDOW_MARGIN = timedelta(minutes=5)
"""How far past a backfill window's end reading goes: log ids and dates may disagree by a little."""


class MalformedLogError(ValueError):
    """Auth0 returned a log the pipeline cannot place (no log id, or out of order)."""


class NothingStagedError(FileNotFoundError):
    """The run's fetch has not staged a plan: it failed, was cleared, or staged elsewhere."""


class EarlierTryStillEndingError(RuntimeError):
    """An earlier try of the run's fetch still writes to the run's staging; this try stops and Airflow retries."""


class SupersededTryError(RuntimeError):
    """A newer try of the same task took its work over (Airflow started the task again while this try still ran);
    this try stops before its next write, and nothing is lost: the newer try sends what is not yet settled."""


FETCH: Final = "fetch"
"""The fetch's claim on its generation (as against a delivery task's, named by its chunk number)."""

Holder = int | Literal["fetch"]
"""Who claims work in a generation: the run's fetch, or the delivery task of a chunk number."""


RUN_KEY_PREFIX_CHARS = 48
EARLIER_TRY_WAIT_SECONDS = 60.0
"""How long a fetch waits for an earlier try of the same run, still ending, to stop writing to its staging."""
_RACING = (errno.ENOTEMPTY, errno.ENOENT)
"""What removing a folder meets while another process writes or removes in it."""
_GENERATION = re.compile(r"g(\d{3,})", re.ASCII)


def generation_of(name: str) -> int | None:
    """Return the fetch try a run's folder entry holds (``g003``: 3), or None for the plan and the rest."""
    match = _GENERATION.fullmatch(name)
    return int(match.group(1)) if match else None


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
    filtered: int = 0
    """Logs read and left out (by the pipeline's filter, or dated outside a backfill window), counted as they go."""
    selected: int = 0
    repaired: int = 0
    note: str = ""
    more_to_read: bool = False
    """True when reading stopped at ``max_logs_per_run``: the tenant had more after ``end_cursor``."""


class RunStaging:
    """The staged batches, manifest and delivery ledger of one DAG run, in one generation (fetch attempt)."""

    def __init__(self, path: ObjectStoragePath, generation: int = 1) -> None:
        self.path = path
        self.generation = generation
        self.hold_bytes = 0
        """How many bytes of the batches it writes this staging keeps in memory for :meth:`read_batch` (0: none).

        The fetch's delivery lane reads each batch the fetch just staged: the staged bytes are handed over
        instead of read back (one GET a batch), as long as the batches written and not yet read fit."""
        self._held: dict[int, bytes] = {}
        self._holding = threading.Lock()  # the fetch writes, its lane reads
        self._confirmed: dict[tuple[Holder, int], float] = {}
        """When each (holder, try) last found its claim standing (:func:`time.monotonic`), in this process."""

    def with_generation(self, generation: int) -> RunStaging:
        """Return the same run's staging, in the folder of fetch attempt ``generation``."""
        return RunStaging(self.path, generation)

    @property
    def generation_path(self) -> ObjectStoragePath:
        """Return the folder of this generation's batches and ledger."""
        return self.path / f"g{self.generation:03d}"

    @property
    def store_path(self) -> ObjectStoragePath:
        """The run's folder; a store error names it (see :mod:`auth0_log_webhooks.run.store_errors`)."""
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
        return self.generation_path / "batches" / f"{index:06d}.jsonl"

    def _marker(self, index: int) -> ObjectStoragePath:
        return self.generation_path / "done" / f"{index:06d}.json"

    def _claim(self, holder: Holder) -> ObjectStoragePath:
        name = f"{holder:04d}.json" if isinstance(holder, int) else f"{holder}.json"
        return self.generation_path / "claims" / name

    @guarded("staging_url")
    def reset(
        self,
        *,
        wait_seconds: float = EARLIER_TRY_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Remove what earlier tries of the fetch left but their ledgers, create this generation's folders and
        claim the run for this fetch try (the generation): removing their claims stops the earlier tries.

        An earlier try whose process is still ending (Airflow reset it as orphaned) may write or remove files
        meanwhile, and the removal meets "Directory not empty": it is tried again every half second for at
        most ``wait_seconds``.

        :raises EarlierTryStillEndingError: if the earlier try still writes after ``wait_seconds``.
        """
        deadline = clock() + wait_seconds
        while True:
            try:
                self._remove_all_but_earlier_ledgers()
                break
            except OSError as exc:
                if exc.errno not in _RACING:
                    raise
                if clock() >= deadline:
                    raise EarlierTryStillEndingError(
                        f"{folder_in_use(self.path, f'{exc.strerror}, for {wait_seconds:.0f} s')} Try "
                        f"{self.generation} of the fetch sent nothing; Airflow retries the task (if this was its last "
                        "try, clear the fetch task), and the retry sends only what no earlier try delivered."
                    ) from None
                sleep(0.5)
        (self.generation_path / "batches").mkdir(parents=True, exist_ok=True)
        (self.generation_path / "done").mkdir(parents=True, exist_ok=True)
        self.claim(FETCH, self.generation)

    def _remove_all_but_earlier_ledgers(self) -> None:
        if not self.path.exists():
            return
        for entry in self.path.iterdir():
            number = generation_of(entry.name)
            if number is not None and number < self.generation and entry.is_dir():
                for part in entry.iterdir():
                    if part.name != "done":
                        _remove(part)
            else:
                _remove(entry)

    @guarded("staging_url")
    def earlier_outcomes(self) -> list[BatchOutcome]:
        """Return the ledger markers earlier tries of the fetch (generations before this one) wrote.

        A marker an ending try is still writing (not yet whole JSON) is left out: its batch is sent again.
        """
        if not self.path.exists():
            return []
        found: list[BatchOutcome] = []
        for entry in self.path.iterdir():
            number = generation_of(entry.name)
            done = entry / "done"
            if number is None or number >= self.generation or not done.exists():
                continue
            for marker in done.iterdir():
                with contextlib.suppress(ValueError, FileNotFoundError):
                    if marker.suffix == ".json":
                        found.append(cast(BatchOutcome, json.loads(marker.read_bytes())))
        return found

    @guarded("staging_url")
    def write_batch(self, index: int, logs: list[Mapping[str, Any]]) -> int:
        """Stage one batch; return how many of its logs had text repaired (see :mod:`.log_encoding`).

        :raises SupersededTryError: if a newer try of the fetch took the run over (nothing is written).
        """
        self.stop_if_superseded(FETCH, self.generation, f"staging batch {index + 1}")
        lines = [encode_log(log) for log in logs]
        data = b"".join(line + b"\n" for line, _ in lines)
        write_bytes(self._batch(index), data)
        with self._holding:
            if sum(map(len, self._held.values())) + len(data) <= self.hold_bytes:
                self._held[index] = data  # what was staged, byte for byte: the lane sends the same messages
        return sum(1 for _, repaired in lines if repaired)

    @guarded("staging_url")
    def read_batch(self, index: int) -> list[dict[str, Any]]:
        """Load one staged batch (handed over from memory once, if :attr:`hold_bytes` kept it)."""
        with self._holding:
            data = self._held.pop(index, None)
        if data is None:
            data = read(self._batch(index))
        return [orjson.loads(line) for line in data.splitlines() if line]

    @guarded("staging_url")
    def write_plan(self, plan: Plan) -> None:
        """Record what the fetch staged (written last, once every batch is in place).

        :raises SupersededTryError: if a newer try of the fetch took the run over (the newer try's plan stays).
        """
        self.stop_if_superseded(FETCH, self.generation, "writing its plan")
        write_bytes(self.path / "plan.json", json.dumps(plan).encode())

    @guarded("staging_url")
    def read_plan(self) -> Plan:
        """Load the fetch's plan.

        :raises NothingStagedError: naming the folder, if no fetch has staged this run here.
        """
        found = read_or_none(self.path / "plan.json")
        if found is None:
            raise NothingStagedError(
                f"No plan in {self.path}: the run's fetch did not stage it (it failed, or staging_url changed "
                "during the run). Clear the run's fetch task to read the logs again."
            )
        return cast(Plan, json.loads(found))

    @guarded("staging_url")
    def mark(self, index: int, outcome: BatchOutcome) -> None:
        """Record a batch's settled outcome in the ledger."""
        write_bytes(self._marker(index), json.dumps(outcome).encode())

    @guarded("staging_url")
    def outcome(self, index: int) -> BatchOutcome | None:
        """Return a batch's recorded outcome, or None if it is not settled."""
        found = read_or_none(self._marker(index))
        return cast(BatchOutcome, json.loads(found)) if found is not None else None

    @guarded("staging_url")
    def settled_indexes(self) -> set[int]:
        """Return the indexes of the batches with a ledger marker in this generation, from one listing (its names).

        A delivery task asks once, after claiming its chunk, and reads only the markers listed, instead of
        asking for each batch's marker before sending it: one request per task rather than one per batch.
        """
        return set(_marker_indexes(names(self.generation_path / "done")))

    @guarded("staging_url")
    def outcomes_of(self, indexes: range) -> list[BatchOutcome | None]:
        """Return the recorded outcomes of batches ``indexes`` (None for one not settled), read at once."""
        found = read_many([self._marker(index) for index in indexes])
        return [cast(BatchOutcome, json.loads(data)) if data is not None else None for data in found]

    @guarded("staging_url")
    def claim(self, holder: Holder, try_number: int) -> int:
        """Record that try ``try_number`` of ``holder`` (the fetch, or a chunk's delivery task) works in this
        generation; return the newest try that claimed it.

        A try never takes the work from a newer one: the newest claim stays, and is returned.
        """
        newest = self.claimant(holder)
        if newest is not None and newest > try_number:
            return newest
        write_bytes(self._claim(holder), json.dumps({"try": try_number}).encode())
        return try_number

    @guarded("staging_url")
    def claimant(self, holder: Holder) -> int | None:
        """Return the newest try of ``holder`` that claimed its work in this generation, or None (none did, or a
        newer fetch try or the run's commit removed the generation's claims)."""
        found = read_or_none(self._claim(holder))  # one GET (checked before each batch), see store_io
        return int(json.loads(found)["try"]) if found is not None else None

    def stop_if_superseded(
        self, holder: Holder, try_number: int, before: str, *, unless_confirmed_after: float | None = None
    ) -> None:
        """Stop try ``try_number`` of ``holder`` before its next write (``before`` says which) unless its claim
        in this generation still stands.

        It no longer stands when a newer try of the same delivery task claimed the chunk, when a newer try of
        the fetch reset the run (removing this generation's claims), or when the run was committed.

        ``unless_confirmed_after`` (a :func:`time.monotonic` value) skips the read when another thread of the
        same try found the claim standing since then: the fetch's delivery lane passes the end of its previous
        batch, and the fetch checks before each batch it stages, so while the fetch reads, the lane sends no
        batch whose check is older than its previous batch, as when it read the claim itself.

        :raises SupersededTryError: naming this try and the newer one (when it is known).
        """
        key = (holder, try_number)
        if unless_confirmed_after is not None and self._confirmed.get(key, float("-inf")) > unless_confirmed_after:
            return
        checked = time.monotonic()
        claimed = self.claimant(holder)
        if claimed == try_number:
            self._confirmed[key] = checked
            return
        newer = claimed if claimed is not None and claimed > try_number else None
        if holder == FETCH:
            newer = self._newest_generation()
        raise SupersededTryError(_superseded(holder, try_number, newer, before))

    @guarded("staging_url")
    def _newest_generation(self) -> int | None:
        """Return the newest generation the run's folder holds past this one, or None."""
        if not self.path.exists():
            return None
        numbers = [generation_of(entry.name) for entry in self.path.iterdir()]
        return max((n for n in numbers if n is not None and n > self.generation), default=None)

    @guarded("staging_url")
    def outcomes(self) -> dict[int, BatchOutcome]:
        """Return every settled batch's outcome by index (as written; see :func:`settlement.matching`).

        The ledger's markers are listed; a marker a sender's copy holds (:meth:`keep_copies`) is taken from
        the copy, and only the others are read, one GET each.
        """
        done = self.generation_path / "done"
        markers = _marker_indexes(names(done))
        copied = self._copies() if markers else {}
        unread = [index for index in markers if index not in copied]
        found = {
            index: cast(BatchOutcome, json.loads(data))
            for index, data in zip(unread, read_many([self._marker(index) for index in unread]), strict=True)
            if data is not None
        }
        return {index: found.get(index) or copied[index] for index in markers if index in found or index in copied}

    @guarded("staging_url")
    def keep_copies(self, sender: str, outcomes: Mapping[int, BatchOutcome]) -> None:
        """Keep a copy of the markers one sender (the fetch's lane, a delivery task's try) wrote, in one object, so
        that the commit reads a few copies rather than every marker (one GET a batch).

        A marker is written before its copy and never changes once it settles its batch (a batch settled is not
        sent again), so a copy of a listed marker is the marker; a marker with no copy (its sender died before
        writing one) is read.
        """
        if outcomes:
            body = json.dumps({str(index): outcome for index, outcome in outcomes.items()}).encode()
            write_bytes(self.generation_path / "copies" / f"{sender}.json", body)

    def _copies(self) -> dict[int, BatchOutcome]:
        """Return the markers the senders' copies hold, by index (a copy not whole JSON is left out)."""
        folder = self.generation_path / "copies"
        paths = [folder / name for name in sorted(names(folder)) if name.endswith(".json")]
        copied: dict[int, BatchOutcome] = {}
        for data in read_many(paths):  # by name: a newer try's copy (of the same chunk) after an older one's
            with contextlib.suppress(ValueError, TypeError):
                copied.update({int(index): outcome for index, outcome in json.loads(data or b"{}").items()})
        return copied

    def write_committed(self, summary: RunSummary, dead_letters: list[str]) -> None:
        """Record a successful commit and drop the staged batches; the plan and summary stay until pruned."""
        (self.path / "committed.json").write_bytes(
            json.dumps({"summary": summary, "dead_letters": dead_letters}).encode()
        )
        for entry in self.path.iterdir():
            if entry.name.startswith("g") and entry.is_dir():
                entry.rmdir(recursive=True)

    def read_committed(self) -> tuple[RunSummary, list[str]] | None:
        """Return the summary and dead-letter entries of the run's commit if it already succeeded, else None."""
        found = read_or_none(self.path / "committed.json")
        if found is None:
            return None
        record = json.loads(found)
        return cast(RunSummary, record["summary"]), list(record["dead_letters"])

    @guarded("staging_url")
    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Keep the run's completeness manifest, so that a retried commit sends the same one."""
        (self.path / "manifest.json").write_bytes(json.dumps(manifest).encode())

    @guarded("staging_url")
    def read_manifest(self) -> dict[str, Any] | None:
        """Return the run's completeness manifest if its commit built one, else None."""
        found = read_or_none(self.path / "manifest.json")
        return cast(dict[str, Any], json.loads(found)) if found is not None else None

    @guarded("staging_url")
    def remove(self) -> None:
        """Delete the run's staging."""
        if self.path.exists():
            self.path.rmdir(recursive=True)


def _marker_indexes(names: Iterable[str]) -> list[int]:
    """Return the batch indexes of the ledger markers among a ``done`` folder's names (``000012.json``: 12)."""
    return [int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()]


def _superseded(holder: Holder, try_number: int, newer: int | None, before: str) -> str:
    """Return the message of a :class:`SupersededTryError`: which try stopped before what, and who took over."""
    task = "fetch" if holder == FETCH else "delivery task"
    work = "the run" if holder == FETCH else f"chunk {holder}"
    if newer is None:
        return (
            f"Try {try_number} of this {task} stopped before {before}: its claim on {work} is gone (a newer try of the "
            "run's fetch ran, or the run was committed). Nothing is lost: the run's newest fetch try and its "
            "delivery tasks send every batch not yet settled."
        )
    owns = "owns the run: it reads the logs again and sends" if holder == FETCH else "sends"
    return (
        f"Try {try_number} of this {task} stopped before {before}: try {newer} took {work} over (Airflow started "
        f"the task again). Nothing is lost: try {newer} {owns} every batch not yet settled."
    )


def _remove(path: ObjectStoragePath) -> None:
    if path.is_dir():
        path.rmdir(recursive=True)
    else:
        path.unlink()


def prune(root: str, dag_id: str, older_than: timedelta, *, now: datetime | None = None) -> int:
    """Remove staging left by runs of ``dag_id`` fetched more than ``older_than`` ago; return how many.

    A successful commit removes the run's batches and ledgers and keeps its plan and commit record (a
    retried commit answers from them); a failed run keeps everything so its tasks can be cleared and
    rerun. The next runs deliver the same logs from the checkpoint, so old staging is garbage.
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
                raise MalformedLogError(missing_id_error(item, previous, page))
            if log_id <= previous:
                raise MalformedLogError(f"Auth0 returned log {log_id} out of order, after {previous}")
            previous = log_id
            yield log_id, item


class BatchSink(Protocol):
    """Where the stager puts each batch it cuts: a run's :class:`RunStaging`, or :class:`HeldBatches` for a preview."""

    def write_batch(self, index: int, logs: list[Mapping[str, Any]]) -> int:
        """Keep one batch; return how many of its logs had text repaired."""
        ...


class HeldBatches:
    """Batches kept in memory, encoded and read back as staging does (a preview writes no staging).

    The round trip is the same bytes a delivery task reads from staging, so a message built from a held
    batch is the message a run would send for it, repaired text included.
    """

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []

    def write_batch(self, index: int, logs: list[Mapping[str, Any]]) -> int:
        """Keep one batch as staging would encode it; return how many of its logs had text repaired."""
        lines = [encode_log(log) for log in logs]
        self.batches.append([orjson.loads(line) for line, _ in lines])
        return sum(1 for _, repaired in lines if repaired)


@dataclass
class Stager:
    """Select logs and cut them into staged batches, holding one batch in memory at a time."""

    staging: BatchSink
    accept: LogFilter
    transform: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    batch_size: int
    max_logs: int
    window: tuple[datetime, datetime] | None = None
    one_off: bool = False
    staged: Callable[[int, BatchRange], None] | None = None
    """Told of each batch once it is staged (the fetch's delivery lane, :mod:`auth0_log_webhooks.steps.lane`)."""

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
            else:
                manifest.filtered += 1
            # Past the cap, stop on a batch boundary so the next run cuts the same batches (same
            # webhook-ids); when selected logs are rare, stop anyway after a bounded overshoot. A
            # backfill window has no next run: it is read whole (one batch in memory at a time).
            if self._capped(manifest.fetched, bool(batch)):
                manifest.note = self._cap_note(log_id)
                manifest.more_to_read = True
                break
        self._flush(manifest, batch)
        return manifest

    def _capped(self, fetched: int, batch_open: bool) -> bool:
        if self.window is not None:
            return False
        return fetched >= self.max_logs and (not batch_open or fetched >= 2 * self.max_logs)

    def _cap_note(self, last: str) -> str:
        if self.one_off:
            return (
                f"stopped after max_logs_per_run={self.max_logs} at {last}; this one-off run does not commit, "
                f"so no run continues from there: trigger another with start_from {last} to read on"
            )
        return f"stopped after max_logs_per_run={self.max_logs}; the next run continues after {last}"

    def _flush(self, manifest: Manifest, batch: list[tuple[str, Mapping[str, Any]]]) -> None:
        if not batch:
            return
        index = len(manifest.batches)
        manifest.repaired += self.staging.write_batch(index, [item for _, item in batch])
        manifest.batches.append(BatchRange(count=len(batch), first=batch[0][0], last=batch[-1][0]))
        manifest.selected += len(batch)
        if self.staged is not None:
            self.staged(index, manifest.batches[index])

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


def plan_chunks(
    batches: list[BatchRange],
    max_tasks: int,
    min_batches_per_task: int = 1,
    *,
    generation: int,
    staging_url: str,
    first: int = 0,
) -> list[Chunk]:
    """Return one chunk of contiguous batches per delivery task: at most ``max_tasks``, and no more
    than one per ``min_batches_per_task`` batches (a task costs Airflow seconds; a batch, milliseconds);
    each names the ``generation`` (fetch attempt) whose batches it carries and the staging root.

    Only the batches from index ``first`` on are planned: those before it are settled already (the
    fetch's delivery lane sent them, :mod:`~auth0_log_webhooks.steps.lane`)."""
    left = len(batches) - first
    tasks = min(max_tasks, -(-left // max(1, min_batches_per_task)))
    chunks = []
    for number, (start, stop) in enumerate((first + a, first + b) for a, b in chunk_ranges(left, tasks)):
        label = chunk_label(start, stop, batches[start:stop])
        chunks.append(
            Chunk(chunk=number, start=start, stop=stop, label=label, generation=generation, staging_url=staging_url)
        )
    return chunks
