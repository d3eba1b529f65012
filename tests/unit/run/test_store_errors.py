"""Store errors: which exceptions mean "the store is unreachable", and the message that names what to fix."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.run.store_errors import FolderInUseError, StoreUnavailableError, is_store_error, reaching

pytestmark = pytest.mark.unit

PATH = ObjectStoragePath("s3://aws_staging@bucket/staging")


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1/bucket"),
        NoCredentialsError(),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        PermissionError(13, "Access Denied"),
        OSError(5, "Internal Error"),
    ],
)
def test_unreachable_or_refusing_stores_are_store_errors(error: Any) -> None:
    assert is_store_error(error)


@pytest.mark.parametrize(
    "error",
    [FileNotFoundError("plan.json"), IsADirectoryError(), ValueError("bad json"), KeyError("x"), TypeError()],
)
def test_missing_files_and_our_own_bugs_are_not_store_errors(error: Any) -> None:
    assert not is_store_error(error)


def test_a_store_error_names_the_store_connection_setting_and_next_step_and_keeps_its_cause() -> None:
    cause = EndpointConnectionError(endpoint_url="http://127.0.0.1:1/bucket/staging")
    with pytest.raises(StoreUnavailableError) as caught, reaching(PATH, "staging_url"):
        raise cause
    message = str(caught.value)
    assert message.startswith("The staging_url store s3://aws_staging@bucket/staging could not be used from worker ")
    assert "EndpointConnectionError: Could not connect to the endpoint URL" in message
    assert "Check the setting staging_url, the connection aws_staging" in message
    assert "clear the task to retry" in message
    assert caught.value.__cause__ is cause


def test_the_worker_is_named_as_airflow_reports_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CORE__HOSTNAME_CALLABLE", "tests.unit.run.test_store_errors.fixed_hostname")
    with pytest.raises(StoreUnavailableError, match="could not be used from worker worker-z: "), reaching(PATH, "x"):
        raise ConnectionRefusedError(111, "refused")


def fixed_hostname() -> str:
    return "worker-z"


def test_a_path_without_a_connection_says_credentials_come_from_the_environment() -> None:
    expected = r"the connection none \(credentials from the worker's environment\)"
    path = ObjectStoragePath("s3://bucket/dead")
    with pytest.raises(StoreUnavailableError, match=expected), reaching(path, "dead_letter_url"):
        raise ConnectionResetError(104, "reset")


def test_a_missing_file_passes_through_unchanged() -> None:
    with pytest.raises(FileNotFoundError, match=r"plan\.json"), reaching(PATH, "staging_url"):
        raise FileNotFoundError("plan.json")


@given(st.text(max_size=2000))
def test_the_message_is_bounded_whatever_the_library_says(detail: str) -> None:
    with pytest.raises(StoreUnavailableError) as caught, reaching(PATH, "staging_url"):
        raise OSError(detail)
    assert len(str(caught.value)) < 900


def test_a_folder_another_process_writes_into_is_not_called_an_unusable_store() -> None:
    busy = OSError(errno.ENOTEMPTY, "Directory not empty")
    assert not is_store_error(busy)
    with pytest.raises(FolderInUseError) as raised, reaching(PATH, "staging_url"):
        raise busy
    message = str(raised.value)
    assert message.startswith(f"Another process wrote into {PATH} while this task removed it")
    assert "an earlier try of this task that Airflow reset as orphaned and that is still ending" in message
    assert "Check the setting" not in message
    assert raised.value.__cause__ is busy
