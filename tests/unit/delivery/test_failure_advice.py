"""Failure messages: the first line says what happened; then where the logs are and the exact next step."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.contracts import BatchOutcome, Chunk, ReplayChunk, ReplayReport
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import DeadLettersInChunkError, dead_letter_advice, undelivered_advice
from auth0_log_webhooks.delivery.payloads import encode
from auth0_log_webhooks.delivery.sender import AttemptRecord, Failure
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo, run_staging
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.deliver import fail_if_chunk_kept_dead_letters
from auth0_log_webhooks.steps.replay import fail_if_replay_left_entries

pytestmark = pytest.mark.unit

# Seen in Chromium at 1366 px: Airflow indents an exception by its log prefix and puts the class name
# before the first line, leaving about 85 characters; the first line shares them with the class name.
FIRST_LINE_MAX = 60
LINE_MAX = 80


def log_id(n: int) -> str:
    return "900" + "20261126050000" + f"{n:039d}"


def failure(first: int, count: int, status: int = 410) -> Failure:
    message = encode([{"log_id": log_id(n), "type": "f"} for n in range(first, first + count)])
    record = AttemptRecord(status, None, '{"error":"gone"}', attempts=1)
    return Failure(message, f"permanent: {record.describe()}", record)


@pytest.fixture
def store(tmp_path) -> DeadLetterStore:
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


def test_the_first_line_says_how_many_logs_and_what_the_webhook_answered_in_a_short_line(store):
    text = advice_for(store, 78)
    first = text.splitlines()[0]
    assert first == "78 logs not delivered (HTTP 410); kept as 1 dead letter."
    assert len(first) <= FIRST_LINE_MAX
    # Every line but the dead letters' location (last, on its own) fits the log viewer's indented block.
    assert text.splitlines()[-2:] == ["Dead letters are kept in:", "file:///x"]
    assert all(len(line) <= LINE_MAX for line in text.splitlines()[:-1]), text


def replay_config_in(text: str) -> dict:
    """Return the JSON between the next step's "with this config" line and the dead letters' location."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "with this config" in line) + 1
    return json.loads("\n".join(lines[start : lines.index("Dead letters are kept in:")]))


def test_the_next_step_is_a_replay_config_naming_each_entry_one_a_line(store):
    text = advice_for(store, 10, 20)
    letters = list(store.entries("pipe"))
    assert replay_config_in(text) == {"pipeline": "pipe", "entries": [letter.entry_id for letter in letters]}
    for letter in letters:
        assert any(line.strip(' ",') == letter.entry_id for line in text.splitlines())  # one entry a line


def test_many_entries_are_replayed_by_pipeline_instead_of_listed(store):
    text = advice_for(store, *([1] * 21))
    assert replay_config_in(text) == {"pipeline": "pipe"}
    assert "with this config (it replays all 21 of the pipeline's entries):" in text


def test_an_undelivered_run_says_the_checkpoint_as_a_date_and_that_nothing_is_lost():
    lines = undelivered_advice(undelivered=3, batches=10, checkpoint=log_id(5)).splitlines()
    assert lines[0] == "3 of 10 batches were not delivered; the checkpoint stays at 2026-11-26 05:00:00 UTC."
    assert "next run delivers these batches again" in lines[-1]


@pytest.fixture
def ledger(tmp_path):
    """A run's staging with a plan of two batches, for a delivery task over both."""
    variables = InMemoryVariables(
        {
            AUTHENTICATION_API.config_variable: json.dumps(
                {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
            )
        }
    )
    run = RunInfo(AUTHENTICATION_API.dag_id, "manual__1")
    staging = run_staging(AUTHENTICATION_API, run, variables)
    staging.reset()
    staging.write_plan(
        {
            "mode": "checkpoint",
            "start_cursor": log_id(0),
            "end_cursor": log_id(9),
            "fetched": 9,
            "selected": 9,
            "batches": [],
            "note": "",
            "created_at": "",
            "config": {"dead_letter_url": f"file://{tmp_path}/dead"},
        }
    )
    return variables, run, staging, DeadLetterStore(f"file://{tmp_path}/dead")


CHUNK = Chunk(chunk=0, start=0, stop=2, label="batches 0-1: 9 logs")


def test_a_delivery_task_whose_batches_kept_dead_letters_fails_without_retrying(ledger):
    variables, run, staging, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id=run.dag_id, run_id=run.run_id)
    staging.mark(0, BatchOutcome(status="delivered", delivered_logs=5, dead_letters=[]))
    staging.mark(1, BatchOutcome(status="dead_lettered", delivered_logs=0, dead_letters=[letter.entry_id]))
    with pytest.raises(DeadLettersInChunkError) as caught:
        fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, CHUNK, variables=variables)
    assert isinstance(caught.value, AirflowFailException)  # Airflow does not retry it: the batches are settled
    assert str(caught.value).startswith("4 logs not delivered (HTTP 410); kept as 1 dead letter.")
    assert letter.entry_id in str(caught.value)


def test_a_delivery_task_passes_when_its_dead_letters_were_replayed_meanwhile(ledger):
    variables, run, staging, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id=run.dag_id, run_id=run.run_id)
    staging.mark(0, BatchOutcome(status="dead_lettered", delivered_logs=0, dead_letters=[letter.entry_id]))
    store.remove(letter)
    fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, CHUNK, variables=variables)


def test_a_delivery_task_passes_when_everything_was_delivered(ledger):
    variables, run, staging, _ = ledger
    staging.mark(0, BatchOutcome(status="delivered", delivered_logs=5, dead_letters=[]))
    fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, CHUNK, variables=variables)


def test_a_replay_refused_again_says_so_in_its_first_line_with_the_answer(ledger):
    variables, _, _, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id="auth0_webhooks_replay", run_id="manual__r")
    chunk = ReplayChunk(pipeline=AUTHENTICATION_API.dag_id, pool="p", entries=[letter.entry_id], label="1 entry")
    report = ReplayReport(delivered=0, still_failing=1, logs_delivered=0)
    with pytest.raises(DeadLettersInChunkError) as caught:
        fail_if_replay_left_entries(chunk, report, RunInfo("auth0_webhooks_replay", "manual__r"), variables=variables)
    assert str(caught.value).splitlines()[0] == "4 logs not delivered again (HTTP 410); kept as 1 dead letter."
