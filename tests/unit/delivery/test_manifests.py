"""The sender's side of the chain: one manifest per run, the same one on every retry, never a fork or a gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from auth0_log_webhooks.contracts import BatchOutcome, Plan, SentMessage
from auth0_log_webhooks.delivery.manifests import (
    ChainHead,
    ManifestChainChangedError,
    chain_variable,
    chained,
    listed,
    message_for,
)
from auth0_log_webhooks.receiver_kit.manifest import parse
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.staging import RunStaging
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

DAG = "auth0_authentication_api_webhooks"
PLAN = cast(Plan, {"mode": "checkpoint", "start_cursor": "9000", "end_cursor": "9299"})


def outcome(*messages: tuple[str, str]) -> BatchOutcome:
    sent = [SentMessage(webhook_id=i, count=100, first="9001", last="9100", status=s) for i, s in messages]  # type: ignore[typeddict-item]
    return cast(BatchOutcome, {"messages": sent})


OUTCOMES = {0: outcome(("msg_a", "delivered")), 1: outcome(("msg_b", "dead_lettered"), ("msg_c", "delivered"))}


def commit_of(run_id: str, tmp_path: Path, variables: InMemoryVariables, **kw: Any) -> dict[str, Any]:
    staging = RunStaging.for_run(f"file://{tmp_path}", DAG, run_id)
    staging.path.mkdir(parents=True, exist_ok=True)  # the fetch made it (its plan is there)
    return chained(staging, RunInfo(dag_id=DAG, run_id=run_id), PLAN, OUTCOMES, 2, variables, **kw)


def test_the_manifest_lists_the_settled_batches_messages_and_their_dead_letters_apart() -> None:
    delivered, dead = listed(OUTCOMES, 2)

    assert [e.webhook_id for e in delivered] == ["msg_a", "msg_c"]
    assert [e.webhook_id for e in dead] == ["msg_b"]
    assert listed(OUTCOMES, 1)[0][0].webhook_id == "msg_a"


def test_each_run_gets_the_next_number_and_the_hash_of_the_one_before(tmp_path: Path) -> None:
    variables = InMemoryVariables()

    first = commit_of("run_1", tmp_path, variables)
    second = commit_of("run_2", tmp_path, variables)

    assert (first["sequence"], first["previous_hash"]) == (1, None)
    assert (second["sequence"], second["previous_hash"]) == (2, first["hash"])
    assert ChainHead.read(variables, DAG).sequence == 2
    assert parse(message_for(second).body).hash == second["hash"]


def test_a_retried_commit_gets_the_same_manifest_and_the_chain_moves_once(tmp_path: Path) -> None:
    variables = InMemoryVariables()
    first = commit_of("run_1", tmp_path, variables)
    head = variables.get(chain_variable(DAG))

    again = commit_of("run_1", tmp_path, variables)

    assert again == first
    assert variables.get(chain_variable(DAG)) == head
    assert message_for(again).webhook_id == message_for(first).webhook_id


def test_a_manifest_kept_before_a_crash_is_chained_by_the_retry(tmp_path: Path) -> None:
    """The commit kept its manifest, then died before moving the head: the retry moves it to that same one."""
    variables = InMemoryVariables()
    kept = commit_of("run_1", tmp_path, variables)
    variables.values.pop(chain_variable(DAG))  # as if the head had never moved

    assert commit_of("run_1", tmp_path, variables) == kept
    assert ChainHead.read(variables, DAG).hash == kept["hash"]


def test_a_kept_manifest_that_lost_its_number_to_another_run_is_built_anew_after_it(tmp_path: Path) -> None:
    variables = InMemoryVariables()
    kept = commit_of("run_1", tmp_path, variables)
    variables.values.pop(chain_variable(DAG))
    other = commit_of("run_2", tmp_path, variables)  # took number 1 meanwhile

    rebuilt = commit_of("run_1", tmp_path, variables)

    assert (other["sequence"], rebuilt["sequence"]) == (1, 2)
    assert rebuilt["previous_hash"] == other["hash"]
    assert rebuilt["hash"] != kept["hash"]


def test_a_head_moved_by_another_commit_meanwhile_stops_this_one_before_anything_is_sent(tmp_path: Path) -> None:
    class Racing(InMemoryVariables):
        def get(self, key: str) -> str | None:
            value = super().get(key)
            self.values[key] = json.dumps({"sequence": 7, "hash": None, "recent": []})  # another commit got in
            return value

    with pytest.raises(ManifestChainChangedError, match="moved from manifest 0 to 7 while run run_1 chained"):
        commit_of("run_1", tmp_path, Racing())


def test_the_head_remembers_a_bounded_number_of_recent_manifests(tmp_path: Path) -> None:
    head = ChainHead()
    for number in range(1, 80):
        head = head.after({"sequence": number, "hash": f"h{number}", "run_id": f"r{number}"})

    assert len(head.recent) == 50
    assert head.recent[-1] == (79, "h79", "r79")
