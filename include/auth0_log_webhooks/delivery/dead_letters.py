"""Dead letters: messages the webhook would not take, kept durably for replay.

One JSON file per message under ``<dead_letter_url>/<pipeline>/<webhook_id>.json`` holding the
logs, why delivery stopped and the last response (status and the start of its body). The file name
is the message's stable webhook-id, so dead-lettering the same logs twice keeps one entry.
The ``auth0_webhooks_replay`` DAG re-sends entries and removes those it delivered.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.run.store_errors import guarded, reaching

if TYPE_CHECKING:  # the sender (aiohttp, the HTTP provider) loads in the tasks that send, not in the commit's
    from auth0_log_webhooks.delivery.sender import Failure

log = logging.getLogger(__name__)

PIPELINE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}", re.ASCII)
WEBHOOK_ID = re.compile(r"msg_[0-9a-f]{40}", re.ASCII)
ENTRY_FORMAT = "<pipeline>/msg_<40 lowercase hex digits>"


class InvalidEntryError(ValueError):
    """An entry id that is not ``<pipeline>/msg_<40 hex>``, or a letter whose content disagrees with its name."""


def split_entry_id(entry_id: str) -> tuple[str, str]:
    """Return ``(pipeline, webhook_id)`` of an entry id, each checked against its strict pattern.

    Only these validated parts ever become a path, so an entry id cannot reach outside its
    pipeline's folder (``..``, ``/``, absolute paths and other pipelines' names are refused).

    :raises InvalidEntryError: naming the entry id and the expected format.
    """
    pipeline, slash, webhook_id = entry_id.partition("/") if isinstance(entry_id, str) else ("", "", "")
    if not slash or not PIPELINE_NAME.fullmatch(pipeline) or not WEBHOOK_ID.fullmatch(webhook_id):
        raise InvalidEntryError(f"dead letter entry {str(entry_id)[:120]!r} is not {ENTRY_FORMAT}")
    return pipeline, webhook_id


@dataclass(frozen=True)
class DeadLetter:
    """A kept message: its logs, the reason and the last response."""

    pipeline: str
    webhook_id: str
    reason: str
    last_status: int | None
    last_error: str | None
    last_body_excerpt: str
    attempts: int
    created_at: str
    dag_id: str
    run_id: str
    log_ids: list[str]
    logs: list[dict[str, Any]]

    @property
    def entry_id(self) -> str:
        """Return the id used to select this entry for replay (``pipeline/webhook_id``)."""
        return f"{self.pipeline}/{self.webhook_id}"


@dataclass(frozen=True)
class DeadLetterSummary:
    """A pipeline's kept entries: every entry id (from the file names, newest first), and only the newest read.

    A page that shows dead letters reads a bounded number of files however many are kept.
    """

    entry_ids: list[str]
    newest: list[DeadLetter]

    @property
    def count(self) -> int:
        """How many entries are kept."""
        return len(self.entry_ids)

    @property
    def complete(self) -> bool:
        """Whether every entry was read (so their logs can be counted)."""
        return len(self.newest) == len(self.entry_ids)

    @classmethod
    def of(cls, letters: Iterable[DeadLetter]) -> DeadLetterSummary:
        """Return the summary of letters already read, newest first."""
        newest = sorted(letters, key=lambda letter: letter.created_at, reverse=True)
        return cls([letter.entry_id for letter in newest], newest)


def _modified(info: Mapping[str, Any]) -> float:
    """Return a listing entry's modification time as epoch seconds (0 if the store gives none)."""
    value = info.get("mtime", info.get("LastModified", info.get("updated", info.get("created"))))
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return 0.0


