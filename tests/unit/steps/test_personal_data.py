"""Personal data planted in every kind of failure is found nowhere a person or another system reads.

A pipeline masks ``user_name``, removes ``ip`` and masks every ``email``. Its tenant answers logs
holding those values in each way a run can fail on them: a log without a log_id (in a page and last
in a page), a log_id that is the email, an item that is the email, a huge log_id around it; then a
receiver that refuses every batch and echoes what it got. Everything the run leaves for people is
collected: exception messages, the failure notice each would send, task logs, staging and dead-letter
files, asset events and the health page. None holds the planted values.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from auth0_log_webhooks.delivery.failure_advice import DeadLettersInChunkError
from auth0_log_webhooks.monitoring import health_page
from auth0_log_webhooks.monitoring.notices import task_text
from auth0_log_webhooks.monitoring.trace import trace
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pii import PiiRule
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.staging import MalformedLogError
from auth0_log_webhooks.run.task_io import RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError, commit
from auth0_log_webhooks.steps.deliver import deliver
from auth0_log_webhooks.steps.fetch import fetch
from auth0_log_webhooks.steps.replay import pipeline_store
from tests.fakes import body_text, response_to
from tests.memory import MemoryReceiver, MemoryTenant, sender_for

pytestmark = pytest.mark.unit

EMAIL, IP, NAME = "alice.liddell@example.com", "203.0.113.77", "Alice Liddell"
PLANTED = (EMAIL, IP, NAME)
PIPELINE = Pipeline(
    dag_id="pii_everywhere",
    title="Personal data",
    pii=(PiiRule("user_name", "mask"), PiiRule("ip", "remove"), PiiRule("**.email", "mask")),
)


def personal(log_id: Any = None, **more: Any) -> dict[str, Any]:
    """A log that carries the planted values where the rules look for them (and a log_id, if given)."""
    log = {"type": "s", "date": "2026-11-26T05:00:00Z", "user_name": NAME, "ip": IP, "details": {"email": EMAIL}}
    return log | ({"log_id": log_id} if log_id is not None else {}) | more


class EchoingReceiver(MemoryReceiver):
    """Refuses every batch with a 400 whose body echoes the request, as some error pages do."""

    def __init__(self) -> None:
        super().__init__(answer=lambda ids: 400)

    def reply(self, request: requests.PreparedRequest) -> requests.Response:
        super().reply(request)  # records the arrival
        echoed = b"<html><body>Rejected: " + body_text(request).encode() + b"</body></html>"
        return response_to(request, 400, echoed, {"Content-Type": "text/html"})


@pytest.fixture
def variables(tmp_path: Path) -> InMemoryVariables:
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables({PIPELINE.config_variable: json.dumps(config)})


class Findings:
    """Every text a failed run leaves, gathered for one search."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str) -> None:
        self.texts[where] = text

    def failure(self, where: str, exc: BaseException, task_id: str) -> None:
        self.add(f"{where}: exception", str(exc))
        ti = SimpleNamespace(dag_id=PIPELINE.dag_id, run_id="manual__pii", task_id=task_id)
        self.add(f"{where}: notice", task_text({"ti": ti, "exception": exc}, "failure"))

    def files(self, root: Path) -> None:
        for path in root.rglob("*"):
            if path.is_file():
                self.add(str(path.relative_to(root)), path.read_bytes().decode("utf-8", "replace"))

    def leaks(self) -> list[str]:
        return [f"{value!r} in {where}" for where, text in self.texts.items() for value in PLANTED if value in text]


class PageTenant(MemoryTenant):
    """Its first log is the checkpoint; after it, one page exactly as given (strings and all)."""

    def __init__(self, page: list[Any]) -> None:
        super().__init__()
        self.checkpoint = self.add(["s"])[0]
        self.page = page

    def iter_log_pages(self, from_: str) -> Iterator[list[Any]]:
        yield self.page


