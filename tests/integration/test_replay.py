"""Replaying dead letters over real HTTP: plan_replay, replay_chunk and summarise.

Each test starts from dead letters made the real way: a run against a sink that answers 400 to
everything keeps the run's three batches as dead letters (and passes them).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat

from auth0_log_webhooks.contracts import ReplayChunk, ReplayReport
from auth0_log_webhooks.delivery.dead_letters import DeadLetterStore
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps import replay
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from dev.auth0_tenant.testing import EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import (
    Configure,
    ReadDeadLetters,
    ReplayDeadLetters,
    RunPipeline,
    TenantFactory,
    WireConnections,
)

pytestmark = pytest.mark.integration

DAG_ID = AUTHENTICATION_API.dag_id
REPLAY_RUN = RunInfo(dag_id="auth0_webhooks_replay", run_id="manual__replay")


def selected(tenant: EmulatorHandle) -> list[str]:
    """Return the log ids the default filter selects: all but sapi/fapi."""
    return [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]


def entry_id(letter: dict[str, Any]) -> str:
    return f"{letter['pipeline']}/{letter['webhook_id']}"


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs, 286 selected: three batches."""
    return auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0)


@pytest.fixture
def kept(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> list[dict[str, Any]]:
    """Run once against a sink rejecting everything with 400; return the dead letters, oldest first."""
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=400)
    outcome = run_pipeline()
    assert isinstance(outcome.error, DeadLettersKeptError)
    webhook_sink.clear_faults()
    letters = sorted(dead_letters(), key=lambda letter: letter["log_ids"][0])
    assert len(letters) == 3
    return letters


def chunk_of(entries: list[str], variables: InMemoryVariables) -> ReplayChunk:
    """A resend task's chunk as the replay's choose task would hand it over (the settings resolved once)."""
    config = load_config(AUTHENTICATION_API, None, variables).model_dump(mode="json")
    return ReplayChunk(pipeline=DAG_ID, pool=AUTHENTICATION_API.pool, entries=entries, label="1", config=config)


# -- plan_replay -------------------------------------------------------------------------------------


def test_plan_selects_every_entry_oldest_first_when_no_entry_is_named(
    kept: list[dict[str, Any]], variables: InMemoryVariables
) -> None:
    plan = replay.plan_replay(DAG_ID, None, 1000, 2, variables=variables)

    assert [chunk["pipeline"] for chunk in plan] == [DAG_ID, DAG_ID]
    assert [entry for chunk in plan for entry in chunk["entries"]] == [entry_id(letter) for letter in kept]
    assert [chunk["label"] for chunk in plan] == ["1 dead letter", "2 dead letters"]


def test_plan_selects_only_the_named_entries_when_entries_are_given(
    kept: list[dict[str, Any]], variables: InMemoryVariables
) -> None:
    named = [entry_id(kept[2]), entry_id(kept[0])]

    plan = replay.plan_replay(DAG_ID, named, 1000, 4, variables=variables)

    assert [entry for chunk in plan for entry in chunk["entries"]] == named


def test_plan_selects_each_entry_once_when_an_entry_is_named_twice(
    kept: list[dict[str, Any]], variables: InMemoryVariables
) -> None:
    """A repeated id would make the second replay of it fail (the first removed it)."""
    named = [entry_id(kept[1]), entry_id(kept[1])]

    plan = replay.plan_replay(DAG_ID, named, 1000, 4, variables=variables)

    assert [entry for chunk in plan for entry in chunk["entries"]] == [entry_id(kept[1])]


def test_plan_takes_the_oldest_entries_when_there_are_more_than_max_entries(
    kept: list[dict[str, Any]], variables: InMemoryVariables
) -> None:
    plan = replay.plan_replay(DAG_ID, None, 2, 4, variables=variables)

    assert [entry for chunk in plan for entry in chunk["entries"]] == [entry_id(letter) for letter in kept[:2]]


def test_plan_is_empty_when_there_are_no_dead_letters(variables: InMemoryVariables) -> None:
    assert replay.plan_replay(DAG_ID, None, 1000, 4, variables=variables) == []


def test_plan_raises_key_error_naming_the_entry_when_an_entry_is_unknown(
    kept: list[dict[str, Any]], variables: InMemoryVariables
) -> None:
    unknown = f"{DAG_ID}/msg_{'0' * 40}"

    with pytest.raises(KeyError, match=re.escape(unknown)):
        replay.plan_replay(DAG_ID, [entry_id(kept[0]), unknown], 1000, 4, variables=variables)


def test_plan_raises_value_error_listing_known_pipelines_when_the_pipeline_is_unknown(
    variables: InMemoryVariables,
) -> None:
    with pytest.raises(ValueError, match=rf"unknown pipeline 'nope'; known: {DAG_ID}"):
        replay.plan_replay("nope", None, 1000, 4, variables=variables)


# -- replay_chunk and summarise ------------------------------------------------------------------------


