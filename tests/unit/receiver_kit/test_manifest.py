"""The manifest format: what the sender builds parses back; anything else is a ManifestError naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.receiver_kit.manifest import ManifestError, MessageEntry, build, chain_hash, parse

pytestmark = pytest.mark.unit

ENTRY = st.builds(
    MessageEntry,
    webhook_id=st.text(min_size=1, max_size=20),
    log_count=st.integers(0, 10**6),
    first_log_id=st.text(min_size=1, max_size=60),
    last_log_id=st.text(min_size=1, max_size=60),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=30,
)


def manifest(sequence: int = 1, previous: str | None = None, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "pipeline": "auth0_authentication_api_webhooks",
        "sequence": sequence,
        "previous_hash": previous,
        "run_id": f"scheduled__{sequence}",
        "mode": "checkpoint",
        "created_at": "2026-12-03T16:00:00Z",
        "read_after": None,
        "read_through": "90020261203",
        "messages": [MessageEntry("msg_a", 100, "9001", "9100")],
        "dead_letters": [],
    }
    return build(**{**fields, **changes})


@given(
    sequence=st.integers(1, 10**9),
    messages=st.lists(ENTRY, max_size=5),
    dead_letters=st.lists(ENTRY, max_size=3),
    text=st.text(min_size=1, max_size=40),
)
def test_every_manifest_the_sender_builds_parses_back_to_the_same_fields(
    sequence: int, messages: list[MessageEntry], dead_letters: list[MessageEntry], text: str
) -> None:
    previous = None if sequence == 1 else chain_hash({"any": text})
    built = build(
        pipeline=text,
        sequence=sequence,
        previous_hash=previous,
        run_id=text,
        mode="window",
        created_at=text,
        read_after=None,
        read_through=text,
        messages=messages,
        dead_letters=dead_letters,
    )

    parsed = parse(json.dumps(built))

    assert (parsed.sequence, parsed.previous_hash, parsed.hash) == (sequence, previous, built["hash"])
    assert (list(parsed.messages), list(parsed.dead_letters)) == (messages, dead_letters)


@given(body=JSON.map(json.dumps) | st.binary(max_size=80) | st.text(max_size=80))
def test_any_other_body_is_refused_with_a_manifest_error(body: str | bytes) -> None:
    with pytest.raises(ManifestError):
        parse(body)


@given(field=st.sampled_from(["sequence", "run_id", "messages", "previous_hash", "pipeline"]), value=JSON)
def test_a_field_changed_after_signing_is_refused(field: str, value: Any) -> None:
    document = manifest(2, chain_hash({"x": 1}))
    if document[field] == value:
        return
    document[field] = value

    with pytest.raises(ManifestError):
        parse(json.dumps(document))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "logs"}, "kind is 'logs'"),
        ({"version": 2}, "version 2 is not 1"),
        ({"sequence": True}, "sequence is True, not an integer"),
        ({"messages": [{"webhook_id": "msg_a"}]}, "messages[0] is not {webhook_id, log_count"),
        ({"surprise": 1}, "fields this kit does not know: surprise"),
    ],
    ids=["kind", "version", "boolean sequence", "short entry", "unknown field"],
)
def test_the_error_names_the_field_that_is_wrong(change: dict[str, Any], named: str) -> None:
    document = {**manifest(), **change}
    document["hash"] = chain_hash(document)

    with pytest.raises(ManifestError, match=named.replace("[", r"\[").replace("{", r"\{")):
        parse(json.dumps(document))


def test_only_the_first_manifest_may_have_no_previous_hash() -> None:
    with pytest.raises(ManifestError, match="only manifest 1 has none"):
        parse(json.dumps(manifest(3, None)))


def test_the_hash_covers_every_field_but_itself_in_canonical_json() -> None:
    """A receiver in another language recomputes it: sorted keys, no spaces, ASCII, then SHA-256."""
    document = manifest()
    import hashlib

    canonical = json.dumps({k: v for k, v in document.items() if k != "hash"}, sort_keys=True, separators=(",", ":"))

    assert document["hash"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
