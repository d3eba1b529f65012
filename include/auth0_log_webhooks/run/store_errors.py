"""Errors of the object stores that hold staging and dead letters, turned into one that says what to fix.

With workers on several machines, staging and dead letters live in object storage (``s3://``,
``gs://``, ...) that a worker may fail to reach: a wrong endpoint, credentials or network. The
filesystem libraries behind ``ObjectStoragePath`` then raise their own errors (botocore's
``EndpointConnectionError``, aiohttp's, a bare ``OSError``), which name neither the setting nor the
connection. :func:`reaching` turns them into :class:`StoreUnavailableError`, which names the store,
its connection, the setting that points at it and this worker's host name.

"Not found" is not an error of the store, and is left alone: callers rely on it. "Directory not
empty" is not one either: another process wrote into a folder while a task removed it (an earlier
try of the task, still ending after Airflow reset it as orphaned); :func:`reaching` turns it into
:class:`FolderInUseError`, which says so.
"""

from __future__ import annotations

import errno
import functools
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from airflow.sdk import ObjectStoragePath

P = ParamSpec("P")
R = TypeVar("R")

# The libraries behind fsspec's object stores, and obstore (staging's S3 objects, run/s3_fast.py): their
# exceptions all mean "the store did not answer as it should".
STORE_LIBRARIES = (
    "botocore",
    "aiobotocore",
    "s3fs",
    "obstore",
    "aiohttp",
    "google",
    "gcsfs",
    "azure",
    "adlfs",
    "urllib3",
)
NOT_STORE_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError)


class StoreUnavailableError(RuntimeError):
    """An object store (staging or dead letters) could not be reached or refused the request."""


class FolderInUseError(RuntimeError):
    """Another process wrote into a folder while this task removed it: the store itself is fine."""


def _in_use(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.ENOTEMPTY


def folder_in_use(path: object, detail: str) -> str:
    """Return the sentence that starts every "Directory not empty" error: who wrote into the folder a task removed.

    Its callers add their own next step: :class:`FolderInUseError` (any removal) and the staging's reset,
    which waits a while first (:class:`~auth0_log_webhooks.run.staging.EarlierTryStillEndingError`).
    """
    return (
        f"Another process wrote into {path} while this task removed it ({detail}): most likely an earlier try of "
        "this task that Airflow reset as orphaned and that is still ending."
    )


class HasStorePath(Protocol):
    """An object kept in a store: where it is."""

    @property
    def store_path(self) -> ObjectStoragePath:
        """The folder this object reads and writes."""
        ...


def is_store_error(exc: BaseException) -> bool:
    """Return whether ``exc`` means the store is unreachable or refused (not that a file is missing)."""
    if isinstance(exc, (*NOT_STORE_ERRORS, StoreUnavailableError, FolderInUseError)) or _in_use(exc):
        return False
    if isinstance(exc, OSError):  # includes ConnectionError, TimeoutError, PermissionError
        return True
    return any(klass.__module__.split(".")[0] in STORE_LIBRARIES for klass in type(exc).__mro__)


def worker_name() -> str:
    """Return this worker's host name as Airflow reports it (``[core] hostname_callable``), as the UI shows it."""
    try:
        from airflow.sdk.api.client import get_hostname

        return str(get_hostname())  # type: ignore[no-untyped-call]  # the Task SDK leaves it untyped
    except Exception:  # a misconfigured callable must not hide the store's error
        return socket.gethostname()


def _cause(exc: BaseException) -> str:
    """Return what ``exc`` says, without obstore's "Debug source" dump but with the system's reason from it."""
    text = str(exc).strip() or "no detail"
    head, _, debug = text.partition("\n\nDebug source:")
    reasons = re.findall(r'message: "([^"]+)"', debug)
    return f"{head} ({reasons[-1]})" if reasons else head


def describe(path: ObjectStoragePath, setting: str, exc: BaseException) -> str:
    """Return the message of a :class:`StoreUnavailableError` about ``path``: what failed and what to check."""
    connection = path.conn_id or "none (credentials from the worker's environment)"
    cause = _cause(exc)
    return (
        f"The {setting} store {path} could not be used from worker {worker_name()}: "
        f"{type(exc).__name__}: {cause[:300]}. Check the setting {setting}, the connection {connection} "
        "(endpoint, credentials) and that this worker can reach the store; then clear the task to retry. "
        "Nothing was lost: what was not written stays in Auth0 after the checkpoint."
    )


@contextmanager
def reaching(path: ObjectStoragePath, setting: str) -> Iterator[None]:
    """Turn a store's errors inside the block into :class:`StoreUnavailableError` (cause chained)."""
    try:
        yield
    except Exception as exc:
        if _in_use(exc):
            raise FolderInUseError(
                f"{folder_in_use(path, str(exc))} The store is fine and nothing was lost; Airflow retries the task (if "
                "this was its last try, clear it once the earlier try ended)."
            ) from exc
        if not is_store_error(exc):
            raise
        raise StoreUnavailableError(describe(path, setting, exc)) from exc


S = TypeVar("S", bound=HasStorePath)


def guarded(setting: str) -> Callable[[Callable[Concatenate[S, P], R]], Callable[Concatenate[S, P], R]]:
    """Decorate a method of a store object so that its store errors name ``setting`` (see :func:`reaching`)."""

    def decorate(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
        @functools.wraps(method)
        def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            with reaching(self.store_path, setting):
                return method(self, *args, **kwargs)

        return wrapper

    return decorate