class DeadLetterStore:
    """Dead letters in object storage (a local folder, s3:// or gs://)."""

    def __init__(self, root: str) -> None:
        self.root = ObjectStoragePath(root.rstrip("/"))

    @property
    def store_path(self) -> ObjectStoragePath:
        """Where every pipeline's entries are; a store error names it (:mod:`~auth0_log_webhooks.run.store_errors`)."""
        return self.root

    def _file(self, pipeline: str, webhook_id: str) -> ObjectStoragePath:
        pipeline, webhook_id = split_entry_id(f"{pipeline}/{webhook_id}")
        return self.root / pipeline / f"{webhook_id}.json"

    @guarded("dead_letter_url")
    def put(self, pipeline: str, failure: Failure, *, dag_id: str, run_id: str) -> DeadLetter:
        """Keep a failed message; return the entry written."""
        letter = DeadLetter(
            pipeline=pipeline,
            webhook_id=failure.message.webhook_id,
            reason=failure.reason,
            last_status=failure.last.status,
            last_error=failure.last.error,
            last_body_excerpt=failure.last.body_excerpt,
            attempts=failure.last.attempts,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            dag_id=dag_id,
            run_id=run_id,
            log_ids=list(failure.message.log_ids),
            logs=[dict(log) for log in failure.message.logs],
        )
        target = self._file(pipeline, letter.webhook_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(json.dumps(asdict(letter), ensure_ascii=False).encode())
        return letter

    def entries(self, pipeline: str | None = None) -> Iterator[DeadLetter]:
        """Yield the kept entries (of one pipeline, or all), oldest first by their first log id."""
        with reaching(self.root, "dead_letter_url"):
            folders = [self.root / pipeline] if pipeline else (list(self.root.iterdir()) if self.root.exists() else [])
            files = [f for folder in folders if folder.exists() for f in folder.iterdir() if f.name.endswith(".json")]
            letters = []
            for file in files:
                try:
                    letters.append(self._load_checked(file.parent.name, file.name.removesuffix(".json")))
                except InvalidEntryError as exc:
                    log.warning("Skipping %s (left in place): %s", file, exc)
        yield from sorted(letters, key=lambda letter: letter.log_ids[0] if letter.log_ids else "")

    @guarded("dead_letter_url")
    def summary(self, pipeline: str, read_at_most: int) -> DeadLetterSummary:
        """Return a pipeline's entries from one listing, reading only the ``read_at_most`` newest files."""
        folder = self.root / pipeline
        if not folder.exists():
            return DeadLetterSummary([], [])
        listing = [info for info in folder.fs.ls(folder.path, detail=True) if str(info["name"]).endswith(".json")]
        listing.sort(key=_modified, reverse=True)
        entry_ids: list[str] = []
        newest: list[DeadLetter] = []
        for info in listing:
            webhook_id = str(info["name"]).rsplit("/", 1)[-1].removesuffix(".json")
            if not WEBHOOK_ID.fullmatch(webhook_id):
                continue
            entry_ids.append(f"{pipeline}/{webhook_id}")
            if len(newest) < read_at_most:
                try:
                    newest.append(self._load_checked(pipeline, webhook_id))
                except (InvalidEntryError, ValueError, TypeError) as exc:
                    log.warning("Skipping dead letter %s/%s (left in place): %s", pipeline, webhook_id, exc)
                    entry_ids.pop()
        return DeadLetterSummary(entry_ids, newest)

    @guarded("dead_letter_url")
    def get(self, entry_id: str) -> DeadLetter:
        """Return one entry by ``pipeline/webhook_id``.

        :raises KeyError: naming the entry if it does not exist.
        """
        try:
            pipeline, webhook_id = split_entry_id(entry_id)
        except InvalidEntryError as exc:
            raise KeyError(f"no dead letter {entry_id!r} under {self.root}: {exc}") from None
        if not self._file(pipeline, webhook_id).exists():
            raise KeyError(f"no dead letter {entry_id!r} under {self.root}")
        return self._load_checked(pipeline, webhook_id)

    def still_kept(self, entry_ids: Iterable[str]) -> list[DeadLetter]:
        """Return the entries of ``entry_ids`` that are still kept (those replayed meanwhile are gone)."""
        letters = []
        for entry_id in entry_ids:
            with contextlib.suppress(KeyError):  # replayed (delivered and removed) since: nothing is kept any more
                letters.append(self.get(entry_id))
        return letters

    @guarded("dead_letter_url")
    def remove(self, letter: DeadLetter) -> None:
        """Delete an entry (once it has been delivered)."""
        target = self._file(letter.pipeline, letter.webhook_id)
        if target.exists():
            target.unlink()

    def location(self, pipeline: str) -> str:
        """Return where a pipeline's entries are kept, for messages to users."""
        return str(self.root / pipeline)

    def _load_checked(self, pipeline: str, webhook_id: str) -> DeadLetter:
        """Load the letter kept at ``pipeline/webhook_id``; refuse one whose content names another entry."""
        data: Mapping[str, Any] = json.loads(self._file(pipeline, webhook_id).read_bytes())
        letter = DeadLetter(**data)
        if (letter.pipeline, letter.webhook_id) != (pipeline, webhook_id):
            raise InvalidEntryError(
                f"dead letter {pipeline}/{webhook_id} says it is {str(letter.pipeline)[:60]!r}/"
                f"{str(letter.webhook_id)[:60]!r}; it was edited or moved and is not replayed"
            )
        return letter
