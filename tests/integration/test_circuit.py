"""The circuit breaker over real HTTP: a receiver that refuses everything stops the run, not the backlog.

On 401, 403 or 410, or ``circuit_breaker_failures`` failed messages in a row, the run stops sending:
the batches it did not try are kept for the next run (no dead letter), the checkpoint stays after the
last settled batch, and the run fails with the receiver's answer in the first line. The next run,
once the receiver answers, delivers the rest without a gap.
"""

from __future__ import annotations

import json

import pytest

from auth0_log_webhooks.delivery.circuit import CircuitOpenError
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, ReadDeadLetters, RunPipeline, TenantFactory, WireConnections
from tests.integration.test_delivery_faults import assert_nothing_lost, selected

pytestmark = pytest.mark.integration

CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs, 286 selected: six batches of 50, one delivery task (so the order is known)."""
    return auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0, **FIXED_SET)


@pytest.mark.parametrize("status", [401, 403, 410], ids=lambda status: f"http{status}")
def test_a_stop_answer_stops_sending_keeps_no_dead_letter_and_the_next_run_resumes(
    status: int,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, max_delivery_tasks=1)
    webhook_sink.add_faults([{"delay_seconds": 0.01, "count": 2}, {"status": status}])

    outcome = run_pipeline()

    assert isinstance(outcome.error, CircuitOpenError)
    first_line = str(outcome.error).splitlines()[0]
    assert first_line.startswith(f"Webhook answered HTTP {status}: stopped sending at batch 3 of 6.")
    assert "4 of 6 batches were not delivered" in str(outcome.error)
    assert dead_letters() == []
    assert webhook_sink.summary()["statuses"] == {"200": 2, str(status): 1}  # nothing sent after the refusal
    assert variables.get(CHECKPOINT) == outcome.plan["batches"][1]["last"]

    webhook_sink.clear_faults()
    again = run_pipeline()

    assert again.error is None
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    assert sorted(webhook_sink.log_ids()) == selected(tenant)
    assert_nothing_lost(webhook_sink, [], selected(tenant))


def test_consecutive_failed_messages_open_the_circuit_across_batches(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """A total outage: the first failed message is kept, the second opens the circuit, four batches are untried."""
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, max_delivery_tasks=1, max_attempts=2, circuit_breaker_failures=2)
    webhook_sink.add_fault(status=503)

    outcome = run_pipeline()

    assert isinstance(outcome.error, CircuitOpenError)
    assert str(outcome.error).startswith(
        "Webhook answered HTTP 503: stopped sending at batch 2 of 6.\nWhy: 2 failed messages"
    )
    (letter,) = dead_letters()
    assert letter["log_ids"][0] == outcome.plan["batches"][0]["first"]
    assert webhook_sink.summary()["statuses"] == {"503": 4}  # two messages, two attempts each
    assert variables.get(CHECKPOINT) == outcome.plan["batches"][0]["last"]

    webhook_sink.clear_faults()
    again = run_pipeline()

    assert again.error is None
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    assert_nothing_lost(webhook_sink, dead_letters(), selected(tenant))


def test_a_delivered_message_ends_the_streak(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
) -> None:
    """Failures that are not in a row are dead letters, not an outage: the run sends every batch."""
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, max_delivery_tasks=1, max_attempts=1, circuit_breaker_failures=2)
    webhook_sink.add_faults([{"status": 400, "count": 1}, {"delay_seconds": 0.01, "count": 1}, {"status": 400}])

    outcome = run_pipeline()

    assert isinstance(outcome.error, CircuitOpenError)  # 400, 200, 400, 400: the last two open it
    assert webhook_sink.summary()["statuses"] == {"400": 3, "200": 1}
    assert str(outcome.error).startswith("Webhook answered HTTP 400: stopped sending at batch 4 of 6.")


def test_a_stop_answer_to_half_of_a_split_batch_opens_the_circuit(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """Found by make soak: a 413 split the batch, one half got 401, the other 400; the 401 was dead-lettered."""
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, max_delivery_tasks=1, max_attempts=1)
    webhook_sink.add_faults([{"status": 413, "count": 1}, {"status": 401, "count": 1}, {"status": 400}])

    outcome = run_pipeline()

    assert isinstance(outcome.error, CircuitOpenError)
    assert str(outcome.error).startswith("Webhook answered HTTP 401: stopped sending at batch 1 of 6.")
    assert dead_letters() == []
    assert variables.get(CHECKPOINT) is None


def test_a_delivery_task_stopped_by_the_circuit_fails_without_retrying_and_says_what_to_do(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    """Found in the UI: it retried twice for nothing (about 80 s), its first line was cut off, no replay advice."""
    from airflow.sdk.exceptions import AirflowFailException

    wire_connections(tenant, webhook_sink)
    # A delivery task's failure: the fetch's lane (test_delivery_lane.py) hands an open circuit over to the tasks.
    configure(
        batch_size=50, max_delivery_tasks=1, max_attempts=2, circuit_breaker_failures=2, deliver_while_fetching=False
    )
    webhook_sink.add_fault(status=503)

    (task_error,) = run_pipeline().delivery_errors

    assert isinstance(task_error, AirflowFailException)  # Airflow fails it at once: retries cannot help
    lines = str(task_error).splitlines()
    assert lines[0] == "Webhook answered HTTP 503: stopped sending at batch 2 of 6."
    assert max(len(line) for line in lines) <= 100  # nothing the log viewer cuts at 1,366 px
    assert lines[1].startswith("Why: 2 failed messages in a row")
    assert "Not retried" in lines[2]
    assert "the next run sends them again" in str(task_error)
    (letter,) = dead_letters()
    config = json.loads("\n".join(lines[lines.index(next(li for li in lines if li.startswith("{"))) :]))
    assert config == {
        "pipeline": AUTHENTICATION_API.dag_id,
        "entries": [f"{letter['pipeline']}/{letter['webhook_id']}"],
    }
