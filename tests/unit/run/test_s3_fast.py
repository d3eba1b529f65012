"""Staging's S3 objects through obstore, built from the path's Airflow connection, against moto in this process."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from airflow.sdk import ObjectStoragePath
from botocore.credentials import Credentials, RefreshableCredentials
from moto.server import ThreadedMotoServer

from auth0_log_webhooks.run import s3_fast, store_io
from auth0_log_webhooks.run.store_errors import StoreUnavailableError, reaching
from dev.airflow_env import free_port

pytestmark = pytest.mark.unit

BUCKET = "fast-bucket"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's S3 server in a thread of this process (obstore calls release the GIL), one per module, with a bucket."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s"
        )
        client.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def no_cached_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test builds its stores anew (the cache is per process)."""
    monkeypatch.setattr(s3_fast, "_stores", {})


def connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, url: str, **extra: Any) -> str:
    """Define an ``aws`` connection reaching moto through ``AIRFLOW_CONN_<ID>``; return its id."""
    extra = {"endpoint_url": url, "region_name": "us-east-1", **extra}
    conn = {"conn_type": "aws", "login": "key", "password": "secret", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def test_store_io_reads_and_writes_s3_through_obstore_built_from_the_connection(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = connection(monkeypatch, "aws_fast", moto_url, region_name="eu-west-1")
    root = ObjectStoragePath(f"s3://{conn_id}@{BUCKET}/run")
    store = s3_fast.store_for(root)
    assert store is not None
    assert store.config["region"] == "eu-west-1"
    assert store.config["endpoint"] == moto_url
    assert s3_fast.store_for(root / "other") is store  # one store per connection and bucket

    store_io.write_bytes(root / "done" / "0.json", b"0")
    store_io.write_bytes(root / "plan.json", b"{}")
    assert store_io.read(root / "plan.json") == b"{}"
    assert store_io.read_or_none(root / "missing.json") is None
    with pytest.raises(FileNotFoundError):
        store_io.read(root / "missing.json")
    assert store_io.read_many([root / "plan.json", root / "missing.json", root / "done" / "0.json"]) == [
        b"{}",
        None,
        b"0",
    ]
    assert sorted(store_io.names(root)) == ["done", "plan.json"]
    assert store_io.names(root / "nothing-here") == []


def test_a_write_through_obstore_drops_s3fs_cached_listing_of_the_folder(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = connection(monkeypatch, "aws_listing", moto_url)
    folder = ObjectStoragePath(f"s3://{conn_id}@{BUCKET}/listed")
    store_io.write_bytes(folder / "a.json", b"a")
    assert [p.name for p in folder.iterdir()] == ["a.json"]  # s3fs caches this listing
    store_io.write_bytes(folder / "b.json", b"b")
    assert sorted(p.name for p in folder.iterdir()) == ["a.json", "b.json"]
    assert (folder / "b.json").exists()


def test_a_write_to_a_missing_bucket_makes_it_first(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    conn_id = connection(monkeypatch, "aws_newbucket", moto_url)
    path = ObjectStoragePath(f"s3://{conn_id}@made-on-first-write/run/plan.json")
    assert store_io.names(path.parent) == []
    store_io.write_bytes(path, b"{}")
    assert store_io.read(path) == b"{}"


def test_a_connection_obstore_cannot_honour_stays_on_s3fs_said_once(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conn_id = connection(
        monkeypatch, "aws_proxied", moto_url, service_config={"s3": {"proxy-uri": "http://proxy:3128"}}
    )
    path = ObjectStoragePath(f"s3://{conn_id}@{BUCKET}/run/plan.json")
    with caplog.at_level(logging.INFO, logger=s3_fast.__name__):
        assert s3_fast.store_for(path) is None
        assert s3_fast.store_for(path.parent) is None
    said = [r.getMessage() for r in caplog.records if r.name == s3_fast.__name__]
    assert said == [f"S3 bucket {BUCKET} of connection {conn_id} stays on s3fs: it goes through a proxy"]


def test_other_schemes_and_forked_children_stay_on_fsspec(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    assert s3_fast.store_for(ObjectStoragePath(f"file://{tmp_path}/a.json")) is None
    conn_id = connection(monkeypatch, "aws_forked", moto_url)
    monkeypatch.setattr(s3_fast, "_runtime_pid", -1)  # another process started obstore's runtime
    assert s3_fast.store_for(ObjectStoragePath(f"s3://{conn_id}@{BUCKET}/a.json")) is None


@pytest.mark.parametrize(
    ("service_config", "config_kwargs", "verify", "reason"),
    [
        ({}, {}, None, None),
        ({}, {"retries": {"max_attempts": 1}, "connect_timeout": 2, "s3": {"addressing_style": "path"}}, False, None),
        ({"signer": "S3V4RestSigner"}, {}, None, "it signs requests with the provider's signer S3V4RestSigner"),
        ({"proxy-uri": "http://p"}, {}, None, "it goes through a proxy"),
        ({}, {"proxies": {"https": "http://p"}}, None, "it goes through a proxy"),
        ({}, {}, "/etc/ca.pem", "it verifies TLS with a CA bundle"),
        (
            {},
            {"signature_version": "s3", "s3": {"use_accelerate_endpoint": True}},
            None,
            "its botocore settings signature_version, s3.use_accelerate_endpoint have no equivalent",
        ),
    ],
    ids=["plain", "honoured-settings", "signer", "proxy-uri", "proxies", "ca-bundle", "other-settings"],
)
def test_unsupported_names_what_obstore_cannot_honour(
    service_config: dict[str, Any], config_kwargs: dict[str, Any], verify: object, reason: str | None
) -> None:
    assert s3_fast.unsupported(service_config, config_kwargs, verify) == reason


def test_botocore_settings_become_obstore_settings() -> None:
    kwargs = {
        "retries": {"max_attempts": 1},
        "connect_timeout": 2,
        "read_timeout": 30,
        "s3": {"addressing_style": "virtual"},
    }
    assert s3_fast.store_config("eu-west-1", "http://127.0.0.1:9000", kwargs) == {
        "region": "eu-west-1",
        "endpoint": "http://127.0.0.1:9000",
        "virtual_hosted_style_request": True,
    }
    assert s3_fast.store_config("eu-west-1", None, {}) == {"region": "eu-west-1"}
    assert s3_fast.client_options("http://127.0.0.1:9000", kwargs, False) == {
        "allow_http": True,
        "allow_invalid_certificates": True,
        "connect_timeout": timedelta(seconds=2),
        "timeout": timedelta(seconds=30),
    }
    assert s3_fast.client_options(None, {}, None) == {}
    assert s3_fast.retry_config(kwargs) == {"max_retries": 0}
    assert s3_fast.retry_config({}) == {}


def test_credentials_carry_their_expiry_so_obstore_asks_again_for_an_assumed_role() -> None:
    assert s3_fast.SessionCredentials(Credentials("AKIA", "secret"))() == {
        "access_key_id": "AKIA",
        "secret_access_key": "secret",
        "token": None,
        "expires_at": None,
    }
    expiry = datetime.now(UTC) + timedelta(hours=1)
    metadata = {"access_key": "ASIA", "secret_key": "s2", "token": "t", "expiry_time": expiry.isoformat()}
    refreshable = RefreshableCredentials.create_from_metadata(metadata, lambda: metadata, "assume-role")
    assert s3_fast.SessionCredentials(refreshable)() == {
        "access_key_id": "ASIA",
        "secret_access_key": "s2",
        "token": "t",
        "expires_at": expiry,
    }


def test_an_unreachable_endpoint_fails_at_once_as_a_store_error(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    conn_id = connection(monkeypatch, "aws_nowhere", nowhere, config_kwargs={"retries": {"max_attempts": 1}})
    path = ObjectStoragePath(f"s3://{conn_id}@{BUCKET}/run/plan.json")
    started = time.monotonic()
    refused = r"staging_url.*\(Connection refused\)"
    with pytest.raises(StoreUnavailableError, match=refused) as caught, reaching(path, "staging_url"):
        store_io.read_or_none(path)
    assert "Debug source" not in str(caught.value)  # obstore's dump of its error is left out
    assert time.monotonic() - started < 5  # botocore's max_attempts, not obstore's 10 retries over 3 minutes
