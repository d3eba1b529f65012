"""PII rules: masked, hashed (keyed, stable) or removed, at dotted paths with * and **."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.pipelines.pii import MASK, Method, PiiPathError, PiiRule, keyed_hash, parse_path, redactor

pytestmark = pytest.mark.unit

KEY = b"pii-test-key-0123456789"
EMAIL = "jane.doe@example.com"


def login_log() -> dict[str, Any]:
    return {
        "log_id": "900",
        "type": "s",
        "ip": "198.51.100.7",
        "user_name": EMAIL,
        "details": {
            "request": {"auth": {"user": {"email": EMAIL, "name": "Jane Doe"}}},
            "prompts": [{"user_name": EMAIL, "elapsedTime": 5}, {"user_name": EMAIL}],
        },
    }


def test_each_method_applies_to_its_field_and_leaves_the_rest() -> None:
    redact = redactor(
        [PiiRule("user_name", "hash"), PiiRule("details.request.auth.user.email", "mask"), PiiRule("ip", "remove")],
        KEY,
    )
    out = redact(login_log())
    assert out["user_name"] == hmac.new(KEY, b'"' + EMAIL.encode() + b'"', hashlib.sha256).hexdigest()
    assert out["details"]["request"]["auth"]["user"] == {"email": MASK, "name": "Jane Doe"}
    assert "ip" not in out
    assert out["details"]["prompts"][0] == {"user_name": EMAIL, "elapsedTime": 5}  # no rule names it


def test_star_and_double_star_reach_every_matching_field() -> None:
    out = redactor([PiiRule("details.prompts.*.user_name", "mask")], None)(login_log())
    assert [p["user_name"] for p in out["details"]["prompts"]] == [MASK, MASK]
    out = redactor([PiiRule("**.email", "remove"), PiiRule("**.user_name", "mask")], None)(login_log())
    assert EMAIL not in orjson.dumps(out).decode()
    assert out["user_name"] == MASK


def test_a_number_selects_a_list_element() -> None:
    out = redactor([PiiRule("details.prompts.1.user_name", "remove")], None)(login_log())
    assert out["details"]["prompts"] == [{"user_name": EMAIL, "elapsedTime": 5}, {}]


def test_removing_list_elements_keeps_the_others() -> None:
    log = {"log_id": "1", "ips": ["a", "b", "c"]}
    assert redactor([PiiRule("ips.*", "remove")], None)(log) == {"log_id": "1", "ips": []}


def test_a_missing_path_changes_nothing_and_the_input_is_not_modified() -> None:
    original = login_log()
    out = redactor([PiiRule("details.nothing.here", "mask"), PiiRule("user_name.deeper", "remove")], None)(original)
    assert out == login_log() == original


def test_the_hash_is_stable_and_depends_on_the_key() -> None:
    assert keyed_hash(EMAIL, KEY) == keyed_hash(EMAIL, KEY)
    assert keyed_hash(EMAIL, KEY) != keyed_hash(EMAIL, b"another key")
    assert keyed_hash(EMAIL, KEY) != hashlib.sha256(EMAIL.encode()).hexdigest()  # not a plain, guessable digest
    assert keyed_hash({"b": 1, "a": 2}, KEY) == keyed_hash({"a": 2, "b": 1}, KEY)


def test_hashing_without_a_key_is_refused() -> None:
    with pytest.raises(ValueError, match="no hash key"):
        redactor([PiiRule("ip", "hash")], None)


@pytest.mark.parametrize("path", ["", "a..b", "a.**", "a*b", "**", "a.b*"])
def test_a_malformed_path_is_refused_naming_it(path: str) -> None:
    with pytest.raises(PiiPathError, match=r"dotted path|ends in"):
        parse_path(path)


# -- properties --------------------------------------------------------------------------------

SECRET = "SENTINEL-PII-VALUE"
NAMES = st.sampled_from(["a", "b", "details", "user", "0"])
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.text(alphabet="xyz", max_size=5)
DOCS = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=3),
    max_leaves=15,
)


def plant(doc: Any, secret_places: list[bool]) -> Any:
    """Put {"email": SECRET} into every dict of ``doc`` whose turn in ``secret_places`` is True."""
    if isinstance(doc, dict):
        out = {k: plant(v, secret_places) for k, v in doc.items()}
        if secret_places and secret_places.pop():
            out["email"] = SECRET
        return out
    if isinstance(doc, list):
        return [plant(v, secret_places) for v in doc]
    return doc


@given(
    doc=st.dictionaries(NAMES, DOCS, max_size=4),
    places=st.lists(st.booleans(), max_size=20),
    method=st.sampled_from(["mask", "hash", "remove"]),
)
def test_no_raw_value_is_left_anywhere_a_double_star_rule_names(
    doc: dict[Any, Any], places: list[Any], method: Method
) -> None:
    log = plant(doc, places)
    out = redactor([PiiRule("**.email", method)], KEY)(log)
    assert SECRET not in json.dumps(out)


@given(doc=st.dictionaries(NAMES, DOCS, max_size=4), path=st.lists(NAMES | st.just("*"), min_size=1, max_size=4))
def test_masking_keeps_the_shape_and_touches_only_what_the_path_names(doc: dict[Any, Any], path: list[Any]) -> None:
    out = redactor([PiiRule(".".join(path), "mask")], None)(doc)
    assert set(out) == set(doc)  # no top-level key appears or disappears
    unchanged = redactor([PiiRule("never_there." + ".".join(path), "mask")], None)(doc)
    assert unchanged == doc


@given(value=JSON_LEAF | st.text(), other=JSON_LEAF | st.text())
def test_equal_values_hash_equal_and_different_values_hash_differently(value: Any, other: Any) -> None:
    assert (keyed_hash(value, KEY) == keyed_hash(other, KEY)) == (json.dumps(value) == json.dumps(other))


@given(path=st.text(max_size=20))
def test_any_path_text_is_parsed_or_refused_with_a_clear_error(path: str) -> None:
    valid = (
        path != ""
        and path.split(".")[-1] != "**"
        and all(part in ("*", "**") or (part and "*" not in part) for part in path.split("."))
    )
    if valid:
        assert ".".join(parse_path(path)) == path
    else:
        with pytest.raises(PiiPathError, match=re.escape(repr(path))):
            parse_path(path)