def test_replay_delivers_and_removes_every_entry_when_the_sink_has_recovered(
    kept: list[dict[str, Any]],
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    outcome = replay_dead_letters(max_tasks=2)

    assert outcome.summary == {"delivered": 3, "still_failing": 0, "logs_delivered": len(selected(tenant))}
    assert dead_letters() == []
    assert webhook_sink.log_ids() == selected(tenant)
    accepted = [r["headers"]["webhook-id"] for r in webhook_sink.requests() if r["status"] == 200]
    assert accepted == [letter["webhook_id"] for letter in kept]


def test_replay_only_sends_the_named_entries_when_entries_are_given(
    kept: list[dict[str, Any]],
    webhook_sink: SinkHandle,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    outcome = replay_dead_letters([entry_id(kept[1])])

    assert outcome.summary is not None
    assert outcome.summary["delivered"] == 1
    assert webhook_sink.log_ids() == kept[1]["log_ids"]
    assert [letter["webhook_id"] for letter in dead_letters()] == sorted(
        letter["webhook_id"] for letter in (kept[0], kept[2])
    )


def test_replay_keeps_a_failing_entry_with_its_new_status_when_the_sink_still_fails(
    kept: list[dict[str, Any]],
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    configure: Configure,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    """The first entry meets two 503s (max_attempts 2): it stays, now saying 503; the others go."""
    configure(max_attempts=2)
    webhook_sink.add_fault(status=503, count=2)

    outcome = replay_dead_letters()

    # As in the DAG: the failing entry's resend task fails naming the answer; the report adds up the others.
    (failed,) = outcome.task_errors
    assert (
        str(failed).splitlines()[0]
        == f"{len(kept[0]['log_ids'])} logs not delivered again (HTTP 503); kept as 1 dead letter."
    )
    assert outcome.summary == {
        "delivered": 2,
        "still_failing": 0,
        "logs_delivered": len(kept[1]["log_ids"]) + len(kept[2]["log_ids"]),
    }
    (left,) = dead_letters()
    assert left["webhook_id"] == kept[0]["webhook_id"]
    assert left["log_ids"] == kept[0]["log_ids"]
    assert left["logs"] == kept[0]["logs"]
    assert left["last_status"] == 503
    assert left["attempts"] == 2
    assert left["reason"].startswith("gave up")
    assert left["run_id"] == outcome.run.run_id
    assert webhook_sink.log_ids() == kept[1]["log_ids"] + kept[2]["log_ids"]

    again = replay_dead_letters()

    assert again.summary == {"delivered": 1, "still_failing": 0, "logs_delivered": len(kept[0]["log_ids"])}
    assert dead_letters() == []
    assert set(webhook_sink.log_ids()) == set(selected(tenant))
    assert webhook_sink.summary()["duplicates_with_same_webhook_id"] is True


def test_replay_keeps_the_undelivered_half_when_a_split_half_still_fails(
    kept: list[dict[str, Any]],
    webhook_sink: SinkHandle,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    """A 413 splits the first entry; its first half is rejected (400) and kept, the second delivered."""
    webhook_sink.add_faults([{"max_body_bytes": 60_000, "count": 1}, {"status": 400, "count": 1}])

    outcome = replay_dead_letters([entry_id(kept[0])])

    (failed,) = outcome.task_errors
    assert "not delivered again (HTTP 400)" in str(failed).splitlines()[0]
    others = {kept[1]["webhook_id"], kept[2]["webhook_id"]}
    (left,) = [letter for letter in dead_letters() if letter["webhook_id"] not in others]
    half = len(kept[0]["log_ids"]) // 2
    assert left["log_ids"] == kept[0]["log_ids"][:half]
    assert left["webhook_id"] != kept[0]["webhook_id"], "a half has its own webhook-id"
    assert left["last_status"] == 400
    assert webhook_sink.log_ids() == kept[0]["log_ids"][half:]


def test_replay_re_encodes_with_the_current_settings_and_keeps_the_webhook_id_when_the_format_changed(
    kept: list[dict[str, Any]],
    webhook_sink: SinkHandle,
    configure: Configure,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    configure(format="json_lines", gzip=True)

    outcome = replay_dead_letters()

    assert outcome.summary is not None
    assert outcome.summary["delivered"] == 3
    records = [r for r in webhook_sink.requests() if r["status"] == 200]
    assert {r["headers"]["content-type"] for r in records} == {"application/x-ndjson"}
    assert {r["headers"]["content-encoding"] for r in records} == {"gzip"}
    assert [r["headers"]["webhook-id"] for r in records] == [letter["webhook_id"] for letter in kept]
    assert dead_letters() == []


def test_replay_in_cloudevents_names_the_tenant_as_each_events_source(
    kept: list[dict[str, Any]],
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    configure: Configure,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
) -> None:
    configure(format="cloudevents")

    outcome = replay_dead_letters()

    assert outcome.summary is not None
    assert outcome.summary["delivered"] == 3
    records = [r for r in webhook_sink.requests() if r["status"] == 200]
    assert {r["headers"]["content-type"] for r in records} == {"application/cloudevents-batch+json"}
    events = [JSONFormat().read(None, json.dumps(item)) for r in records for item in json.loads(r["body"])]
    assert {event.get_source() for event in events} == {f"urn:auth0:{tenant.domain}"}
    assert sorted(event.get_id() for event in events) == sorted(i for letter in kept for i in letter["log_ids"])
    assert dead_letters() == []


def test_replay_keeps_the_entry_when_recording_its_new_failure_fails(
    kept: list[dict[str, Any]], webhook_sink: SinkHandle, variables: InMemoryVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the store cannot write the new failure, the old entry must still be there: nothing is lost."""
    webhook_sink.add_fault(status=400)

    def broken_put(self: DeadLetterStore, *args: Any, **kwargs: Any) -> None:
        raise OSError("object storage unavailable")

    monkeypatch.setattr(DeadLetterStore, "put", broken_put)
    chunk = chunk_of([entry_id(kept[0])], variables)

    with pytest.raises(OSError, match="object storage unavailable"):
        replay.replay_chunk(chunk, REPLAY_RUN, sleep=lambda s: None)

    monkeypatch.undo()
    store = replay.pipeline_store(AUTHENTICATION_API, variables)
    assert store.get(entry_id(kept[0])).log_ids == kept[0]["log_ids"]


def test_summarise_adds_up_the_chunks_when_every_entry_was_delivered() -> None:
    reports = [
        ReplayReport(delivered=2, still_failing=0, logs_delivered=150),
        ReplayReport(delivered=1, still_failing=0, logs_delivered=86),
    ]

    assert replay.summarise(reports) == {"delivered": 3, "still_failing": 0, "logs_delivered": 236}


def test_summarise_raises_replay_incomplete_when_some_entries_still_fail() -> None:
    reports = [
        ReplayReport(delivered=2, still_failing=0, logs_delivered=150),
        ReplayReport(delivered=0, still_failing=1, logs_delivered=0),
    ]

    with pytest.raises(replay.ReplayIncompleteError, match=r"1 dead letter could not be delivered.*2 were delivered"):
        replay.summarise(reports)


def test_dead_letter_files_hold_what_replay_needs(kept: list[dict[str, Any]]) -> None:
    """Every kept file names its pipeline, webhook-id, the logs and the last answer (as JSON)."""
    for letter in kept:
        assert letter["pipeline"] == DAG_ID
        assert letter["last_status"] == 400
        assert json.loads(letter["last_body_excerpt"])["error"] == "fault:400"
        assert [log["log_id"] for log in letter["logs"]] == letter["log_ids"]


# -- entry ids are validated before anything is read, sent or deleted ---------------------------------


def _planted_letter(kept: list[dict[str, Any]], path: Path) -> None:
    """Write a copy of a kept letter where an entry id that is a path would reach."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept[0]))


@pytest.mark.parametrize(
    "entry",
    [
        "other_pipeline/msg_" + "a" * 40,
        f"{DAG_ID}/../../elsewhere/f",
        f"{DAG_ID}/msg_" + "a" * 39 + "/../f",
        "/etc/passwd",
        f"{DAG_ID}/MSG_" + "A" * 40,
        f"{DAG_ID}/msg_" + "a" * 40 + ".json",
        "",
    ],
    ids=["other-pipeline", "dotdot", "dotdot-after-id", "absolute", "uppercase", "suffix", "empty"],
)
def test_an_entry_that_is_not_an_id_of_the_chosen_pipeline_is_refused_and_nothing_is_sent_or_deleted(
    kept: list[dict[str, Any]], tmp_path: Path, webhook_sink: SinkHandle, variables: InMemoryVariables, entry: Any
) -> None:
    planted = [tmp_path / "dead" / "other_pipeline" / f"msg_{'a' * 40}.json", tmp_path / "elsewhere" / "f.json"]
    for path in planted:
        _planted_letter(kept, path)
    sent_before = len(webhook_sink.requests())
    chunk = chunk_of([entry], variables)

    with pytest.raises(ValueError, match="dead letter entry"):
        replay.plan_replay(DAG_ID, [entry], 1000, 4, variables=variables)
    with pytest.raises(ValueError, match="dead letter entry"):
        replay.replay_chunk(chunk, REPLAY_RUN)  # a chunk from XCom is checked again

    assert len(webhook_sink.requests()) == sent_before
    assert all(path.exists() for path in planted)


def test_a_letter_whose_content_names_another_entry_is_neither_sent_nor_deleted(
    kept: list[dict[str, Any]],
    tmp_path: Path,
    webhook_sink: SinkHandle,
    variables: InMemoryVariables,
    dead_letters: ReadDeadLetters,
) -> None:
    """A file renamed (or edited) so its name and content disagree is refused by name, left in place."""
    target = tmp_path / "dead" / DAG_ID / f"{kept[1]['webhook_id']}.json"
    target.write_text(json.dumps({**kept[1], "webhook_id": kept[0]["webhook_id"]}))
    chunk = chunk_of([entry_id(kept[1])], variables)
    sent_before = len(webhook_sink.requests())

    with pytest.raises(ValueError, match="edited or moved"):
        replay.replay_chunk(chunk, REPLAY_RUN)

    assert len(webhook_sink.requests()) == sent_before
    assert target.exists()
    assert len(dead_letters()) == 3
