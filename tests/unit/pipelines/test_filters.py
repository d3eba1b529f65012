"""Filtering as the original extension did: default exclusions, union of types and level."""

import logging

import pytest

from auth0_log_webhooks.pipelines.filters import TypeLevelFilter

pytestmark = pytest.mark.unit


def types_accepted(selector: TypeLevelFilter, codes: list[str]) -> list[str]:
    return [code for code in codes if selector.accepts({"type": code})]


CODES = ["s", "f", "sapi", "fapi", "seccft", "limit_wc", "pla", "brand_new_code"]


def test_default_selects_everything_but_management_api_operations() -> None:
    assert types_accepted(TypeLevelFilter(), CODES) == ["s", "f", "seccft", "limit_wc", "pla", "brand_new_code"]


def test_log_types_alone_select_only_those() -> None:
    assert types_accepted(TypeLevelFilter(log_types=["s", "f"]), CODES) == ["s", "f"]


def test_log_level_selects_that_level_and_above_including_unknown_codes() -> None:
    # s, seccft, pla are info (1); f, fapi are error (3); limit_wc is critical (4).
    assert types_accepted(TypeLevelFilter(log_level=3), CODES) == ["f", "fapi", "limit_wc", "brand_new_code"]


def test_types_and_level_combine_as_a_union() -> None:
    assert types_accepted(TypeLevelFilter(log_types=["s"], log_level=4), CODES) == ["s", "limit_wc", "brand_new_code"]


def test_a_log_without_a_type_is_not_dropped_by_the_default() -> None:
    assert TypeLevelFilter().accepts({"log_id": "x"})


def test_unknown_codes_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    selector = TypeLevelFilter()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            selector.accepts({"type": "brand_new_code"})
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "brand_new_code" in caplog.records[0].getMessage()


def test_log_streams_categories_select_their_codes() -> None:
    # s is auth.login.success, f auth.login.fail, seccft auth.token_exchange.success, limit_wc
    # system.notification, pla other; brand_new_code is unknown, so no category filter drops it.
    selector = TypeLevelFilter(categories=["auth.login.fail", "system.notification"])
    assert types_accepted(selector, CODES) == ["f", "limit_wc", "brand_new_code"]


def test_categories_add_to_types_and_level() -> None:
    selector = TypeLevelFilter(log_types=["s"], log_level=4, categories=["auth.token_exchange.success"])
    assert types_accepted(selector, CODES) == ["s", "seccft", "limit_wc", "brand_new_code"]


def test_management_categories_select_management_operations_as_a_level_would() -> None:
    selector = TypeLevelFilter(categories=["management.success", "management.fail"])
    assert types_accepted(selector, CODES) == ["sapi", "fapi", "brand_new_code"]
