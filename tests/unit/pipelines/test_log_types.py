"""The level table: every catalog code has a level, the original's levels are kept, the rule is applied."""

import csv

import pytest

from auth0_log_webhooks.pipelines.log_types import UNKNOWN_LEVEL, catalog, derive_level, level_of, parse_level
from tests.shared_data import SHARED, require

pytestmark = pytest.mark.unit

REFERENCE = SHARED / "reference" / "auth0-log-types.tsv"


def reference_rows() -> list[dict[str, str]]:
    with require(REFERENCE, "the reference log type catalog").open() as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_every_reference_code_has_a_level() -> None:
    rows = reference_rows()
    assert len(rows) == 185
    assert {row["code"] for row in rows} == set(catalog())


def test_original_levels_are_kept_and_others_follow_the_rule() -> None:
    for row in reference_rows():
        entry = catalog()[row["code"]]
        if row["level"]:
            assert (entry.level, entry.level_source) == (int(row["level"]), "original"), row["code"]
        else:
            category = row["catalog_category"] or row["stream_category"]
            expected = derive_level(row["code"], row["event"], category)
            assert (entry.level, entry.level_source) == (expected, "rule"), row["code"]


@pytest.mark.parametrize(
    ("code", "event", "category", "level"),
    [
        ("pla", "Pre-login assessment", "other", 1),
        ("fi", "Failed invite accept", "other", 3),
        ("fdecc", "User Canceled Device Confirmation", "user-fail", 3),
        ("signup_pwd_leak", "Breached Password on Signup", "other", 2),
        ("limit_phone", "A user is temporarily prevented from sending SMS", "system-notification", 2),
        ("si", "Successfully accepted a user invite", "other", 1),
    ],
    ids=["info", "failed-name", "fail-category", "warning-name", "limit-code", "success"],
)
def test_derive_level_when_the_original_had_no_level(code: str, event: str, category: str, level: int) -> None:
    assert derive_level(code, event, category) == level


def test_level_of_unknown_code_is_the_highest_so_no_level_filter_drops_it() -> None:
    assert level_of("a_code_auth0_adds_next_year") == UNKNOWN_LEVEL == 4


@pytest.mark.parametrize(("value", "level"), [(0, 0), ("4", 4), ("Warning", 2), (" error ", 3)])
def test_parse_level_accepts_numbers_and_names(value: int | str, level: int) -> None:
    assert parse_level(value) == level


@pytest.mark.parametrize("value", [5, -1, "loud"])
def test_parse_level_names_what_is_wrong(value: int | str) -> None:
    with pytest.raises(ValueError, match="level"):
        parse_level(value)


def test_level_table_is_tab_separated_with_its_header() -> None:
    from importlib import resources  # appended here, leaving the module's imports as they were

    text = resources.files("auth0_log_webhooks").joinpath("data/log_types.tsv").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert rows[0] == ["code", "event", "level", "level_source"]
    assert len(rows) == 1 + 185
    for row in rows[1:]:
        assert len(row) == 4, row
        assert row[2] in {"0", "1", "2", "3", "4"}, row
        assert row[3] in {"original", "rule"}, row
