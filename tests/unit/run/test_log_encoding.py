"""Intake repair: any JSON Auth0 may send is staged; only text that cannot be encoded changes."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.run.log_encoding import encode_log, repair_text

pytestmark = pytest.mark.unit

# Any code point, lone surrogates included: what json.loads makes of "\ud800"-style escapes.
TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def has_lone_surrogate(value: object) -> bool:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass") != json.dumps(
        value, ensure_ascii=False
    ).encode("utf-8", "replace")


@given(log=st.dictionaries(TEXT, JSON_VALUES, max_size=5))
def test_every_log_encodes_and_only_one_with_lone_surrogates_is_repaired(log: dict[Any, Any]) -> None:
    line, repaired = encode_log(log)

    decoded = orjson.loads(line)
    assert repaired == has_lone_surrogate(log)
    if not repaired:
        assert decoded == log


@given(text=TEXT)
def test_repaired_text_is_valid_utf8_and_text_without_surrogates_is_unchanged(text: Any) -> None:
    fixed = repair_text(text)

    fixed.encode("utf-8")  # raises if a surrogate were left
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert fixed == text


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    assert repair_text("a\ud800b\udfffc") == "a\ufffdb\ufffdc"
    assert repair_text("\ud83d\ude00") == "\U0001f600"  # a pair written as two code points is one emoji
