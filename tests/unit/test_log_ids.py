"""Log ids: the format, the time inside an id, dates turned into cursors, a log's id and time."""

from datetime import UTC, datetime
from typing import Any

import pytest

from auth0_log_webhooks.log_ids import (
    InvalidCheckpointError,
    cursor_for_time,
    is_log_id,
    log_id_of,
    log_time,
    parse_start_from,
    time_of,
)

pytestmark = pytest.mark.unit

LOG_ID = "90020211201185132572079310688835925971249535794074878050"


def test_a_documented_log_id_is_accepted() -> None:
    assert is_log_id(LOG_ID)
    assert parse_start_from(LOG_ID) == LOG_ID
    assert time_of(LOG_ID) == datetime(2021, 12, 1, 18, 51, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "cursor"),
    [
        ("2026-11-01", "90020261101000000" + "0" * 39),
        ("2026-11-01T12:30:05Z", "90020261101123005" + "0" * 39),
        ("2026-11-01T13:30:05+01:00", "90020261101123005" + "0" * 39),
    ],
    ids=["date", "utc", "offset"],
)
def test_an_iso_date_becomes_the_cursor_of_its_second(value: str, cursor: Any) -> None:
    assert parse_start_from(value) == cursor
    assert is_log_id(cursor)


def test_a_cursor_sorts_before_every_log_of_its_second_and_after_earlier_ones() -> None:
    cursor = cursor_for_time(datetime(2021, 12, 1, 18, 51, 32, tzinfo=UTC))
    assert cursor < LOG_ID
    assert cursor_for_time(datetime(2021, 12, 1, 18, 51, 33, tzinfo=UTC)) > LOG_ID


@pytest.mark.parametrize("value", ["yesterday", "12345", LOG_ID + "0", "800" + LOG_ID[3:]])
def test_a_bad_start_from_names_the_setting_and_the_value(value: Any) -> None:
    with pytest.raises(InvalidCheckpointError, match=f"start_from {value!r}"):
        parse_start_from(value)


# -- a log's id and time -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"log_id": LOG_ID, "_id": "other"}, LOG_ID),
        ({"_id": LOG_ID}, LOG_ID),
        ({"log_id": None, "_id": LOG_ID}, LOG_ID),
        ({"log_id": "", "_id": LOG_ID}, LOG_ID),
    ],
    ids=["log_id", "underscore-id", "null-log_id", "empty-log_id"],
)
def test_a_logs_id_is_its_log_id_else_its_underscore_id(item: dict[str, Any], expected: Any) -> None:
    assert log_id_of(item) == expected


@pytest.mark.parametrize("item", [{}, {"log_id": None}, {"log_id": 5, "_id": None}], ids=["none", "null", "number"])
def test_a_log_without_an_id_is_an_error_quoting_it(item: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="log has no log_id"):
        log_id_of(item)


def test_a_logs_time_is_its_date_in_utc_else_the_time_in_its_id() -> None:
    assert log_time({"date": "2026-11-26T06:00:00+01:00", "log_id": LOG_ID}) == datetime(2026, 11, 26, 5, tzinfo=UTC)
    assert log_time({"date": "not a date", "log_id": LOG_ID}) == time_of(LOG_ID)
