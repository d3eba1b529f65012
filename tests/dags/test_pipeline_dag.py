"""The Authentication API webhooks DAG as Airflow runs it (dag.test()): wiring, params, trigger rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from auth0_log_webhooks.log_ids import cursor_for_time, log_time
from auth0_log_webhooks.monitoring.metrics import delivered_asset
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.webhook_sink.testing import SinkHandle
from tests.dags.conftest import MetadataVariables, task_states
from tests.fixture_types import Configure, RunDag, SinkFactory, TenantFactory, WireConnections

pytestmark = pytest.mark.dag

DAG_ID = AUTHENTICATION_API.dag_id
CHECKPOINT = AUTHENTICATION_API.checkpoint_variable
# "batches 4-6: 300 logs, 2026-11-26 14:02:11-14:07:40 UTC": counts and dates, not 56-digit log ids
LABEL = r"batch(es)? \d+(-\d+)?: [\d,]+ logs?, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d ?-.* UTC"


def selected(tenant: EmulatorHandle, after: str | None = None, codes: set[str] | None = None) -> list[str]:
    """The log ids after ``after`` that the default filter (all but sapi/fapi), or ``codes``, selects."""
    ids = tenant.all_log_ids(after)
    if codes is None:
        return [i for i in ids if tenant.log(i)["type"] not in ("sapi", "fapi")]
    return [i for i in ids if tenant.log(i)["type"] in codes]


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """600 logs over the last 2 days, no rate limit."""
    return auth0_tenant_factory(logs=600, seed=23, history_days=2, rate_limit_per_minute=0, **FIXED_SET)


@pytest.fixture
def sink(
    tenant: EmulatorHandle, webhook_sink_factory: SinkFactory, wire_connections: WireConnections, signing_secret: str
) -> SinkHandle:
    """A sink checking signatures, wired as auth0_webhook_default (and the tenant as auth0_default)."""
    handle = webhook_sink_factory(secrets=(signing_secret,))
    wire_connections(tenant, handle, secret=signing_secret)
    return handle


RunPipelineDag = Callable[..., Any]
"""The ``run`` fixture: run the pipeline DAG with this conf (keywords as for ``run_dag``); return its DagRun."""


@pytest.fixture
def run(run_dag: RunDag) -> RunPipelineDag:
    """Run the pipeline DAG (keywords as for run_dag)."""
    return lambda conf=None, **kw: run_dag(DAG_ID, conf, **kw)


def test_a_run_delivers_every_selected_log_after_the_checkpoint_and_moves_it_to_the_last_read(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[199])

    dag_run = run()

    assert dag_run.state == "success"
    assert sorted(sink.log_ids()) == selected(tenant, ids[199])
    assert sink.summary()["bad_signatures"] == 0
    assert variables.get(CHECKPOINT) == ids[-1]
    states = task_states(dag_run)
    # 400 logs, about 390 selected: 4 batches of 100, fewer than min_batches_per_task, so the fetch's delivery
    # lane (on by default) sends them all, no delivery task is mapped, and the fetch commits the run itself.
    assert (states[("fetch", -1)], states[("commit", -1)]) == ("success", "skipped")
    assert {state for (task, _), state in states.items() if task == "deliver"} == {"skipped"}
    (extra,) = asset_event_extras(dag_run, "fetch")  # the delivered asset's event, through the fetch's alias
    assert extra["logs_delivered"] == len(selected(tenant, ids[199]))
    assert (extra["checkpoint"], extra["dead_letters"]) == (ids[-1], 0)
    assert extra["lag_seconds"] >= 0


def test_the_dags_tasks_record_each_attempt_so_the_trace_names_the_run_and_its_message(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    from auth0_log_webhooks.delivery.payloads import webhook_id_for
    from auth0_log_webhooks.monitoring.trace import trace

    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[399])
    dag_run = run()
    assert dag_run.state == "success"
    first_batch = selected(tenant, ids[399])[:100]

    (found,) = trace(first_batch[7], {DAG_ID: AUTHENTICATION_API}, variables)

    assert found.verdict == "delivered"
    (message,) = found.messages
    assert (message.message_id, message.run_id) == (webhook_id_for(first_batch), dag_run.run_id)
    assert [(a.attempt, a.status) for a in message.attempts] == [(1, 200)]
    assert f"read log {first_batch[7]} " in found.text
    assert f"in run {dag_run.run_id}" in found.text


def asset_event_extras(dag_run: Any, task_id: str) -> list[dict[str, Any]]:
    """Return the extras of the delivered asset's events a run's ``task_id`` emitted (test code may read the
    metadata DB)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = (
            select(AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(
                AssetModel.name == delivered_asset(DAG_ID).name,
                AssetEvent.source_run_id == dag_run.run_id,
                AssetEvent.source_task_id == task_id,
            )
        )
        return list(session.scalars(query))


def test_the_next_run_delivers_only_what_is_new(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    run()
    delivered = sink.log_ids()
    new = tenant.add_logs(150)

    assert run().state == "success"

    assert sorted(sink.log_ids()) == sorted(delivered) + selected(tenant, max(delivered))
    assert sink.summary()["duplicate_log_ids"] == 0
    assert variables.get(CHECKPOINT) == new[-1]


@pytest.mark.parametrize(
    ("conf", "check"),
    [
        ({"batch_size": 7}, lambda sink, logs: max(len(r["log_ids"]) for r in sink.requests()) == 7),
        ({"send_as_batch": "false"}, lambda sink, logs: len(sink.requests()) == logs),
        (
            {"format": "json_lines"},
            lambda sink, logs: {r["headers"]["content-type"] for r in sink.requests()} == {"application/x-ndjson"},
        ),
    ],
    ids=["batch_size", "send_as_batch", "format"],
)
def test_a_shaping_param_changes_how_the_run_sends(
    tenant: EmulatorHandle,
    sink: SinkHandle,
    variables: MetadataVariables,
    run: RunPipelineDag,
    conf: dict[str, Any],
    check: Any,
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-60])

    assert run(conf).state == "success"

    expected = selected(tenant, ids[-60])
    assert sorted(sink.log_ids()) == expected
    assert check(sink, len(expected))
    assert variables.get(CHECKPOINT) == ids[-1]


@pytest.mark.parametrize(
    ("conf", "codes"),
    [({"log_types": "s,f"}, {"s", "f"}), ({"log_level": 3}, None)],
    ids=["log_types", "log_level"],
)
def test_a_selecting_param_delivers_only_what_it_selects(
    tenant: EmulatorHandle,
    sink: SinkHandle,
    variables: MetadataVariables,
    run: RunPipelineDag,
    conf: dict[str, Any],
    codes: set[Any] | None,
) -> None:
    from auth0_log_webhooks.pipelines.log_types import level_of

    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[299])

    assert run(conf).state == "success"

    after = tenant.all_log_ids(ids[299])
    if codes is None:
        codes = {tenant.log(i)["type"] for i in after if level_of(tenant.log(i)["type"]) >= 3}
    assert codes, "the tenant should hold some logs of the selection"
    assert sorted(sink.log_ids()) == selected(tenant, ids[299], codes)


