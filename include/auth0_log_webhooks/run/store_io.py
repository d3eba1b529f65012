"""Small objects in staging read and written in one request each: no existence check, no folder made first.

A delivery task reads and writes a few small objects per batch (the ledger marker, its claim, the
circuit's files, the batch itself, the delivery log). Through ``ObjectStoragePath`` on S3 (s3fs),
``exists()`` of a missing object costs a HEAD and then a LIST (it might be a folder), ``read_bytes()``
a HEAD then a GET, and ``mkdir()`` a HEAD of the bucket, although S3 has no folders: about 14
requests a batch where 7 do. On a real store each request is a round trip (and a LIST is billed as
ten GETs); on moto's server a LIST walks every key of the bucket, so a run's cost grew with its
size. Here:

* :func:`read_or_none` asks once (a GET) and takes "not found" as the answer;
* :func:`read_many` reads many objects at once (s3fs sends the GETs concurrently), as the commit reads
  a run's ledger;
* :func:`write_bytes` writes at once and makes the parent folder only when the store says it is
  missing (a local folder; on S3 only a missing bucket), so the first write to a folder pays for it.

On S3 these go through obstore (:mod:`~auth0_log_webhooks.run.s3_fast`), about five times cheaper per
request than s3fs in the client's CPU; other schemes, and a connection obstore cannot honour, stay on
fsspec. After a write through obstore, s3fs's cached listings of the folder are dropped, so an
``exists()`` or ``iterdir()`` in this process sees the new object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow.sdk import ObjectStoragePath

from auth0_log_webhooks.run import s3_fast

if TYPE_CHECKING:
    from obstore.store import S3Store


def _one_request(path: ObjectStoragePath) -> dict[str, Any]:
    """The keywords that make ``cat_file`` one request: s3fs asks the size first unless told to read in one part."""
    protocols = path.fs.protocol
    return {"max_concurrency": 1} if "s3" in (protocols if isinstance(protocols, tuple) else (protocols,)) else {}


def read(path: ObjectStoragePath) -> bytes:
    """Return the object's bytes in one request.

    :raises FileNotFoundError: if there is no such object.
    """
    if (store := s3_fast.store_for(path)) is not None:
        return s3_fast.read(store, path.key)
    return cast(bytes, path.fs.cat_file(path.path, **_one_request(path)))


def read_or_none(path: ObjectStoragePath) -> bytes | None:
    """Return the object's bytes in one request, or None if there is no such object."""
    try:
        return read(path)
    except FileNotFoundError:
        return None


def read_many(paths: Sequence[ObjectStoragePath]) -> list[bytes | None]:
    """Return each object's bytes (None for one that does not exist), in the order given, one GET each.

    :raises OSError: (or the store library's error) if reading one failed otherwise.

    The paths must be on one store (the same filesystem): a run's ledger markers are.
    """
    if not paths:
        return []
    first = paths[0]
    if (store := s3_fast.store_for(first)) is not None:
        return s3_fast.read_many(store, [path.key for path in paths])
    found = first.fs.cat([path.path for path in paths], on_error="return", **_one_request(first))
    return [_missing_as_none(found[path.path]) for path in paths]


def _missing_as_none(answer: object) -> bytes | None:
    """An object's bytes; None where the store said there is no such object; other errors raised."""
    if isinstance(answer, FileNotFoundError):
        return None
    if isinstance(answer, BaseException):
        raise answer
    return cast(bytes, answer)


def names(folder: ObjectStoragePath) -> list[str]:
    """Return the names of the objects in ``folder`` from one listing (an empty list if there is none).

    Only the names: making a path object of each listed entry, as ``iterdir()`` does, costs about a
    millisecond of CPU each, seconds for a run's ledger of thousands of markers.
    """
    if (store := s3_fast.store_for(folder)) is not None:
        return s3_fast.names(store, folder.key)
    try:
        listed = folder.fs.ls(folder.path, detail=False)
    except (FileNotFoundError, NotADirectoryError):  # on S3 an empty folder does not exist
        return []
    return [str(entry).rstrip("/").rsplit("/", 1)[-1] for entry in listed]


def write_bytes(path: ObjectStoragePath, data: bytes) -> None:
    """Write the object, making its parent folder only if the store says it is missing."""
    if (store := s3_fast.store_for(path)) is not None:
        _write_fast(store, path, data)
        return
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _write_fast(store: S3Store, path: ObjectStoragePath, data: bytes) -> None:
    """Write through obstore (making a missing bucket through fsspec), then drop s3fs's listings of the folder."""
    try:
        s3_fast.write(store, path.key, data)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        s3_fast.write(store, path.key, data)
    path.fs.invalidate_cache(path.path)
