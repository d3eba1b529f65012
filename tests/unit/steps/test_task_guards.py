"""The guards that fail a delivery or replay task after it settled: dead letters kept, entries still refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.contracts import Chunk, ReplayChunk, ReplayReport
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.delivery.failure_advice import DeadLettersInChunkError
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.deliver import fail_if_chunk_kept_dead_letters
from auth0_log_webhooks.steps.replay import fail_if_replay_left_entries
from tests.builders import failure, log_id, settled, staging_of, staging_url_of

pytestmark = pytest.mark.unit


Ledger = tuple[InMemoryVariables, RunInfo, RunStaging, DeadLetterStore]
"""The ``ledger`` fixture: the Variables, the run, its staging with a plan, and the dead-letter store."""


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """A run's staging with a plan of two batches, for a delivery task over both."""
    variables = InMemoryVariables(
        {
            AUTHENTICATION_API.config_variable: json.dumps(
                {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
            )
        }
    )
    run = RunInfo(AUTHENTICATION_API.dag_id, "manual__1")
    staging = staging_of(AUTHENTICATION_API, run, variables)
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
            "generation": 1,
            "checkpoint_at_fetch": None,
            "repaired": 0,
        }
    )
    return variables, run, staging, DeadLetterStore(f"file://{tmp_path}/dead")


def chunk_of(variables: InMemoryVariables) -> Chunk:
    """The delivery task's chunk over both batches, staged where the config Variable says."""
    staging_url = staging_url_of(AUTHENTICATION_API, variables)
    return Chunk(chunk=0, start=0, stop=2, label="batches 0-1: 9 logs", generation=1, staging_url=staging_url)


def test_a_delivery_task_whose_batches_kept_dead_letters_fails_without_retrying(ledger: Ledger) -> None:
    variables, run, staging, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id=run.dag_id, run_id=run.run_id)
    staging.mark(0, settled("delivered", 5, []))
    staging.mark(1, settled("dead_lettered", 0, [letter.entry_id]))
    with pytest.raises(DeadLettersInChunkError) as caught:
        fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, chunk_of(variables))
    assert isinstance(caught.value, AirflowFailException)  # Airflow does not retry it: the batches are settled
    assert str(caught.value).startswith("4 logs not delivered (HTTP 410); kept as 1 dead letter.")
    assert letter.entry_id in str(caught.value)


def test_a_delivery_task_passes_when_its_dead_letters_were_replayed_meanwhile(ledger: Ledger) -> None:
    variables, run, staging, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id=run.dag_id, run_id=run.run_id)
    staging.mark(0, settled("dead_lettered", 0, [letter.entry_id]))
    store.remove(letter)
    fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, chunk_of(variables))


def test_a_delivery_task_passes_when_everything_was_delivered(ledger: Ledger) -> None:
    variables, run, staging, _ = ledger
    staging.mark(0, settled("delivered", 5, []))
    fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, chunk_of(variables))


def test_a_replay_refused_again_says_so_in_its_first_line_with_the_answer(ledger: Ledger) -> None:
    variables, _, _, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id="auth0_webhooks_replay", run_id="manual__r")
    chunk = ReplayChunk(
        pipeline=AUTHENTICATION_API.dag_id,
        pool="p",
        entries=[letter.entry_id],
        label="1 entry",
        config=load_config(AUTHENTICATION_API, None, variables).model_dump(mode="json"),
    )
    report = ReplayReport(delivered=0, still_failing=1, logs_delivered=0)
    with pytest.raises(DeadLettersInChunkError) as caught:
        fail_if_replay_left_entries(chunk, report, RunInfo("auth0_webhooks_replay", "manual__r"))
    assert str(caught.value).splitlines()[0] == "4 logs not delivered again (HTTP 410); kept as 1 dead letter."


def test_a_delivery_task_of_a_second_fetch_try_reads_that_try_s_ledger(ledger: Ledger) -> None:
    """A fetch that was cleared and run again stages generation 2: its tasks' dead letters are in g002."""
    variables, run, staging, store = ledger
    letter = store.put(AUTHENTICATION_API.dag_id, failure(1, 4), dag_id=run.dag_id, run_id=run.run_id)
    second = staging.with_generation(2)
    (second.generation_path / "done").mkdir(parents=True, exist_ok=True)
    second.mark(0, settled("dead_lettered", 0, [letter.entry_id]))
    with pytest.raises(DeadLettersInChunkError):
        fail_if_chunk_kept_dead_letters(AUTHENTICATION_API, run, chunk_of(variables) | {"generation": 2})