def test_max_logs_per_run_stops_the_run_on_a_batch_boundary(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    assert run({"max_logs_per_run": 250, "batch_size": 50}).state == "success"

    delivered = sorted(sink.log_ids())
    assert delivered == selected(tenant)[: len(delivered)]  # a prefix of the selection, in whole batches
    assert len(delivered) % 50 == 0
    assert 250 <= len(tenant.all_log_ids(None)[: tenant.all_log_ids().index(delivered[-1]) + 1]) < 300
    assert (variables.get(CHECKPOINT) or "") < tenant.all_log_ids()[-1]


def test_a_start_from_param_rereads_from_that_date_and_the_checkpoint_never_moves_backwards(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[500])
    start = log_time(tenant.log(ids[100]))

    dag_run = run({"start_from": start.isoformat(), "max_logs_per_run": 100, "batch_size": 50})

    assert dag_run.state == "success"
    assert min(sink.log_ids()) >= cursor_for_time(start)
    assert max(sink.log_ids()) < ids[500]  # the run read logs older than the checkpoint...
    assert variables.get(CHECKPOINT) == ids[500]  # ...and left the checkpoint where it was


def test_a_run_that_selects_nothing_still_moves_the_checkpoint_past_what_it_read(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    variables.set(CHECKPOINT, tenant.all_log_ids()[-1])
    sapi = tenant.add_raw_logs([{"type": "sapi", "description": "Update a client"} for _ in range(5)])

    dag_run = run()

    assert dag_run.state == "success"
    assert (task_states(dag_run)[("fetch", -1)], task_states(dag_run)[("commit", -1)]) == ("success", "skipped")
    assert sink.log_ids() == []
    assert variables.get(CHECKPOINT) == sapi[-1]
    (extra,) = asset_event_extras(dag_run, "fetch")
    assert (extra["logs_read"], extra["logs_filtered"], extra["logs_delivered"]) == (5, 5, 0)


@pytest.mark.parametrize("drain", [10, 1], ids=["lane finishes", "lane hands over"])
def test_with_the_delivery_lane_a_run_is_delivered_whole_one_task_at_a_time(
    drain: int,
    tenant: EmulatorHandle,
    sink: SinkHandle,
    variables: MetadataVariables,
    run: RunPipelineDag,
    configure: Configure,
) -> None:
    """dag.test() runs one task at a time, as `airflow dags test` does: the fetch and its lane end first."""
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[199])
    configure(deliver_while_fetching=True, min_batches_per_task=drain)

    dag_run = run({"batch_size": 100})

    assert dag_run.state == "success"
    assert sorted(sink.log_ids()) == selected(tenant, ids[199])
    assert sink.summary()["duplicate_log_ids"] == 0
    assert variables.get(CHECKPOINT) == ids[-1]
    states = task_states(dag_run)
    assert states[("fetch", -1)] == "success"
    delivered_by_tasks = {state for (task, _), state in states.items() if task == "deliver"}
    if drain == 10:  # 4 batches left at most: the lane sends them all; no delivery task starts, the fetch commits
        assert (delivered_by_tasks, states[("commit", -1)]) == ({"skipped"}, "skipped")
        assert [extra["logs_delivered"] for extra in asset_event_extras(dag_run, "fetch")] == [len(sink.log_ids())]
    else:  # the lane fell behind by more than 1 batch (or not): the tasks send what it left, the commit commits
        assert delivered_by_tasks <= {"success", "skipped"}
        assert states[("commit", -1)] == ("success" if "success" in delivered_by_tasks else "skipped")
        labels = [ti.rendered_map_index for ti in dag_run.get_task_instances() if ti.task_id == "deliver"]
        assert all(re.fullmatch(LABEL, label) for label in labels if label is not None), labels


def test_failing_deliveries_fail_the_run_and_the_checkpoint_stays_before_them(
    tenant: EmulatorHandle,
    sink: SinkHandle,
    variables: MetadataVariables,
    run: RunPipelineDag,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-250])
    monkeypatch.delenv("AIRFLOW_CONN_AUTH0_WEBHOOK_DEFAULT")  # no webhook connection: every delivery task fails

    dag_run = run({"batch_size": 100})

    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert {state for (task, _), state in states.items() if task == "deliver"} == {"failed"}
    assert states[("commit", -1)] == "failed"  # it ran after the failures, kept the checkpoint, and says so
    assert variables.get(CHECKPOINT) == ids[-250]
    assert sink.log_ids() == []


