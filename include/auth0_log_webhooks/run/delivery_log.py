"""The delivery log: every attempt of every message, and the log id range each run read, beside the staging data.

It answers "what happened to log X?" (``python -m auth0_log_webhooks trace``) without scanning: log
ids are ordered and start with their UTC date, so the records are filed by the days their log ids
cover. Layout under ``<staging_root>/<pipeline>/delivery-log/``::

    2026-12-03/<first>-<last>-sent-<16 hex>.jsonl   attempts of the messages of one delivered batch
    2026-12-03/<after>-<through>-read-<16 hex>.jsonl what one fetch read: the range and its filters

A file lives in the folder of the day of its first log id, and its name says the range it covers.
When the range reaches into later days, an empty file of the same name in each of those days points
back to it. A lookup lists one day's folder (the names are the index), keeps the names whose range
holds the log id, and reads only those files. Writers never append: each flush is a new file with a
random suffix, so delivery tasks on several machines (S3, GCS) never race.

A ``sent`` line is one attempt: pipeline, run id, message id (the ``webhook-id`` header), first and
last log id, log count, attempt number, the answer's status (``None`` for a network error or a
timeout), the sender's verdict, latency, time and a redacted excerpt of the answer of at most
:data:`EXCERPT_CHARS` characters. A ``read`` line is one fetch: the range ``(after, through]`` it read,
how many logs it read and selected, and the settings that select logs, so a trace can tell whether a
filter left a log out. No log content is kept here.

Day folders older than ``delivery_log_retention_days`` are removed by the next fetch;
``delivery_log_retention_days: 0`` keeps no delivery log.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.log_ids import is_log_id, time_of
from auth0_log_webhooks.pipelines.pipelines_file import FILTER_FIELDS
from auth0_log_webhooks.run.store_errors import guarded, reaching
from auth0_log_webhooks.run.store_io import write_bytes

FOLDER = "delivery-log"
EXCERPT_CHARS = 300
"""How much of a receiver's (already redacted) answer an attempt keeps: enough to read, little to store."""

Kind = Literal["read", "sent"]
_NAME = re.compile(r"(900\d{53})-(900\d{53})-(read|sent)-([0-9a-f]{16})\.jsonl", re.ASCII)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def day_of(log_id: str) -> date:
    """Return the UTC day inside a log id (:raises InvalidCheckpointError: for a malformed one)."""
    return time_of(log_id).date()


@dataclass(frozen=True, order=True)
class FileName:
    """What a delivery log file's name says: the log id range it covers, its kind and its unique suffix."""

    first: str
    last: str
    kind: Kind
    suffix: str

    @property
    def name(self) -> str:
        """The file's name."""
        return f"{self.first}-{self.last}-{self.kind}-{self.suffix}.jsonl"

    @property
    def home(self) -> date:
        """The day whose folder holds the file's lines (the others hold empty pointers)."""
        return day_of(self.first)

    def covers(self, log_id: str) -> bool:
        """Whether ``log_id`` lies in the file's range: ``(first, last]`` for a read, ``[first, last]`` for sends."""
        if self.kind == "read":
            return self.first < log_id <= self.last
        return self.first <= log_id <= self.last


def parse_name(name: str) -> FileName | None:
    """Return what a file name in a day folder says, or None for anything that is not a delivery log file.

    Names come from object storage, which anyone with access may write to: an odd name is skipped,
    never an error.
    """
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    first, last, kind, suffix = match.groups()
    if first > last:
        return None
    try:
        day_of(first), day_of(last)
    except ValueError:  # digits where the date goes that are no date (month 13)
        return None
    return FileName(first, last, "read" if kind == "read" else "sent", suffix)


@dataclass(frozen=True)
class Attempt:
    """One attempt to deliver one message, and its answer."""

    pipeline: str
    run_id: str
    message_id: str
    first: str
    last: str
    count: int
    attempt: int
    status: int | None
    """The HTTP status, or None when no answer came (``error`` says why)."""
    verdict: str
    """``delivered``, ``retry``, ``split`` (413) or ``permanent``, as the sender classified the answer."""
    error: str | None
    latency_ms: int
    at: str
    excerpt: str
    kind: Literal["sent"] = "sent"

    def covers(self, log_id: str) -> bool:
        """Whether the message's range holds ``log_id`` (it carried it unless a filter left it out)."""
        return self.first <= log_id <= self.last


@dataclass(frozen=True)
class Read:
    """What one fetch of a run read: the log ids after ``after`` up to ``through``, and how it selected."""

    pipeline: str
    run_id: str
    after: str
    through: str
    fetched: int
    selected: int
    mode: str
    at: str
    filters: dict[str, Any] = field(default_factory=dict)
    kind: Literal["read"] = "read"

    def covers(self, log_id: str) -> bool:
        """Whether this fetch read ``log_id`` (if the tenant had it)."""
        return self.after < log_id <= self.through


Entry = Attempt | Read


