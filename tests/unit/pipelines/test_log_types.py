"""The level table: every catalog code has a level, the original's levels are kept, the rule is applied."""

import csv
import json
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.log_types import (
    CATEGORIES,
    UNKNOWN_LEVEL,
    catalog,
    category_of,
    derive_level,
    level_of,
    parse_categories,
    parse_level,
)
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
    assert rows[0] == ["code", "event", "level", "level_source", "category", "category_source"]
    assert len(rows) == 1 + 185
    for row in rows[1:]:
        assert len(row) == 6, row
        assert row[2] in {"0", "1", "2", "3", "4"}, row
        assert row[3] in {"original", "rule"}, row
        assert row[4] in CATEGORIES, row
        assert row[5] in {"stream", "catalog", "rule"}, row


def test_categories_follow_log_streams_then_the_catalog() -> None:
    """A code has the Log Stream filter's category where Auth0 lists one, else its catalog folder's."""
    for row in reference_rows():
        entry = catalog()[row["code"]]
        if row["stream_category"]:
            assert (entry.category, entry.category_source) == (row["stream_category"], "stream"), row["code"]
        elif row["catalog_category"]:
            folder = entry.category.replace(".", "-").replace("_", "-")
            assert (folder, entry.category_source) == (row["catalog_category"], "catalog"), row["code"]
        else:
            expected = "management.fail" if row["code"] == "fapi" else "other"
            assert (entry.category, entry.category_source) == (expected, "rule"), row["code"]


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("f", "auth.login.fail"),
        ("s", "auth.login.success"),
        ("sapi", "management.success"),
        ("fapi", "management.fail"),
    ],
)
def test_category_of_known_codes(code: str, category: str) -> None:
    assert category_of(code) == category


def test_category_of_an_unknown_code_is_none() -> None:
    assert category_of("a_code_auth0_adds_next_year") is None


LOG_STREAM_FILTERS = '[{"type": "category", "name": "auth.login.fail"}, {"type": "category", "name": "user.fail"}]'


@pytest.mark.parametrize(
    "value",
    [
        LOG_STREAM_FILTERS,
        json.loads(LOG_STREAM_FILTERS),
        "auth.login.fail, user.fail",
        ["auth.login.fail", "user.fail", "auth.login.fail"],
        [{"type": "category", "name": "auth.login.fail"}, "user.fail"],
    ],
    ids=["filters-json-text", "filters-json", "comma-separated", "names", "mixed"],
)
def test_parse_categories_accepts_a_log_streams_filter_as_is(value: Any) -> None:
    assert parse_categories(value) == ("auth.login.fail", "user.fail")


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("auth.login.failure", "'auth.login.failure'"),
        ([{"type": "type", "name": "auth.login.fail"}], "'type': 'type'"),
        ('[{"type": "category", "name": ', "not valid JSON"),
        (42, "list of category names"),
    ],
    ids=["misspelt", "not-a-category-filter", "broken-json", "not-a-list"],
)
def test_parse_categories_names_what_is_wrong_and_what_is_accepted(value: str | list[Any] | int, named: str) -> None:
    with pytest.raises(ValueError, match=r"categor|JSON") as caught:
        parse_categories(value)
    assert named in str(caught.value)
