"""Staging's small S3 objects through obstore, a client about five times cheaper per request than s3fs.

The fetch task is a run's critical path, and in a profile of it the s3fs event loop held 42% of its
samples: each small GET or PUT through s3fs (aiobotocore) costs about 1.6 ms of the client's CPU,
through obstore (Rust, outside the GIL) about 0.3 ms, measured against the stack's moto server.
:mod:`~auth0_log_webhooks.run.store_io` serves the ``s3://`` paths it reads and writes through a
store from :func:`store_for`; every other scheme, and every other operation (listings of
``iterdir()``, removals), stays on fsspec.

The store is built from the same Airflow connection the path names (``s3://<conn_id>@bucket/...``),
as Airflow's Amazon provider builds s3fs: the region, the endpoint, and the credentials of the
provider's session, asked again when they expire (an assumed role keeps working). What obstore
cannot honour (the provider's custom signer, a proxy, a CA bundle, anonymous access, a botocore
setting it has no equivalent for) keeps the bucket on s3fs, said once in the log. One store per
connection and bucket per process. obstore's runtime does not survive a fork (a child of a process
that used it hangs on its first request), so a forked child of such a process is left to s3fs, which
refuses to be used after a fork too but says so. Airflow's task processes are forked by supervisors
that never touch staging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import obstore
from obstore.exceptions import GenericError, NotFoundError
from obstore.store import S3Store

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath
    from botocore.credentials import Credentials
    from obstore.store import ClientConfig, RetryConfig, S3Config, S3Credential

log = logging.getLogger(__name__)

S3_SCHEMES = ("s3", "s3a", "s3n")
# GETs in flight at once in read_many (s3fs's cat sent up to 128 concurrently).
CONCURRENT_GETS = 32
# The botocore settings (the connection's config_kwargs) that have an equivalent here; any other keeps s3fs.
_HONOURED = {"retries", "connect_timeout", "read_timeout", "s3", "region_name"}
# botocore signs for us-east-1 when neither the connection nor the environment names a region.
_DEFAULT_REGION = "us-east-1"
# obstore raises Python's FileNotFoundError for a 404 (its stubs name NotFoundError): either means "no such object".
_NOT_FOUND = (FileNotFoundError, NotFoundError)

_stores: dict[tuple[int, str | None, str], S3Store | None] = {}
_building = threading.Lock()
_runtime_pid: int | None = None  # the process whose obstore runtime was started


def store_for(path: ObjectStoragePath) -> S3Store | None:
    """Return the obstore store serving ``path``'s bucket, or None when the path stays on fsspec.

    :param path: any staging path; only ``s3://`` ones are served here.
    :return: the cached store of the path's connection and bucket (built on first use), or None for
        another scheme or a connection that obstore cannot honour.
    """
    if getattr(path, "protocol", None) not in S3_SCHEMES:
        return None
    key = (os.getpid(), path.conn_id, path.bucket)
    with _building:
        if key not in _stores:
            _stores[key] = _build(path.conn_id, path.bucket)
        return _stores[key]


def _build(conn_id: str | None, bucket: str) -> S3Store | None:
    """Build the store of ``bucket`` from the connection, or None (logged once) if it must stay on s3fs."""
    global _runtime_pid
    if _runtime_pid not in (None, os.getpid()):
        log.info("S3 bucket %s stays on s3fs in this process: it was forked from one that used obstore", bucket)
        return None
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    hook = S3Hook(aws_conn_id=conn_id)
    config = hook.conn_config
    reason = unsupported(hook.service_config, config.extra_config.get("config_kwargs") or {}, config.verify)
    credentials = None if reason else hook.get_session().get_credentials()
    if reason is None and credentials is None:
        reason = "it has no credentials (anonymous access)"
    if reason or credentials is None:
        log.info("S3 bucket %s of connection %s stays on s3fs: %s", bucket, conn_id, reason)
        return None
    endpoint = config.get_service_endpoint_url(service_name="s3")
    region = config.region_name or hook.get_session().region_name or _DEFAULT_REGION
    kwargs = config.extra_config.get("config_kwargs") or {}
    _runtime_pid = os.getpid()
    return S3Store(
        bucket,
        config=store_config(region, endpoint, kwargs),
        client_options=client_options(endpoint, kwargs, config.verify),
        retry_config=retry_config(kwargs),
        credential_provider=SessionCredentials(credentials),
    )


def unsupported(service_config: Mapping[str, Any], config_kwargs: Mapping[str, Any], verify: object) -> str | None:
    """Return why obstore cannot honour the connection (in words for the log), or None if it can.

    :param service_config: the connection's ``service_config`` for S3 (signer, proxy).
    :param config_kwargs: the connection's botocore settings (``config_kwargs``).
    :param verify: the connection's ``verify``: a CA bundle's path is not honoured.
    """
    if service_config.get("signer"):
        return f"it signs requests with the provider's signer {service_config['signer']}"
    if service_config.get("proxy-uri") or config_kwargs.get("proxies"):
        return "it goes through a proxy"
    if isinstance(verify, str):
        return "it verifies TLS with a CA bundle"
    others = sorted(set(config_kwargs) - _HONOURED)
    s3_others = sorted(set(config_kwargs.get("s3") or {}) - {"addressing_style"})
    if others or s3_others:
        return f"its botocore settings {', '.join(others + [f's3.{k}' for k in s3_others])} have no equivalent"
    return None


def store_config(region: str, endpoint: str | None, config_kwargs: Mapping[str, Any]) -> S3Config:
    """Return the store's settings: region, endpoint and addressing style as botocore would use them."""
    config: S3Config = {"region": config_kwargs.get("region_name") or region}
    if endpoint:
        config["endpoint"] = endpoint
    if (config_kwargs.get("s3") or {}).get("addressing_style") == "virtual":
        config["virtual_hosted_style_request"] = True
    return config


