"""The check: missing messages named with their run, gaps and forks in the chain, forged messages not counted."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.http.signing import signature_headers
from auth0_log_webhooks.receiver_kit.__main__ import main
from auth0_log_webhooks.receiver_kit.completeness import check, render
from auth0_log_webhooks.receiver_kit.manifest import MessageEntry, build, manifest_webhook_id
from auth0_log_webhooks.receiver_kit.receiving import MessageStore

pytestmark = pytest.mark.unit

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


class Sender:
    """Builds a chain the way the pipeline does and delivers into a store (some messages lost on the way)."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self.sequence = 0
        self.hash: str | None = None

    def deliver(self, webhook_id: str, body: str, kind: str | None = None) -> None:
        headers = signature_headers([SECRET], webhook_id, datetime.now(UTC), body)
        if kind:
            headers["webhook-kind"] = kind
        self.store.put(headers, body.encode())

    def run(self, run_id: str, messages: int, *, lose: tuple[int, ...] = (), dead: int = 0) -> dict[str, Any]:
        entries = [MessageEntry(f"msg_{run_id}_{i}", 100, f"{i}01", f"{i}99") for i in range(messages + dead)]
        for index, entry in enumerate(entries[:messages]):
            if index not in lose:
                self.deliver(entry.webhook_id, "[]")
        self.sequence += 1
        manifest = build(
            pipeline="p",
            sequence=self.sequence,
            previous_hash=self.hash,
            run_id=run_id,
            mode="checkpoint",
            created_at="2026-12-03T16:00:00Z",
            read_after=None,
            read_through=None,
            messages=entries[:messages],
            dead_letters=entries[messages:],
        )
        self.hash = manifest["hash"]
        return manifest

    def send(self, manifest: dict[str, Any]) -> None:
        webhook_id = manifest_webhook_id("p", manifest["sequence"], manifest["run_id"])
        self.deliver(webhook_id, json.dumps(manifest), kind="manifest")


@pytest.fixture
def sender(tmp_path: Path) -> Sender:
    return Sender(MessageStore(tmp_path / "received"))


def test_complete_when_every_listed_message_and_every_manifest_is_held(sender: Sender) -> None:
    for run in ("a", "b", "c"):
        sender.send(sender.run(run, 3))

    report = check(sender.store, [SECRET])

    assert report.complete, render(report)
    assert render(report).endswith("Complete: every message listed is held and the chain is intact.")


def test_each_lost_message_is_named_with_its_log_ids_and_run(sender: Sender) -> None:
    sender.send(sender.run("a", 3, lose=(1,)))

    report = check(sender.store, [SECRET])

    assert not report.complete
    assert "Missing msg_a_1: 100 logs, 101 to 199, run a (manifest 1)." in render(report)


def test_a_lost_manifest_shows_as_a_gap_naming_the_runs_around_it(sender: Sender) -> None:
    sender.send(sender.run("a", 1))
    sender.run("b", 1)  # its manifest never arrives
    sender.send(sender.run("c", 1))

    report = check(sender.store, [SECRET])

    assert report.pipelines["p"].chain_breaks == ["manifest 2 is not held: a run between a and c is unaccounted for"]


def test_two_chains_numbered_alike_show_as_a_fork(sender: Sender) -> None:
    sender.send(sender.run("a", 1))
    sender.sequence, sender.hash = 0, None  # the head was lost: the sender starts over
    sender.send(sender.run("b", 1))

    (problem,) = check(sender.store, [SECRET]).pipelines["p"].chain_breaks

    assert problem in {
        f"two manifests carry number 1 (runs {first} and {second}): the chain forked" for first, second in ("ab", "ba")
    }


def test_a_dead_letter_waits_for_replay_until_a_message_with_its_id_arrives(sender: Sender) -> None:
    sender.send(sender.run("a", 1, dead=1))
    waiting = check(sender.store, [SECRET])

    sender.deliver("msg_a_1", "[]")  # the replay

    assert [a.entry.webhook_id for a in waiting.pipelines["p"].awaiting_replay] == ["msg_a_1"]
    assert check(sender.store, [SECRET]).complete


def test_a_message_that_does_not_verify_counts_as_not_held(sender: Sender) -> None:
    sender.send(sender.run("a", 2, lose=(0,)))
    forged = {"webhook-id": "msg_a_0", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"}
    sender.store.put(forged, b"[]")  # someone fills the gap without the secret

    report = check(sender.store, [SECRET])

    assert report.bad_signatures == ["msg_a_0"]
    assert [a.entry.webhook_id for a in report.pipelines["p"].missing] == ["msg_a_0"]


def test_the_command_prints_what_is_missing_and_exits_1(
    sender: Sender, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sender.send(sender.run("a", 2, lose=(1,)))
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)

    status = main(["check", str(sender.store.folder)])

    out = capsys.readouterr().out
    assert status == 1
    assert "1 are missing" in out
    assert "Missing msg_a_1" in out
    assert "Signatures were not checked" not in out


def test_the_command_says_what_to_give_when_the_folder_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_manifest_that_names_another_predecessor_shows_as_a_fork(sender: Sender) -> None:
    sender.send(sender.run("a", 1))
    sender.hash = "sha256:" + "0" * 64  # the next manifest was chained on a manifest 1 the receiver never saw
    sender.send(sender.run("b", 1))

    (problem,) = check(sender.store, [SECRET]).pipelines["p"].chain_breaks

    assert problem.startswith("manifest 2 (run b) does not follow manifest 1 (run a)")
