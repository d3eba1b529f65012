"""Completeness manifests: their JSON body, the hash chain over them, and a strict parser for a receiver.

After each committed run of a pipeline with ``completeness_manifests`` on, the sender delivers one
more signed message with the header ``webhook-kind: manifest``. Its JSON body lists the run's
messages (``webhook-id``, log count, first and last log id) and those it kept as dead letters (they
come later, by replay, with the same ``webhook-id``); the log ids the run read after and through
(``read_after``, ``read_through``); its ``mode`` (``checkpoint`` for a scheduled or manual run,
``window`` for a backfill, ``one_off`` for a run whose params changed what it reads); its
``sequence`` number in the pipeline's chain; the ``previous_hash`` (the hash of manifest
``sequence - 1``, null for the first); and its own ``hash``: ``sha256:`` and the hex SHA-256 of the
body without ``hash``, serialised as sorted-key, compact, ASCII JSON. The header only routes the
message; the signed body says what it is.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

KIND_HEADER = "webhook-kind"
"""The header that marks a manifest; a message without it carries logs."""
MANIFEST_KIND = "manifest"
BODY_KIND = "auth0_log_webhooks.manifest"
VERSION = 1
HASH = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_FIELDS = frozenset(
    {
        "kind",
        "version",
        "pipeline",
        "sequence",
        "run_id",
        "mode",
        "created_at",
        "read_after",
        "read_through",
        "messages",
        "dead_letters",
        "previous_hash",
        "hash",
    }
)


class ManifestError(ValueError):
    """A body that is not a valid manifest; the message names the field."""


@dataclass(frozen=True)
class MessageEntry:
    """One message a manifest lists: its ``webhook-id``, how many logs it carries, its first and last log id."""

    webhook_id: str
    log_count: int
    first_log_id: str
    last_log_id: str

    def as_json(self) -> dict[str, Any]:
        """Return the entry as the manifest's JSON has it."""
        return {
            "webhook_id": self.webhook_id,
            "log_count": self.log_count,
            "first_log_id": self.first_log_id,
            "last_log_id": self.last_log_id,
        }


@dataclass(frozen=True)
class Manifest:
    """A parsed, hash-checked manifest."""

    pipeline: str
    sequence: int
    run_id: str
    mode: str
    created_at: str
    read_after: str | None
    read_through: str | None
    messages: tuple[MessageEntry, ...]
    dead_letters: tuple[MessageEntry, ...]
    previous_hash: str | None
    hash: str


def chain_hash(document: Mapping[str, Any]) -> str:
    """Return ``sha256:<hex>`` of a manifest body without its ``hash`` field (sorted keys, compact, ASCII)."""
    content = {key: value for key, value in document.items() if key != "hash"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()


def manifest_webhook_id(pipeline: str, sequence: int, run_id: str) -> str:
    """Return a manifest's ``webhook-id``: stable, so a re-sent manifest is recognised as the same message."""
    digest = hashlib.sha256(f"manifest\n{pipeline}\n{sequence}\n{run_id}".encode()).hexdigest()
    return f"msg_{digest[:40]}"


def build(
    *,
    pipeline: str,
    sequence: int,
    previous_hash: str | None,
    run_id: str,
    mode: str,
    created_at: str,
    read_after: str | None,
    read_through: str | None,
    messages: Sequence[MessageEntry],
    dead_letters: Sequence[MessageEntry],
) -> dict[str, Any]:
    """Return a manifest body, its ``hash`` computed over the rest."""
    document: dict[str, Any] = {
        "kind": BODY_KIND,
        "version": VERSION,
        "pipeline": pipeline,
        "sequence": sequence,
        "run_id": run_id,
        "mode": mode,
        "created_at": created_at,
        "read_after": read_after,
        "read_through": read_through,
        "messages": [entry.as_json() for entry in messages],
        "dead_letters": [entry.as_json() for entry in dead_letters],
        "previous_hash": previous_hash,
    }
    document["hash"] = chain_hash(document)
    return document


def parse(body: bytes | str) -> Manifest:
    """Parse a manifest body, checking every field and its hash.

    :raises ManifestError: naming the first field that is missing or wrong, or a hash that does not match.
    """
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"the manifest is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ManifestError(f"the manifest is a JSON {type(document).__name__}, not an object")
    unknown = sorted(set(document) - _FIELDS)
    if unknown:
        raise ManifestError(f"the manifest has fields this kit does not know: {', '.join(unknown[:5])}")
    sequence, previous, own = _chain_fields(document)
    return Manifest(
        pipeline=_text(document, "pipeline"),
        sequence=sequence,
        run_id=_text(document, "run_id"),
        mode=_text(document, "mode"),
        created_at=_text(document, "created_at"),
        read_after=_optional_text(document, "read_after"),
        read_through=_optional_text(document, "read_through"),
        messages=_entries(document, "messages"),
        dead_letters=_entries(document, "dead_letters"),
        previous_hash=previous,
        hash=own,
    )


def _chain_fields(document: Mapping[str, Any]) -> tuple[int, str | None, str]:
    """Return the checked ``sequence``, ``previous_hash`` and ``hash`` (which must match the content)."""
    if document.get("kind") != BODY_KIND:
        raise ManifestError(f"kind is {_shown(document.get('kind'))}, not {BODY_KIND!r}")
    if _integer(document, "version") != VERSION:
        raise ManifestError(f"version {document['version']} is not {VERSION}, the one this kit reads")
    sequence = _integer(document, "sequence")
    if sequence < 1:
        raise ManifestError(f"sequence is {sequence}; sequences start at 1")
    previous = document.get("previous_hash")
    if previous is None and sequence != 1:
        raise ManifestError(f"previous_hash is null in manifest {sequence}; only manifest 1 has none")
    if previous is not None and not (isinstance(previous, str) and HASH.fullmatch(previous)):
        raise ManifestError("previous_hash is not sha256:<64 hex digits>")
    own = document.get("hash")
    if not (isinstance(own, str) and HASH.fullmatch(own)):
        raise ManifestError("hash is not sha256:<64 hex digits>")
    if chain_hash(document) != own:
        raise ManifestError(f"the hash of manifest {sequence} does not match its content: it was changed after signing")
    return sequence, previous, own


def _integer(document: Mapping[str, Any], name: str) -> int:
    value = document.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ManifestError(f"{name} is {_shown(value)}, not an integer")
    return value


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise ManifestError(f"{name} is {_shown(value)}, not a non-empty string")
    return value


def _optional_text(document: Mapping[str, Any], name: str) -> str | None:
    return None if document.get(name) is None else _text(document, name)


def _entries(document: Mapping[str, Any], name: str) -> tuple[MessageEntry, ...]:
    items = document.get(name)
    if not isinstance(items, list):
        raise ManifestError(f"{name} is {_shown(items)}, not a list")
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"webhook_id", "log_count", "first_log_id", "last_log_id"}:
            raise ManifestError(f"{name}[{index}] is not {{webhook_id, log_count, first_log_id, last_log_id}}")
        count = _integer(item, "log_count")
        if count < 0:
            raise ManifestError(f"{name}[{index}].log_count is {count}, below 0")
        entries.append(
            MessageEntry(_text(item, "webhook_id"), count, _text(item, "first_log_id"), _text(item, "last_log_id"))
        )
    return tuple(entries)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