@pytest.mark.parametrize("lane", [True, False], ids=["the fetch's lane keeps them", "a delivery task keeps them"])
def test_dead_lettered_messages_fail_the_task_that_kept_them_or_the_commit_and_the_checkpoint_passes_them(
    lane: bool,
    tenant: EmulatorHandle,
    sink: SinkHandle,
    variables: MetadataVariables,
    run: RunPipelineDag,
    configure: Configure,
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-120])
    configure(max_attempts=1, deliver_while_fetching=lane)
    sink.add_fault(status=422)  # refused for good, but not a "stop sending" answer (401, 403, 410)

    dag_run = run()

    assert dag_run.state == "failed"
    states = task_states(dag_run)
    assert states[("commit", -1)] == "failed"
    delivery_states = {state for (task, _), state in states.items() if task == "deliver"}
    if lane:  # 2 batches: the lane sends both and maps no delivery task; the commit's error names the fetch's log
        assert (states[("fetch", -1)], delivery_states) == ("success", {"skipped"})
    else:  # the delivery task that kept them is red too, where a person looks first (it used to be green)
        assert delivery_states == {"failed"}
    assert variables.get(CHECKPOINT) == ids[-1]
    dead = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")["dead_letter_url"].removeprefix(
        "file://"
    )
    from pathlib import Path

    kept = [json.loads(p.read_text()) for p in (Path(dead) / DAG_ID).glob("*.json")]
    assert sorted(i for letter in kept for i in letter["log_ids"]) == selected(tenant, ids[-120])


def test_a_backfill_run_delivers_its_interval_and_leaves_the_checkpoint_alone(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    ids = tenant.all_log_ids()
    variables.set(CHECKPOINT, ids[-1])
    end = log_time(tenant.log(ids[300])).replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 5)  # a tick of the */5 schedule: the run covers [end - 5 min, end)

    dag_run = run(backfill_of=end)

    assert dag_run.state == "success"
    assert str(dag_run.run_type) == "backfill"
    in_window = [i for i in selected(tenant) if end - timedelta(minutes=5) <= log_time(tenant.log(i)) < end]
    assert sorted(sink.log_ids()) == sorted(in_window)
    assert variables.get(CHECKPOINT) == ids[-1]


def _drain_runs() -> list[Any]:
    from airflow.models.dagrun import DagRun

    return [r for r in DagRun.find(dag_id=DAG_ID) if r.run_id.startswith("drain__")]


def test_a_run_stopped_at_max_logs_per_run_starts_the_next_at_once_and_one_that_caught_up_does_not(
    tenant: EmulatorHandle, sink: SinkHandle, variables: MetadataVariables, run: RunPipelineDag
) -> None:
    before = {r.run_id for r in _drain_runs()}
    assert run({"max_logs_per_run": 250, "batch_size": 50, "start_from": None}).state == "success"
    (follow_up,) = [r for r in _drain_runs() if r.run_id not in before]
    assert follow_up.conf == {"max_logs_per_run": 250, "batch_size": 50}
    assert str(follow_up.state) == "queued"  # the scheduler starts it as soon as max_active_runs allows

    assert run().state == "success"  # reads the rest: caught up
    assert [r.run_id for r in _drain_runs() if r.run_id not in before | {follow_up.run_id}] == []
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
