"""The preview step: the next messages, exactly as a run would send them, with nothing sent, staged or moved."""

from __future__ import annotations

import base64
import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import requests
from airflow.sdk.exceptions import AirflowSkipException

from auth0_log_webhooks.delivery.preview import render
from auth0_log_webhooks.delivery.sender import DeliveryPolicy, WebhookSender
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API, Pipeline
from auth0_log_webhooks.pipelines.pii import PiiRule
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.task_io import RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import commit
from auth0_log_webhooks.steps.deliver import deliver_chunk
from auth0_log_webhooks.steps.fetch import RunParamsRefusedError, fetch, fetch_logs
from auth0_log_webhooks.steps.preview import preview
from tests.fakes import Answer, ScriptedAdapter, body_text, mount
from tests.memory import MemoryTenant

pytestmark = pytest.mark.unit

URL = "https://receiver.example/hook"
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
AUTHORIZATION = "Bearer preview-credential-xyz"
CHECKPOINT = AUTHENTICATION_API.checkpoint_variable


def receiving(config: PipelineConfig, kind: str = "authentication") -> tuple[WebhookSender, ScriptedAdapter]:
    """The real sender with the connection's Authorization and an extra header, posting to a recording adapter."""
    session = requests.Session()
    session.headers["Authorization"] = AUTHORIZATION
    session.headers["X-Api-Key"] = "extra-header-secret"
    adapter = mount(session, ScriptedAdapter(respond=lambda request: Answer(200)))
    policy = DeliveryPolicy.from_config(config, timeout_seconds=5, kind=kind)
    return WebhookSender(session, URL, [SECRET], policy, sleep=lambda seconds: None), adapter


@pytest.fixture
def staging_root(tmp_path: Path) -> Path:
    return tmp_path / "staging"