TENANT_FAILURES: dict[str, Callable[[list[str]], list[Any]]] = {
    "a log without a log_id": lambda ids: [{"log_id": ids[0], "type": "s"}, personal(), {"log_id": ids[1]}],
    "a log without a log_id, last in its page": lambda ids: [{"log_id": ids[0], "type": "s"}, personal()],
    "a log_id that is the email": lambda ids: [personal(EMAIL)],
    "a log_id holding the email among 2 MB": lambda ids: [personal("9" * 2_000_000 + EMAIL)],
    "an item that is the email": lambda ids: [EMAIL, {"log_id": ids[1]}],
    "an item that is a list of the values": lambda ids: [list(PLANTED)],
}


@pytest.mark.parametrize("kind", TENANT_FAILURES)
def test_a_tenant_failure_names_the_log_without_its_personal_data(
    kind: str, variables: InMemoryVariables, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    later = MemoryTenant()
    later.add(["s"] * 3)
    tenant = PageTenant(TENANT_FAILURES[kind]([log["log_id"] for log in later.logs[1:]]))
    variables.set(PIPELINE.checkpoint_variable, tenant.checkpoint)
    findings = Findings()
    run = RunInfo(dag_id=PIPELINE.dag_id, run_id="manual__pii")

    with pytest.raises(MalformedLogError) as failed:
        fetch(PIPELINE, run, None, RunRecord().task("fetch"), variables=variables, hook=tenant)

    findings.failure(kind, failed.value, "fetch")
    findings.add("task log", caplog.text)
    findings.files(tmp_path)
    assert "without a valid log_id" in str(failed.value)  # the failure still says what it is
    assert findings.leaks() == []


def test_refused_deliveries_keep_dead_letters_notices_events_and_the_page_free_of_personal_data(
    variables: InMemoryVariables, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = MemoryTenant()
    for log_id in tenant.add(["s"] * 3):
        tenant.logs[[log["log_id"] for log in tenant.logs].index(log_id)].update(personal())
    record, run, findings = RunRecord(), RunInfo(dag_id=PIPELINE.dag_id, run_id="manual__pii"), Findings()
    receiver = EchoingReceiver()

    chunks = fetch(PIPELINE, run, None, record.task("fetch"), variables=variables, hook=tenant)
    for chunk in chunks:
        try:
            deliver(
                PIPELINE, run, chunk, record.task("deliver", mapped=True), sender=sender_for(receiver, PipelineConfig())
            )
        except DeadLettersInChunkError as exc:  # a deliver task that kept dead letters fails
            findings.failure("deliver", exc, "deliver")
    with pytest.raises(DeadLettersKeptError) as failed:
        commit(PIPELINE, run, None, record.task("commit"), variables=variables)
    findings.failure("commit", failed.value, "commit")

    letters = pipeline_store(PIPELINE, variables).summary(PIPELINE.dag_id, read_at_most=health_page.LAST_ERRORS)
    assert letters.count  # the refused logs are kept (masked) for replay
    now = datetime.now(UTC)
    healths = health_page.gather(
        {PIPELINE.dag_id: PIPELINE},
        variables=variables,
        events=lambda pipeline, since: [(now, extra) for extra in record.extras],
        dead_letters=lambda pipeline: letters,
        now=now,
    )
    findings.add("health page", health_page.page(healths, now))
    findings.add("health numbers", json.dumps(health_page.as_json(healths)))
    findings.add("asset events", json.dumps(record.extras))
    by_id = {log["log_id"]: log for log in tenant.logs}  # as Auth0 returns them, personal data and all
    for log_id in by_id:
        (traced,) = trace(log_id, {PIPELINE.dag_id: PIPELINE}, variables, fetch_log=lambda _, wanted: by_id[wanted])
        findings.add(f"trace of {log_id}", traced.text)
    assert any("it is a dead letter" in text for text in findings.texts.values())
    findings.add("task log", caplog.text)
    findings.files(tmp_path)
    assert any(EMAIL not in text and "****" in text for text in findings.texts.values())
    assert findings.leaks() == []
