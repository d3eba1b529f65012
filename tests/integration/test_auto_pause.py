"""Auto-pause over real HTTP: a receiver failing past the limit pauses the pipeline with one notice; resume
catches up from the checkpoint without a gap.

The runs are in-process (dev.runner) against the Auth0 emulator and the webhook sink; the notices are
recorded instead of sent. The same story through a real scheduler is tests/e2e/test_auto_pause.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from auth0_log_webhooks.delivery import auto_pause
from auth0_log_webhooks.delivery.circuit import CircuitOpenError
from auth0_log_webhooks.monitoring import notices
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.pausing import PipelinePausedError
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import Configure, ReadDeadLetters, RunPipeline, TenantFactory, WireConnections
from tests.integration.test_delivery_faults import selected

pytestmark = pytest.mark.integration

DAG = AUTHENTICATION_API.dag_id
STATE = auto_pause.state_variable(DAG)


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """300 logs, 286 selected."""
    return auth0_tenant_factory(logs=300, seed=17, rate_limit_per_minute=0, **FIXED_SET)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Mapping[str, object]]:
    """The notices sent to the alerts connection (recorded, all taken)."""
    notes: list[Mapping[str, object]] = []

    def record(conn_id: str, payload: Mapping[str, object]) -> bool:
        notes.append(payload)
        return True

    monkeypatch.setattr(notices, "send", record)
    return notes


def test_a_receiver_failing_past_the_limit_pauses_once_and_resume_delivers_every_log_once(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
    sent: list[Mapping[str, object]],
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, pause_after_failures=3)
    webhook_sink.add_fault(status=401)  # the circuit opens at the first message: no dead letter

    for _ in range(3):
        assert isinstance(run_pipeline().error, CircuitOpenError)
    state = json.loads(variables.get(STATE) or "{}")
    assert (state["failing_messages"], state["last_status"], state["notice_sent"]) == (3, 401, True)
    assert [note["event"] for note in sent] == ["paused"]
    assert str(sent[0]["text"]).startswith(f"{DAG} paused at ")
    assert "3 messages in a row failed since " in str(sent[0]["text"])

    requests, reads = len(webhook_sink.requests()), tenant.counters()["log_requests"]
    for _ in range(2):
        with pytest.raises(PipelinePausedError, match=rf"^{DAG} is paused since .* after 3 failing messages"):
            run_pipeline()
    assert len(webhook_sink.requests()) == requests  # no call to the receiver
    assert tenant.counters()["log_requests"] == reads  # nor to Auth0
    assert len(sent) == 1  # one notice, not one per run

    webhook_sink.clear_faults()
    assert auto_pause.resume(AUTHENTICATION_API, variables).startswith(f"Resumed {DAG}: ")
    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    delivered = webhook_sink.log_ids()
    assert sorted(delivered) == selected(tenant)  # each selected log, exactly once
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) == tenant.all_log_ids()[-1]
    assert variables.get(STATE) is None


def test_a_delivered_message_restarts_the_count_so_an_intermittent_receiver_never_pauses(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    configure: Configure,
    run_pipeline: RunPipeline,
    variables: InMemoryVariables,
    sent: list[Mapping[str, object]],
) -> None:
    wire_connections(tenant, webhook_sink)
    configure(batch_size=50, pause_after_failures=2)
    webhook_sink.add_fault(status=401, count=1)
    assert isinstance(run_pipeline().error, CircuitOpenError)
    assert json.loads(variables.get(STATE) or "{}")["failing_messages"] == 1

    assert run_pipeline().error is None  # the receiver answers again: the streak is over
    assert variables.get(STATE) is None
    webhook_sink.add_fault(status=401, count=1)
    tenant.add_logs(20)
    assert isinstance(run_pipeline().error, CircuitOpenError)

    assert json.loads(variables.get(STATE) or "{}")["failing_messages"] == 1
    assert sent == []
