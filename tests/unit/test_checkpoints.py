"""Log ids as cursors: validation, dates as cursors, clear errors."""

from datetime import UTC, datetime

import pytest

from auth0_log_webhooks.checkpoints import (
    InvalidCheckpointError,
    cursor_for_time,
    is_log_id,
    parse_start_from,
    time_of,
)

pytestmark = pytest.mark.unit

LOG_ID = "90020211201185132572079310688835925971249535794074878050"


def test_a_documented_log_id_is_accepted():
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
def test_an_iso_date_becomes_the_cursor_of_its_second(value, cursor):
    assert parse_start_from(value) == cursor
    assert is_log_id(cursor)


def test_a_cursor_sorts_before_every_log_of_its_second_and_after_earlier_ones():
    cursor = cursor_for_time(datetime(2021, 12, 1, 18, 51, 32, tzinfo=UTC))
    assert cursor < LOG_ID
    assert cursor_for_time(datetime(2021, 12, 1, 18, 51, 33, tzinfo=UTC)) > LOG_ID


@pytest.mark.parametrize("value", ["yesterday", "12345", LOG_ID + "0", "800" + LOG_ID[3:]])
def test_a_bad_start_from_names_the_setting_and_the_value(value):
    with pytest.raises(InvalidCheckpointError, match=f"start_from {value!r}"):
        parse_start_from(value)
