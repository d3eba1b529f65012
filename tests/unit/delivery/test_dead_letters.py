"""Dead letters in a local folder: kept with their reason, listed, fetched, removed, never doubled."""

import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore, InvalidEntryError, split_entry_id
from auth0_log_webhooks.delivery.payloads import encode
from auth0_log_webhooks.delivery.sender import AttemptRecord, Failure
from tests.builders import log_id

pytestmark = pytest.mark.unit


def failure(*numbers: int, status: int = 410) -> Failure:
    message = encode([{"log_id": log_id(n), "type": "f", "description": "Zoë"} for n in numbers])
    record = AttemptRecord(status, None, '{"error":"gone"}', attempts=1)
    return Failure(message, f"permanent: {record.describe()}", record)


@pytest.fixture
def store(tmp_path: Path) -> DeadLetterStore:
    """A dead letter store in a temporary folder."""
    return DeadLetterStore(f"file://{tmp_path}/dead_letters")


def test_a_kept_message_reads_back_with_its_logs_and_last_answer(store: DeadLetterStore) -> None:
    kept = failure(1, 2)
    letter = store.put("pipe", kept, dag_id="dag", run_id="manual__1")
    assert letter.entry_id == f"pipe/{kept.message.webhook_id}"
    loaded = store.get(letter.entry_id)
    assert loaded == letter
    assert loaded.logs == [dict(log) for log in kept.message.logs]
    assert loaded.log_ids == [log_id(1), log_id(2)]
    assert (loaded.last_status, loaded.last_body_excerpt, loaded.attempts) == (410, '{"error":"gone"}', 1)
    assert (loaded.reason, loaded.dag_id, loaded.run_id) == (
        "permanent: HTTP 410 after 1 attempt",
        "dag",
        "manual__1",
    )


def test_entries_list_every_pipeline_oldest_first_or_one_pipeline_when_named(store: DeadLetterStore) -> None:
    later = store.put("pipe", failure(5), dag_id="dag", run_id="r")
    earlier = store.put("pipe", failure(1, 2), dag_id="dag", run_id="r")
    other = store.put("other", failure(3), dag_id="dag2", run_id="r")
    assert [e.entry_id for e in store.entries()] == [earlier.entry_id, other.entry_id, later.entry_id]
    assert [e.entry_id for e in store.entries("pipe")] == [earlier.entry_id, later.entry_id]


def test_entries_are_empty_when_nothing_was_kept(store: DeadLetterStore) -> None:
    assert list(store.entries()) == []
    assert list(store.entries("pipe")) == []


def test_a_summary_counts_every_entry_but_reads_only_the_newest(
    store: DeadLetterStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = [store.put("pipe", failure(n), dag_id="dag", run_id="r") for n in range(1, 31)]
    folder = tmp_path / "dead_letters" / "pipe"
    for age, letter in enumerate(reversed(letters)):  # the last kept is the newest file
        os.utime(folder / f"{letter.webhook_id}.json", (1_800_000_000 - age, 1_800_000_000 - age))
    reads: list[str] = []
    real = DeadLetterStore._load_checked

    def counted(self: DeadLetterStore, pipeline: str, webhook_id: str) -> Any:
        reads.append(webhook_id)
        return real(self, pipeline, webhook_id)

    monkeypatch.setattr(DeadLetterStore, "_load_checked", counted)
    summary = store.summary("pipe", read_at_most=5)

    assert summary.count == 30
    assert not summary.complete
    assert [letter.entry_id for letter in summary.newest] == [letter.entry_id for letter in letters[::-1][:5]]
    assert summary.entry_ids == [letter.entry_id for letter in letters[::-1]]
    assert len(reads) == 5
    assert store.summary("nothing_kept", read_at_most=5).count == 0


def test_keeping_the_same_message_twice_keeps_one_entry(store: DeadLetterStore) -> None:
    store.put("pipe", failure(1, 2, status=410), dag_id="dag", run_id="first")
    store.put("pipe", failure(1, 2, status=400), dag_id="dag", run_id="second")
    (entry,) = store.entries()
    assert (entry.run_id, entry.last_status) == ("second", 400)


def test_a_removed_entry_is_gone(store: DeadLetterStore) -> None:
    letter = store.put("pipe", failure(1), dag_id="dag", run_id="r")
    kept = store.put("pipe", failure(2), dag_id="dag", run_id="r")
    store.remove(letter)
    assert [e.entry_id for e in store.entries()] == [kept.entry_id]
    with pytest.raises(KeyError):
        store.get(letter.entry_id)


@pytest.mark.parametrize("entry_id", ["pipe/msg_unknown", "pipe", "nowhere/msg_x"], ids=["unknown", "no-id", "no-pipe"])
def test_get_names_the_entry_when_it_does_not_exist(store: DeadLetterStore, entry_id: str) -> None:
    store.put("pipe", failure(1), dag_id="dag", run_id="r")
    with pytest.raises(KeyError, match=f"no dead letter '{entry_id}'"):
        store.get(entry_id)


@given(
    st.text(max_size=120)
    | st.builds(lambda a, b: f"{a}/msg_{b}", st.text(max_size=20), st.text("0123456789abcdef./", max_size=44))
)
def test_an_entry_id_is_either_refused_or_two_plain_segments_that_rebuild_it(entry_id: Any) -> None:
    try:
        pipeline, webhook_id = split_entry_id(entry_id)
    except InvalidEntryError as exc:
        message = str(exc)
    else:
        message = ""
        assert f"{pipeline}/{webhook_id}" == entry_id
        assert pipeline not in (".", "..")
        assert "/" not in pipeline
        assert re.fullmatch(r"msg_[0-9a-f]{40}", webhook_id)
    assert not message or "is not <pipeline>/msg_<40 lowercase hex digits>" in message


def test_get_refuses_a_malformed_entry_id_before_touching_the_store(store: DeadLetterStore) -> None:
    with pytest.raises(KeyError, match=r"is not <pipeline>/msg_<40 lowercase hex digits>"):
        store.get("pipe/../../etc/passwd")


def test_still_kept_leaves_out_entries_replayed_meanwhile(store: DeadLetterStore) -> None:
    kept = store.put("pipe", failure(1, 2), dag_id="pipe", run_id="r")
    replayed = store.put("pipe", failure(3), dag_id="pipe", run_id="r")
    store.remove(replayed)
    assert [letter.entry_id for letter in store.still_kept([kept.entry_id, replayed.entry_id])] == [kept.entry_id]
