"""Completeness manifests over real HTTP: the runner's steps, a signing sink that stores with the receiver kit.

The sink stores what it accepts in a folder, once per webhook-id, as a receiver using the kit
would; the kit's check of that folder is what a receiver runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.delivery.manifests import ManifestNotDeliveredError, chain_variable
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.receiver_kit.completeness import check, render
from auth0_log_webhooks.receiver_kit.manifest import manifest_webhook_id
from auth0_log_webhooks.receiver_kit.receiving import MessageStore
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import commit
from dev.auth0_tenant.testing import EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, ReplayDeadLetters, RunPipeline, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.integration


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs, 286 selected: three batches of 100."""
    return auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0)


@pytest.fixture
def store(tmp_path: Path) -> MessageStore:
    return MessageStore(tmp_path / "received")


@pytest.fixture
def sink(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    store: MessageStore,
    configure: Configure,
) -> SinkHandle:
    handle = webhook_sink_factory(secrets=(signing_secret,), store_dir=store.folder)
    wire_connections(tenant, handle, secret=signing_secret)
    configure(completeness_manifests=True, max_attempts=2, backoff_initial_seconds=0)
    return handle


def manifests(store: MessageStore) -> list[dict[str, Any]]:
    return sorted((json.loads(m.body) for m in store.messages() if m.is_manifest), key=lambda m: int(m["sequence"]))


def test_the_kit_reports_complete_when_the_receiver_stored_every_message(
    sink: SinkHandle, store: MessageStore, run_pipeline: RunPipeline, signing_secret: str, tenant: EmulatorHandle
) -> None:
    first = run_pipeline()
    tenant.add_logs(150)
    second = run_pipeline()

    assert (first.error, second.error) == (None, None)
    report = check(store, [signing_secret])
    assert report.complete, render(report)
    chain = manifests(store)
    assert [m["sequence"] for m in chain] == [1, 2]
    assert chain[1]["previous_hash"] == chain[0]["hash"]
    assert [m["run_id"] for m in chain] == [first.run.run_id, second.run.run_id]
    listed_logs = sum(int(e["log_count"]) for m in chain for e in m["messages"])
    assert listed_logs == len(sink.log_ids())


def test_the_kit_names_exactly_the_messages_the_receiver_dropped(
    sink: SinkHandle, store: MessageStore, run_pipeline: RunPipeline, signing_secret: str
) -> None:
    sink.add_fault(drop=True, count=2)  # the first two messages of the run: answered 200, never stored

    outcome = run_pipeline()

    assert outcome.error is None
    dropped = [r["headers"]["webhook-id"] for r in sink.requests() if r["why"] == "dropped"]
    report = check(store, [signing_secret])
    (pipeline,) = report.pipelines.values()
    assert sorted(a.entry.webhook_id for a in pipeline.missing) == sorted(dropped)
    assert not report.complete
    assert not pipeline.chain_breaks
    text = render(report)
    assert "2 are missing" in text
    assert all(d in text for d in dropped)


def test_a_retried_commit_sends_the_same_manifest_with_the_same_id_and_the_chain_does_not_fork(
    sink: SinkHandle, store: MessageStore, run_pipeline: RunPipeline, variables: InMemoryVariables
) -> None:
    outcome = run_pipeline()
    head = variables.get(chain_variable(AUTHENTICATION_API.dag_id))

    commit(AUTHENTICATION_API, outcome.run, None, outcome.record.task("commit"), variables=variables)

    manifest_requests = [r for r in sink.requests() if r["headers"].get("webhook-kind") == "manifest"]
    assert len(manifest_requests) == 2
    assert len({r["headers"]["webhook-id"] for r in manifest_requests}) == 1
    assert manifest_requests[0]["body"] == manifest_requests[1]["body"]
    assert variables.get(chain_variable(AUTHENTICATION_API.dag_id)) == head


def test_a_manifest_the_webhook_refuses_fails_the_commit_and_clearing_it_sends_the_same_one(
    sink: SinkHandle, store: MessageStore, run_pipeline: RunPipeline, variables: InMemoryVariables, signing_secret: str
) -> None:
    refused = manifest_webhook_id(AUTHENTICATION_API.dag_id, 1, "manual__refused")
    sink.add_fault(status=400, webhook_ids=[refused])

    outcome = run_pipeline(run_id="manual__refused")

    assert isinstance(outcome.error, ManifestNotDeliveredError)
    assert "Clear this commit task to send the same manifest again" in str(outcome.error)
    assert not check(store, [signing_secret]).pipelines  # the logs arrived, the manifest did not
    sink.clear_faults()

    commit(AUTHENTICATION_API, outcome.run, None, outcome.record.task("commit"), variables=variables)

    report = check(store, [signing_secret])
    assert report.complete, render(report)
    assert [m.webhook_id for m in store.messages() if m.is_manifest] == [refused]


def test_dead_letters_are_listed_and_count_as_held_once_replayed(
    sink: SinkHandle,
    store: MessageStore,
    run_pipeline: RunPipeline,
    replay_dead_letters: ReplayDeadLetters,
    signing_secret: str,
) -> None:
    sink.add_fault(status=400, count=1)  # the first batch is refused for good: a dead letter

    run_pipeline()

    (manifest,) = manifests(store)
    assert len(manifest["dead_letters"]) == 1
    (pipeline,) = check(store, [signing_secret]).pipelines.values()
    assert [a.entry.webhook_id for a in pipeline.awaiting_replay] == [manifest["dead_letters"][0]["webhook_id"]]
    assert not pipeline.missing

    assert replay_dead_letters().error is None
    assert check(store, [signing_secret]).complete