def client_options(endpoint: str | None, config_kwargs: Mapping[str, Any], verify: object) -> ClientConfig:
    """Return the HTTP client's settings: plain HTTP for an ``http://`` endpoint, botocore's timeouts."""
    options: ClientConfig = {}
    if endpoint and endpoint.startswith("http://"):
        options["allow_http"] = True
    if verify is False:
        options["allow_invalid_certificates"] = True
    if "connect_timeout" in config_kwargs:
        options["connect_timeout"] = timedelta(seconds=float(config_kwargs["connect_timeout"]))
    if "read_timeout" in config_kwargs:
        options["timeout"] = timedelta(seconds=float(config_kwargs["read_timeout"]))
    return options


def retry_config(config_kwargs: Mapping[str, Any]) -> RetryConfig:
    """Return the retries: botocore's ``max_attempts`` counts the first try, obstore's ``max_retries`` does not."""
    retries = config_kwargs.get("retries") or {}
    attempts = retries.get("total_max_attempts") or retries.get("max_attempts")
    return {"max_retries": max(int(attempts) - 1, 0)} if attempts else {}


class SessionCredentials:
    """obstore's credential provider over a boto3 session's credentials, asked again when they expire.

    botocore refreshes an assumed role's credentials before they expire; obstore caches what this
    returns until ``expires_at`` (never, for static keys).
    """

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def __call__(self) -> S3Credential:
        """Return the current credentials and when they expire."""
        frozen = self.credentials.get_frozen_credentials()
        expiry = getattr(self.credentials, "_expiry_time", None)  # RefreshableCredentials only
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": expiry if isinstance(expiry, datetime) else None,
        }


def read(store: S3Store, key: str) -> bytes:
    """Return the object's bytes: one GET.

    :raises FileNotFoundError: if there is no such object.
    """
    try:
        return bytes(obstore.get(store, key).bytes())
    except _NOT_FOUND as exc:
        raise FileNotFoundError(f"{key}: no such object") from exc


def read_many(store: S3Store, keys: Sequence[str]) -> list[bytes | None]:
    """Return each object's bytes (None where there is none) in the order given: GETs sent concurrently."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no event loop in this thread
        return asyncio.run(_read_all(store, keys))
    with ThreadPoolExecutor(1) as thread:  # asyncio.run cannot nest in a running loop
        return thread.submit(asyncio.run, _read_all(store, keys)).result()


async def _read_all(store: S3Store, keys: Sequence[str]) -> list[bytes | None]:
    limit = asyncio.Semaphore(CONCURRENT_GETS)

    async def one(key: str) -> bytes | None:
        async with limit:
            try:
                return bytes(await (await obstore.get_async(store, key)).bytes_async())
            except _NOT_FOUND:
                return None

    return list(await asyncio.gather(*(one(key) for key in keys)))


def names(store: S3Store, prefix: str) -> list[str]:
    """Return the names of the objects and folders under ``prefix``: one listing with a delimiter."""
    try:
        listed = obstore.list_with_delimiter(store, prefix.strip("/") or None)
    except GenericError as exc:  # a listing's 404 is not mapped to "not found" by obstore
        if "NoSuchBucket" in str(exc):
            return []
        raise
    found = [*listed["common_prefixes"], *(meta["path"] for meta in listed["objects"])]
    return [name for entry in found if (name := entry.rstrip("/").rsplit("/", 1)[-1])]


def write(store: S3Store, key: str, data: bytes) -> None:
    """Write the object: one PUT.

    :raises FileNotFoundError: if the bucket does not exist.
    """
    try:
        obstore.put(store, key, data)
    except _NOT_FOUND as exc:
        raise FileNotFoundError(f"{key}: no such bucket") from exc
