"""Small objects read and written in one request each: no existence check first, no folder made first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.run.store_io import read, read_many, read_or_none, write_bytes

pytestmark = pytest.mark.unit


def test_write_makes_the_missing_folders_and_read_finds_what_was_written(tmp_path: Path) -> None:
    path = ObjectStoragePath(f"file://{tmp_path}/a/b/c.json")
    write_bytes(path, b"{}")
    write_bytes(path, b"[]")  # the folder exists now: written at once
    assert (read(path), read_or_none(path)) == (b"[]", b"[]")
    assert read_or_none(ObjectStoragePath(f"file://{tmp_path}/a/missing.json")) is None
    with pytest.raises(FileNotFoundError):
        read(ObjectStoragePath(f"file://{tmp_path}/a/missing.json"))


def test_read_many_keeps_the_order_and_answers_none_for_a_missing_object(tmp_path: Path) -> None:
    paths = [ObjectStoragePath(f"file://{tmp_path}/{name}.json") for name in ("b", "missing", "a")]
    write_bytes(paths[0], b"1")
    write_bytes(paths[2], b"2")
    assert read_many(paths) == [b"1", None, b"2"]
    assert read_many([]) == []


class Store:
    """A filesystem that records its calls: what the functions ask of the store."""

    def __init__(self, protocol: str | tuple[str, ...], answers: dict[str, Any]) -> None:
        self.protocol = protocol
        self.answers = answers
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    def cat_file(self, path: str, **kwargs: Any) -> bytes:
        self.calls.append(("cat_file", path, kwargs))
        answer = self.answers[path]
        if isinstance(answer, BaseException):
            raise answer
        return bytes(answer)

    def cat(self, paths: list[str], on_error: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("cat", paths, {"on_error": on_error, **kwargs}))
        return {path: self.answers[path] for path in paths}


class StorePath:
    """An object path on a :class:`Store` (only what the functions use)."""

    def __init__(self, fs: Store, path: str) -> None:
        self.fs = fs
        self.path = path


def test_on_s3_a_read_is_one_get_without_asking_the_size_first() -> None:
    s3 = Store(("s3", "s3a"), {"bucket/k": b"x", "bucket/gone": FileNotFoundError("bucket/gone")})
    assert read_or_none(StorePath(s3, "bucket/k")) == b"x"  # type: ignore[arg-type]
    assert read_or_none(StorePath(s3, "bucket/gone")) is None  # type: ignore[arg-type]
    assert read_many([StorePath(s3, "bucket/k"), StorePath(s3, "bucket/gone")]) == [b"x", None]  # type: ignore[list-item]
    assert s3.calls == [
        ("cat_file", "bucket/k", {"max_concurrency": 1}),
        ("cat_file", "bucket/gone", {"max_concurrency": 1}),
        ("cat", ["bucket/k", "bucket/gone"], {"on_error": "return", "max_concurrency": 1}),
    ]
    local = Store("file", {"/k": b"y"})
    assert read(StorePath(local, "/k")) == b"y"  # type: ignore[arg-type]
    assert local.calls == [("cat_file", "/k", {})]


def test_read_many_raises_what_is_not_a_missing_object() -> None:
    s3 = Store("s3", {"bucket/k": PermissionError("denied")})
    with pytest.raises(PermissionError):
        read_many([StorePath(s3, "bucket/k")])  # type: ignore[list-item]
