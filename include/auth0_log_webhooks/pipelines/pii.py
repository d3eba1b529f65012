"""Personal data masked, hashed or removed from logs before they are staged.

A pipeline lists rules, each a dotted path into the Auth0 log object and a method:

* ``mask``: the value becomes ``"****"`` (its length is not kept, so it says nothing);
* ``hash``: the value becomes the hex HMAC-SHA256 of its JSON text under the pipeline's key (the
  password of a connection): the same value hashes the same way in every run and pipeline with that
  key, so receivers can still join on it, and without the key it cannot be found by hashing guesses;
* ``remove``: the field is dropped.

Paths: ``user_name``, ``details.request.auth.user.email``; ``*`` is any one key or list element at
that level (``details.prompts.*.user_name``), ``**`` any number of levels, none included
(``**.email`` is every ``email`` anywhere). A number selects a list element. A path that does not
exist in a log changes nothing. Rules apply to the log as Auth0 returns it, before a pipeline
reshapes it, and before staging: nothing unmasked rests in staging or dead letters.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

MASK = "****"
Method = Literal["mask", "hash", "remove"]
_SEGMENT = re.compile(r"^(\*\*|\*|[^.*]+)$")


class PiiPathError(ValueError):
    """A PII rule's path is not a dotted path of names, ``*`` and ``**``."""


def parse_path(path: str) -> tuple[str, ...]:
    """Split a dotted path into its segments.

    :raises PiiPathError: naming the path, if it is empty, has an empty segment or mixes ``*`` into a name.
    """
    segments = tuple(path.split("."))
    bad = [s for s in segments if not _SEGMENT.match(s)]
    if not path or bad:
        raise PiiPathError(
            f"{path!r} is not a dotted path: use names, numbers, '*' (one level) and '**' (any levels), "
            "e.g. details.request.auth.user.email"
        )
    if segments[-1] == "**":
        raise PiiPathError(f"{path!r} ends in '**': name the field it leads to, e.g. '**.email'")
    return segments


def _children(node: Any) -> Iterator[tuple[Any, Any]]:
    """Yield ``(container, key)`` for every direct child of a dict or list."""
    if isinstance(node, dict):
        yield from ((node, key) for key in list(node))
    elif isinstance(node, list):
        yield from ((node, index) for index in range(len(node)))


def _child(node: Any, segment: str) -> Iterator[tuple[Any, Any]]:
    """Yield ``(container, key)`` of the child ``segment`` names, if it exists."""
    if isinstance(node, dict) and segment in node:
        yield node, segment
    elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        yield node, int(segment)


def locate(node: Any, segments: Sequence[str]) -> Iterator[tuple[Any, Any]]:
    """Yield ``(container, key)`` for every place ``segments`` reaches in ``node``, deepest first."""
    if not segments:
        return
    head, rest = segments[0], segments[1:]
    if head == "**":
        yield from locate(node, rest)  # zero levels
        for container, key in list(_children(node)):
            yield from locate(container[key], segments)  # one more level, still under '**'
        return
    places = list(_children(node)) if head == "*" else list(_child(node, head))
    for container, key in places:
        if rest:
            yield from locate(container[key], rest)
        else:
            yield container, key


def keyed_hash(value: Any, key: bytes) -> str:
    """Return the hex HMAC-SHA256 of a value's canonical JSON text (a string hashes its own JSON form)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PiiRule:
    """One field (a dotted path) and what to do with it."""

    path: str
    method: Method

    @property
    def segments(self) -> tuple[str, ...]:
        """Return the path's segments (validated)."""
        return parse_path(self.path)


def redactor(rules: Sequence[PiiRule], key: bytes | None) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """Return a function that applies ``rules`` in order to a copy of a log.

    :raises ValueError: if a rule hashes and no key is given, or the key is empty.
    """
    compiled = [(rule.segments, rule.method) for rule in rules]
    if any(method == "hash" for _, method in compiled) and not key:
        raise ValueError("a PII rule hashes, but no hash key was given")

    def apply(log: Mapping[str, Any]) -> dict[str, Any]:
        redacted = _copy(log)
        for segments, method in compiled:
            # Deepest first and from a list's end, so removing one place never moves another.
            unique = {(id(container), place): (container, place) for container, place in locate(redacted, segments)}
            for container, place in sorted(unique.values(), key=_removal_order):
                if method == "remove":
                    del container[place]
                elif method == "mask":
                    container[place] = MASK
                else:
                    container[place] = keyed_hash(container[place], key or b"")
        return redacted

    return apply


def _copy(log: Mapping[str, Any]) -> dict[str, Any]:
    """Return a deep copy of a JSON log: orjson's round trip is several times faster than deepcopy."""
    try:
        copied: dict[str, Any] = orjson.loads(orjson.dumps(log))
    except TypeError:  # an integer beyond 64 bits, which orjson does not take
        copied = copy.deepcopy(dict(log))
    return copied


def _removal_order(place: tuple[Any, Any]) -> tuple[int, int]:
    _, key = place
    return (0, -key) if isinstance(key, int) else (1, 0)


def hash_key_from_connection(conn_id: str | None) -> bytes:
    """Return the HMAC key of hash rules: the password of connection ``conn_id`` (fetched in the task).

    :raises ValueError: naming the connection, if none is named or it has no password.
    """
    if not conn_id:
        raise ValueError("a PII rule hashes, but the pipeline names no pii.hash_key_connection")
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    password = BaseHook.get_connection(conn_id).password
    if password:
        mask_secret(password)  # kept out of task logs, like the signing secrets
    if not password:
        raise ValueError(
            f"Connection {conn_id} has no password: set it to a long random key (the PII hash key), "
            "e.g. the output of `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    return str(password).encode()
