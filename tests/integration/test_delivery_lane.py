"""The fetch's delivery lane (``deliver_while_fetching``): batches leave while the fetch reads, nothing is lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from auth0_log_webhooks.delivery.circuit import CircuitOpenError
from auth0_log_webhooks.hooks.auth0 import PAGE_SIZE, Auth0Hook
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.task_io import RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from auth0_log_webhooks.steps.fetch import fetch
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, ReadDeadLetters, RunPipeline, TenantFactory, WireConnections
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


def selected_ids(tenant: EmulatorHandle) -> list[str]:
    """The log ids the default filter selects: everything but Management API operations."""
    return [i for i in tenant.all_log_ids() if tenant.log(i)["type"] not in ("sapi", "fapi")]


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """An emulated tenant with 2,500 logs and no rate limit."""
    return auth0_tenant_factory(logs=2500, seed=7, rate_limit_per_minute=0, **FIXED_SET)


def test_the_lane_delivers_while_reading_and_the_tasks_send_what_it_left(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(deliver_while_fetching=True, batch_size=50, min_batches_per_task=1)

    outcome = run_pipeline(slots=3)

    assert outcome.summary is not None
    expected = selected_ids(tenant)
    assert sorted(webhook_sink.log_ids()) == sorted(expected)
    assert webhook_sink.summary()["duplicate_log_ids"] == 0
    assert outcome.summary["delivered_logs"] == len(expected)
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    lane, *tasks = outcome.reports  # the lane's report first (dev.runner), then each delivery task's
    assert lane["batches"] > 0, "the lane sent no batch while the fetch read"
    assert lane["batches"] + sum(task["batches"] for task in tasks) == len(outcome.plan["batches"])
    assert outcome.chunks[0]["start"] == lane["batches"], "the delivery tasks start after the lane's batches"


def test_a_small_run_is_delivered_by_the_fetch_alone(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(deliver_while_fetching=True)  # 2,500 logs: 24 batches of 100; min_batches_per_task 10
    run_pipeline()
    tenant.add_logs(300)  # the cron run's few batches: fewer than a delivery task is worth

    small = run_pipeline()

    assert small.summary is not None
    assert small.chunks == [], "a run of a few batches started delivery tasks"
    assert sorted(webhook_sink.log_ids()) == sorted(selected_ids(tenant))
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]


def test_an_open_circuit_stops_the_lane_and_the_checkpoint_stays_before_the_first_unsent_batch(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    dead_letters: ReadDeadLetters,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(deliver_while_fetching=True, batch_size=100)
    webhook_sink.add_faults([{"delay_seconds": 0.01, "count": 2}, {"status": 401}])

    outcome = run_pipeline()

    assert outcome.reports[0]["batches"] == 2, "the lane settled the two batches the receiver took, and no more"
    assert outcome.chunks[0]["start"] == 2, "the batches the lane left go to the delivery tasks"
    assert isinstance(outcome.error, CircuitOpenError)
    assert str(outcome.error).startswith(
        f"Webhook answered HTTP 401: stopped sending at batch 3 of {len(outcome.plan['batches'])}."
    )
    assert webhook_sink.summary()["statuses"] == {"200": 2, "401": 1}  # nothing sent after the refusal
    assert dead_letters() == []
    assert variables.get(CHECKPOINT) == outcome.plan["batches"][1]["last"]

    webhook_sink.clear_faults()
    again = run_pipeline()

    assert again.error is None
    assert sorted(webhook_sink.log_ids()) == sorted(selected_ids(tenant))
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]


def test_a_message_the_lane_could_not_send_is_kept_and_the_commit_names_the_fetch_log(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(deliver_while_fetching=True, batch_size=100, max_attempts=1)
    webhook_sink.add_faults([{"delay_seconds": 0.01, "count": 3}, {"status": 422, "count": 1}])

    outcome = run_pipeline()

    (letter,) = dead_letters()
    assert outcome.reports[0]["dead_lettered_logs"] == len(letter["log_ids"])
    assert isinstance(outcome.error, DeadLettersKeptError)
    assert letter["webhook_id"] in str(outcome.error)
    assert "the fetch task (what its delivery lane sent)" in str(outcome.error)
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]  # past the dead letter, as with delivery tasks


class OutageAfter(Auth0Hook):
    """Auth0 stops answering after ``pages`` pages, once the lane has had a batch taken by the receiver."""

    def __init__(self, pages: int, sink: SinkHandle) -> None:
        super().__init__(AUTHENTICATION_API.auth0_conn_id)
        self.pages, self.sink = pages, sink

    def iter_log_pages(self, from_: str, take: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        for number, page in enumerate(super().iter_log_pages(from_, take)):
            if number == self.pages:
                wait_until(lambda: self.sink.summary()["requests"] >= 2 or None, "the lane sent 2 batches")
                raise ConnectionError("Auth0 stopped answering (the test's outage)")
            yield page


def test_a_fetch_that_failed_after_its_lane_sent_batches_is_retried_and_delivers_each_log_once(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(deliver_while_fetching=True, batch_size=50, min_batches_per_task=1)
    first = RunInfo(AUTHENTICATION_API.dag_id, "scheduled__retried")
    with pytest.raises(ConnectionError):
        fetch(
            AUTHENTICATION_API,
            first,
            None,
            RunRecord().task("fetch"),
            variables=variables,
            hook=OutageAfter(8, webhook_sink),
        )
    sent_by_try_1 = webhook_sink.summary()["requests"]
    assert sent_by_try_1 >= 2

    with caplog.at_level(logging.INFO):
        retried = run_pipeline(run_id=first.run_id, try_number=2)

    assert retried.error is None
    assert webhook_sink.summary()["duplicate_log_ids"] == 0, "the retry sent again what the first try's lane sent"
    assert sorted(webhook_sink.log_ids()) == sorted(selected_ids(tenant))
    assert webhook_sink.summary()["requests"] == len(retried.plan["batches"])
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    assert f"already delivered {sent_by_try_1 * 50:,} logs in {sent_by_try_1} of the" in caplog.text