def parse_line(line: bytes) -> Entry | None:
    """Return the entry of one line, or None for a line that is not one (a torn write, an edit by hand)."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            return None
        kind = data.get("kind")
        if kind == "sent":
            return Attempt(**data)
        if kind == "read":
            return Read(**data)
    except (ValueError, TypeError):
        return None
    return None


def _range_of(entries: Sequence[Entry]) -> tuple[str, str]:
    firsts = [entry.first if isinstance(entry, Attempt) else entry.after for entry in entries]
    lasts = [entry.last if isinstance(entry, Attempt) else entry.through for entry in entries]
    return min(firsts), max(lasts)


class DeliveryLog:
    """One pipeline's delivery log in object storage (a local folder, s3:// or gs://)."""

    def __init__(self, staging_root: str, pipeline: str, retention_days: int) -> None:
        self.folder = ObjectStoragePath(staging_root.rstrip("/")) / pipeline / FOLDER
        self.pipeline = pipeline
        self.retention_days = retention_days

    @property
    def store_path(self) -> ObjectStoragePath:
        """The pipeline's delivery log folder; a store error names it."""
        return self.folder

    @property
    def enabled(self) -> bool:
        """Whether anything is kept (``delivery_log_retention_days`` above 0)."""
        return self.retention_days > 0

    @guarded("staging_url")
    def write(self, entries: Sequence[Entry]) -> FileName | None:
        """Write entries as one new file in the day of their first log id, with pointers in later days."""
        if not entries or not self.enabled:
            return None
        first, last = _range_of(entries)
        kind: Kind = "read" if isinstance(entries[0], Read) else "sent"
        name = FileName(first, last, kind, secrets.token_hex(8))
        body = b"".join(json.dumps(asdict(entry), separators=(",", ":")).encode() + b"\n" for entry in entries)
        write_bytes(self.folder / name.home.isoformat() / name.name, body)
        for day in _pointer_days(name.home, day_of(last), self.retention_days):
            write_bytes(self.folder / day.isoformat() / name.name, b"")
        return name

    @guarded("staging_url")
    def find(self, log_id: str) -> list[Entry]:
        """Return the entries whose range holds ``log_id``: one day's listing, then only the files it names.

        Sends come in attempt order per message, reads in log id order.
        """
        folder = self.folder / day_of(log_id).isoformat()
        if not folder.exists():
            return []
        names = sorted(found for path in folder.iterdir() if (found := parse_name(path.name)) and found.covers(log_id))
        entries: list[Entry] = []
        for name in names:
            path = self.folder / name.home.isoformat() / name.name
            if not path.exists():  # its home day was pruned first
                continue
            lines = path.read_bytes().splitlines()
            entries += [e for line in lines if (e := parse_line(line)) is not None and e.covers(log_id)]
        return entries

    @guarded("staging_url")
    def days(self) -> list[date]:
        """Return the days that have a folder, oldest first."""
        if not self.folder.exists():
            return []
        return sorted(date.fromisoformat(p.name) for p in self.folder.iterdir() if _DAY.fullmatch(p.name))

    @guarded("staging_url")
    def earliest_read(self) -> tuple[date, str] | None:
        """Return the oldest day on record and where the first read on record started (from names only)."""
        days = self.days()
        for day in days:
            starts = [
                found.first
                for path in (self.folder / day.isoformat()).iterdir()
                if (found := parse_name(path.name)) and found.kind == "read"
            ]
            if starts:
                return days[0], min(starts)
        return None

    def prune(self, now: datetime | None = None) -> int:
        """Remove the day folders older than the retention; return how many (all of them when it is 0)."""
        with reaching(self.folder, "staging_url"):
            if not self.folder.exists():
                return 0
            today = (now or datetime.now(UTC)).date()
            cutoff = today - timedelta(days=self.retention_days) if self.retention_days else date.max
            removed = 0
            for path in self.folder.iterdir():
                if _DAY.fullmatch(path.name) and date.fromisoformat(path.name) < cutoff:
                    path.rmdir(recursive=True)
                    removed += 1
            return removed


def _pointer_days(home: date, last: date, retention_days: int) -> Iterable[date]:
    """The days after ``home`` up to ``last`` that get a pointer (those older than the retention are skipped)."""
    start = max(home + timedelta(days=1), last - timedelta(days=retention_days))
    return (start + timedelta(days=n) for n in range((last - start).days + 1))


def now_text() -> str:
    """The current UTC time as the delivery log writes it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Journal:
    """Attempts held until the batch they belong to is settled, then written as one file.

    The sender records into it (:mod:`auth0_log_webhooks.delivery.sender`); the deliver and replay
    steps flush it after each batch, so a settled batch's attempts are kept before its ledger marker.
    """

    log: DeliveryLog
    run_id: str
    now: Callable[[], str] = now_text
    pending: list[Entry] = field(default_factory=list)

    def record(
        self,
        *,
        message_id: str,
        log_ids: Sequence[str],
        attempt: int,
        status: int | None,
        verdict: str,
        error: str | None,
        latency_ms: float,
        excerpt: str,
    ) -> None:
        """Hold one attempt of one message."""
        if not log_ids or not self.log.enabled:
            return
        cut = excerpt if len(excerpt) <= EXCERPT_CHARS else excerpt[:EXCERPT_CHARS] + " [...]"
        self.pending.append(
            Attempt(
                pipeline=self.log.pipeline,
                run_id=self.run_id,
                message_id=message_id,
                first=min(log_ids),
                last=max(log_ids),
                count=len(log_ids),
                attempt=attempt,
                status=status,
                verdict=verdict,
                error=error,
                latency_ms=round(latency_ms),
                at=self.now(),
                excerpt=cut,
            )
        )

    def flush(self) -> None:
        """Write what is held (nothing when nothing is)."""
        held, self.pending = self.pending, []
        self.log.write(held)


def record_read(
    log: DeliveryLog,
    *,
    run_id: str,
    after: str,
    through: str | None,
    fetched: int,
    selected: int,
    mode: str,
    settings: dict[str, Any],
) -> None:
    """Write what a fetch read (nothing when it read nothing)."""
    if through is None or not is_log_id(through):
        return
    start = after if is_log_id(after) and after < through else "900" + through[3:11] + "0" * 45
    filters = {key: settings[key] for key in FILTER_FIELDS if key in settings}
    log.write(
        [
            Read(
                pipeline=log.pipeline,
                run_id=run_id,
                after=start,
                through=through,
                fetched=fetched,
                selected=selected,
                mode=mode,
                at=now_text(),
                filters=filters,
            )
        ]
    )