@pytest.fixture
def variables(tmp_path: Path, staging_root: Path) -> InMemoryVariables:
    storage = {"staging_url": f"file://{staging_root}", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables(
        {AUTHENTICATION_API.config_variable: json.dumps(storage), MANAGEMENT_API.config_variable: json.dumps(storage)}
    )


def sent_bodies(
    pipeline: Pipeline, variables: InMemoryVariables, tenant: MemoryTenant, params: dict[str, Any] | None
) -> list[str]:
    """Run fetch and every delivery as a run does; return the bodies the receiver got, in order."""
    run = RunInfo(dag_id=pipeline.dag_id, run_id="manual__real")
    fetched = fetch_logs(pipeline, run, params, variables=variables, hook=tenant)
    config = load_config(pipeline, params, variables).with_tenant(lambda: tenant.domain)
    sender, adapter = receiving(config, pipeline.kind)
    for chunk in fetched["chunks"]:
        deliver_chunk(pipeline, run, chunk, sender=sender)
    return [
        gzip.decompress(r.body).decode() if isinstance(r.body, bytes) and config.gzip else body_text(r)
        for r in adapter.requests
    ]


SHAPES = [
    pytest.param(AUTHENTICATION_API, {}, None, id="json array batches"),
    pytest.param(AUTHENTICATION_API, {"format": "cloudevents", "send_as_batch": False}, None, id="single cloudevents"),
    pytest.param(AUTHENTICATION_API, {"format": "cloudevents", "batch_size": 7}, None, id="cloudevents batch"),
    pytest.param(AUTHENTICATION_API, {"format": "json_lines", "log_types": "s,f"}, None, id="json lines one-off"),
    pytest.param(AUTHENTICATION_API, {"batch_size": 4}, {"gzip": True, "log_streams_envelope": True}, id="envelope"),
    pytest.param(MANAGEMENT_API, {"batch_size": 3}, None, id="management reshaped"),
]


@pytest.mark.parametrize(("pipeline", "params", "settings"), SHAPES)
def test_the_preview_body_is_what_the_sender_sends_for_the_same_logs(
    pipeline: Pipeline,
    params: dict[str, Any],
    settings: dict[str, Any] | None,
    variables: InMemoryVariables,
    staging_root: Path,
) -> None:
    if settings:
        name = pipeline.config_variable
        variables.set(name, json.dumps({**json.loads(variables.get(name) or "{}"), **settings}))
    if pipeline.kind == "management":
        pipeline = dataclasses.replace(pipeline, pii=(PiiRule("details.request.ip", "mask"),))
    tenant = MemoryTenant()
    tenant.add(["s", "f", "sapi", "fp", "s", "f"] * 8)
    if pipeline.kind == "management":
        for log in tenant.logs:
            log["details"] = {"request": {"path": "/api/v2/users", "method": "patch", "ip": "203.0.113.9"}}
    config = load_config(pipeline, params, variables).with_tenant(lambda: tenant.domain)
    sender, adapter = receiving(config, pipeline.kind)

    shown = preview(
        pipeline, RunInfo(pipeline.dag_id, "preview"), params, 3, variables=variables, hook=tenant, sender=sender
    )

    assert adapter.requests == []  # nothing sent
    assert not staging_root.exists()  # nothing staged
    bodies = sent_bodies(pipeline, variables, tenant, params)
    assert [message.body for message in shown.messages] == bodies[:3]
    assert len(shown.messages) == min(3, len(bodies))


def test_a_preview_reads_from_the_checkpoint_and_leaves_it_and_the_variables_alone(
    variables: InMemoryVariables,
) -> None:
    tenant = MemoryTenant()
    ids = tenant.add(["s"] * 30)
    variables.set(CHECKPOINT, ids[9])
    before = dict(variables.values)
    config = load_config(AUTHENTICATION_API, None, variables)
    sender, _ = receiving(config)

    shown = preview(
        AUTHENTICATION_API,
        RunInfo("d", "preview"),
        {"batch_size": 5},
        2,
        variables=variables,
        hook=tenant,
        sender=sender,
    )

    assert variables.values == before
    assert shown.messages[0].log_ids == tuple(ids[10:15])
    assert shown.messages[1].log_ids == tuple(ids[15:20])
    assert shown.more  # reading stopped once it had the two messages
    assert shown.reason == "checkpoint"


def test_a_preview_stops_reading_once_it_has_its_messages() -> None:
    tenant = MemoryTenant(page_size=10)
    tenant.add(["s"] * 1000)
    pages: list[int] = []
    real = tenant.iter_log_pages

    def counted(from_: str) -> Any:
        for page in real(from_):
            pages.append(len(page))
            yield page

    tenant.iter_log_pages = counted  # type: ignore[method-assign]
    variables = InMemoryVariables({AUTHENTICATION_API.config_variable: json.dumps({"batch_size": 10})})
    sender, _ = receiving(load_config(AUTHENTICATION_API, None, variables))

    shown = preview(
        AUTHENTICATION_API, RunInfo("d", "preview"), None, 2, variables=variables, hook=tenant, sender=sender
    )

    assert [len(m.log_ids) for m in shown.messages] == [10, 10]
    assert len(pages) <= 3  # two full batches from two pages, and not the 100 pages the tenant holds


def test_the_rendering_shows_credentials_as_present_and_never_their_values(variables: InMemoryVariables) -> None:
    tenant = MemoryTenant()
    tenant.add(["s", "f"])
    sender, _ = receiving(load_config(AUTHENTICATION_API, None, variables))

    text = render(
        preview(AUTHENTICATION_API, RunInfo("d", "p"), None, 1, variables=variables, hook=tenant, sender=sender)
    )

    assert AUTHORIZATION not in text
    assert "preview-credential" not in text
    assert "extra-header-secret" not in text
    assert SECRET not in text
    assert "v1," not in text
    assert "Authorization: present: the Authorization of connection auth0_webhook_default (not shown)" in text
    assert "webhook-signature: present: 1 v1 signature, one per signing secret (not shown)" in text
    assert "X-Api-Key: present: set by an extra of connection auth0_webhook_default (not shown)" in text
    assert "Content-Type: application/json" in text
    assert f"POST {URL}" in text
    assert "nothing was sent, nothing was staged, and the checkpoint stays at none yet" in text
    assert "Read 2 logs after" in text
    assert "2 selected; the next run would send this message, as a JSON array of up to 100 logs per request" in text


def test_an_unsigned_connection_is_said_to_be_unsigned() -> None:
    session = requests.Session()
    policy = DeliveryPolicy.from_config(PipelineConfig(), timeout_seconds=5)
    sender = WebhookSender(session, URL, [], policy)
    tenant = MemoryTenant()
    tenant.add(["s"])

    text = render(
        preview(
            AUTHENTICATION_API, RunInfo("d", "p"), None, 1, variables=InMemoryVariables(), hook=tenant, sender=sender
        )
    )

    assert "webhook-signature: absent: connection auth0_webhook_default has no signing secret" in text


def test_an_empty_tenant_says_the_next_run_would_send_nothing(variables: InMemoryVariables) -> None:
    sender, _ = receiving(load_config(AUTHENTICATION_API, None, variables))

    text = render(
        preview(AUTHENTICATION_API, RunInfo("d", "p"), None, 3, variables=variables, hook=MemoryTenant(), sender=sender)
    )

    assert "the next run would send nothing now" in text
    assert "Message 1" not in text


def test_the_fetch_task_of_a_preview_run_renders_and_returns_no_chunk_and_the_commit_skips(
    variables: InMemoryVariables, staging_root: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = MemoryTenant()
    tenant.add(["s"] * 12)
    sender, adapter = receiving(load_config(AUTHENTICATION_API, None, variables))
    monkeypatch.setattr("auth0_log_webhooks.steps.preview.open_sender", lambda *args, **kwargs: sender)
    run = RunInfo(AUTHENTICATION_API.dag_id, "manual__preview")

    record = RunRecord()
    with caplog.at_level("INFO"):
        chunks = fetch(
            AUTHENTICATION_API,
            run,
            {"preview": 2, "batch_size": 5},
            record.task("fetch"),
            variables=variables,
            hook=tenant,
        )

    assert chunks == []
    assert adapter.requests == []
    assert not staging_root.exists()
    assert "Message 2 of 2: 5 logs" in caplog.text
    with pytest.raises(AirflowSkipException, match="nothing to commit and the checkpoint stays where it is"):
        commit(AUTHENTICATION_API, run, {"preview": 2}, record.task("commit"), variables=variables)
    assert variables.get(CHECKPOINT) is None
    assert dict(record.values) == {("fetch", "return_value"): [[]]}  # nothing kept for later tasks but no chunk
    assert record.skipped == ["deliver"]  # the fetch skips it: nothing to deliver
    assert not record.extras  # no asset event


@pytest.mark.parametrize("value", [-1, 101, "many", 2.5])
def test_a_bad_preview_param_refuses_the_run_without_reading(value: object, variables: InMemoryVariables) -> None:
    tenant = MemoryTenant()
    with pytest.raises(RunParamsRefusedError, match="preview param must be a number of messages from 1 to 100"):
        fetch(
            AUTHENTICATION_API,
            RunInfo("d", "r"),
            {"preview": value},
            RunRecord().task("fetch"),
            variables=variables,
            hook=tenant,
        )
