"""Failure messages: the first line says what happened; then where the logs are and the exact next step."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import dead_letter_advice, undelivered_advice
from tests.builders import failure, log_id

pytestmark = pytest.mark.unit

# Seen in Chromium at 1366 px: Airflow indents an exception by its log prefix and puts the class name
# before the first line, leaving about 85 characters; the first line shares them with the class name.
FIRST_LINE_MAX = 60
LINE_MAX = 80


@pytest.fixture
def store(tmp_path: Path) -> DeadLetterStore:
    """A dead letter store in a temporary folder."""
    return DeadLetterStore(f"file://{tmp_path}/dead")


def advice_for(store: DeadLetterStore, *counts: int) -> str:
    start, letters = 0, []
    for count in counts:
        letters.append(store.put("pipe", failure(start, count), dag_id="pipe", run_id="r"))
        start += count
    return dead_letter_advice(
        letters=letters, pipeline="pipe", location="file:///x", where_logged="deliver [0]", checkpoint_passed=True
    )


def test_the_first_line_says_how_many_logs_and_what_the_webhook_answered_in_a_short_line(
    store: DeadLetterStore,
) -> None:
    text = advice_for(store, 78)
    first = text.splitlines()[0]
    assert first == "78 logs not delivered (HTTP 410); kept as 1 dead letter."
    assert len(first) <= FIRST_LINE_MAX
    # Every line but the dead letters' location (last, on its own) fits the log viewer's indented block.
    assert text.splitlines()[-2:] == ["Dead letters are kept in:", "file:///x"]
    assert all(len(line) <= LINE_MAX for line in text.splitlines()[:-1]), text


def replay_config_in(text: str) -> dict[str, Any]:
    """Return the JSON between the next step's "with this config" line and the dead letters' location."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "with this config" in line) + 1
    config: dict[str, Any] = json.loads("\n".join(lines[start : lines.index("Dead letters are kept in:")]))
    return config


def test_the_next_step_is_a_replay_config_naming_each_entry_one_a_line(store: DeadLetterStore) -> None:
    text = advice_for(store, 10, 20)
    letters = list(store.entries("pipe"))
    assert replay_config_in(text) == {"pipeline": "pipe", "entries": [letter.entry_id for letter in letters]}
    for letter in letters:
        assert any(line.strip(' ",') == letter.entry_id for line in text.splitlines())  # one entry a line


def test_many_entries_are_replayed_by_pipeline_instead_of_listed(store: DeadLetterStore) -> None:
    text = advice_for(store, *([1] * 21))
    assert replay_config_in(text) == {"pipeline": "pipe"}
    assert "with this config (it replays all 21 of the pipeline's entries):" in text


def test_an_undelivered_run_says_the_checkpoint_as_a_date_and_that_nothing_is_lost() -> None:
    lines = undelivered_advice(undelivered=3, batches=10, checkpoint=log_id(5)).splitlines()
    assert lines[0] == "3 of 10 batches were not delivered; the checkpoint stays at 2026-11-26 05:00:00 UTC."
    assert "next run delivers these batches again" in lines[-1]
