"""The fetch step's door: a run's conf may hold only the declared params, and a selecting param makes it one-off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException

from auth0_log_webhooks.contracts import RunSummary
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API, Pipeline
from auth0_log_webhooks.pipelines.run_params import UndeclaredParamError
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.task_io import RUN_SUMMARY
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import commit_checkpoint
from auth0_log_webhooks.steps.deliver import deliver_chunk
from auth0_log_webhooks.steps.fetch import RunParamsRefusedError, fetch, fetch_logs
from tests.builders import staging_of, staging_url_of
from tests.memory import MemoryReceiver, MemoryTenant, sender_for

pytestmark = pytest.mark.unit


class CountingTenant(MemoryTenant):
    """A tenant that counts the requests a fetch makes."""

    reads = 0

    def iter_log_pages(self, from_: str) -> Any:
        self.reads += 1
        return super().iter_log_pages(from_)

    def oldest_log(self) -> dict[str, Any] | None:
        self.reads += 1
        return super().oldest_log()


class NoTaskIO:
    def keep(self, key: str, value: Any) -> None:
        raise AssertionError("a refused fetch keeps nothing")


@pytest.fixture
def variables(tmp_path: Path) -> InMemoryVariables:
    storage = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    return InMemoryVariables(
        {AUTHENTICATION_API.config_variable: json.dumps(storage), MANAGEMENT_API.config_variable: json.dumps(storage)}
    )


def management_logs(tenant: MemoryTenant, count: int) -> list[str]:
    ids = tenant.add(["sapi"] * count)
    for log in tenant.logs[-count:]:
        log["details"] = {"request": {"path": "/api/v2/users", "method": "patch"}, "response": {"statusCode": 200}}
    return ids


def run_through(
    pipeline: Pipeline,
    run: RunInfo,
    params: Any,
    variables: InMemoryVariables,
    tenant: MemoryTenant,
    receiver: MemoryReceiver,
) -> RunSummary:
    chunks = fetch_logs(pipeline, run, params, variables=variables, hook=tenant)["chunks"]
    config = PipelineConfig.model_validate(staging_of(pipeline, run, variables).read_plan()["config"])
    sender = sender_for(receiver, config)
    for chunk in chunks:
        deliver_chunk(pipeline, run, chunk, sender=sender)
    return commit_checkpoint(pipeline, run, staging_url_of(pipeline, variables), variables=variables)


@pytest.mark.parametrize(
    "conf",
    [{"api_endpoints": "no-such-endpoint"}, {"staging_url": "file:///tmp/elsewhere"}, {"dead_letter_url": "s3://x"}],
    ids=["other-kinds-filter", "staging_url", "dead_letter_url"],
)
def test_an_undeclared_key_fails_the_run_before_it_reads_anything(
    variables: InMemoryVariables, conf: dict[str, Any], tmp_path: Path
) -> None:
    tenant = CountingTenant()
    tenant.add(["s"] * 20)
    run = RunInfo(dag_id=AUTHENTICATION_API.dag_id, run_id="manual__conf")

    with pytest.raises(UndeclaredParamError, match=f"the key '{next(iter(conf))}'"):
        fetch_logs(AUTHENTICATION_API, run, {"batch_size": None, **conf}, variables=variables, hook=tenant)
    with pytest.raises(RunParamsRefusedError) as refused:  # in the DAG's task: failed at once, no retries
        fetch(AUTHENTICATION_API, run, conf, NoTaskIO(), variables=variables, hook=tenant)  # type: ignore[arg-type]

    assert isinstance(refused.value, AirflowFailException)
    assert tenant.reads == 0
    assert not (tmp_path / "staging").exists()
    assert not list(tmp_path.glob("**/*.json"))


@pytest.mark.parametrize(
    "conf", [{"api_endpoints": "no-such-endpoint"}, {"endpoint_match": "substring"}], ids=["endpoints", "match"]
)
def test_a_management_run_narrowed_by_conf_is_one_off_and_the_next_run_delivers_every_log(
    variables: InMemoryVariables, conf: dict[str, Any]
) -> None:
    """The issue's loss: a run selecting no endpoint delivered 0 and committed; the next run delivered 0 too."""
    tenant, receiver = MemoryTenant(), MemoryReceiver()
    variables.set(
        MANAGEMENT_API.config_variable,
        json.dumps({**json.loads(variables.get(MANAGEMENT_API.config_variable) or "{}"), "api_endpoints": "users"}),
    )
    ids = management_logs(tenant, 40)
    variables.set(MANAGEMENT_API.checkpoint_variable, ids[0])

    run_through(MANAGEMENT_API, RunInfo(MANAGEMENT_API.dag_id, "manual__narrow"), conf, variables, tenant, receiver)

    assert variables.get(MANAGEMENT_API.checkpoint_variable) == ids[0]  # one-off: the checkpoint stays
    plain = RunInfo(MANAGEMENT_API.dag_id, "scheduled__next")
    run_through(MANAGEMENT_API, plain, None, variables, tenant, receiver)
    assert set(ids[1:]) <= receiver.delivered()
    assert variables.get(MANAGEMENT_API.checkpoint_variable) == ids[-1]


def test_json_typed_params_resolve_like_the_forms_text(variables: InMemoryVariables) -> None:
    tenant = MemoryTenant()
    tenant.add(["s", "f", "fp"] * 5)
    typed = RunInfo(AUTHENTICATION_API.dag_id, "manual__typed")
    text = RunInfo(AUTHENTICATION_API.dag_id, "manual__text")

    fetch_logs(
        AUTHENTICATION_API, typed, {"send_as_batch": False, "log_types": ["s", "f"]}, variables=variables, hook=tenant
    )
    fetch_logs(
        AUTHENTICATION_API, text, {"send_as_batch": "false", "log_types": "s,f"}, variables=variables, hook=tenant
    )

    plans = [staging_of(AUTHENTICATION_API, run, variables).read_plan() for run in (typed, text)]
    assert plans[0]["config"] == plans[1]["config"]
    assert (plans[0]["config"]["send_as_batch"], plans[0]["config"]["log_types"]) == (False, ["s", "f"])
    assert plans[0]["mode"] == plans[1]["mode"] == "one_off"
    assert plans[0]["selected"] == 10


def _tasks_mapped(pipeline: Pipeline, variables: InMemoryVariables, tenant: MemoryTenant, run_id: str) -> int:
    run = RunInfo(dag_id=pipeline.dag_id, run_id=run_id)
    return len(fetch_logs(pipeline, run, None, variables=variables, hook=tenant)["chunks"])


def test_a_large_run_maps_one_delivery_task_per_slot_of_the_pipelines_pool(
    variables: InMemoryVariables, tmp_path: Path
) -> None:
    tenant = MemoryTenant()
    tenant.add(["s"] * 400)
    storage = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")
    variables.set(
        AUTHENTICATION_API.config_variable, json.dumps({**storage, "batch_size": 1, "min_batches_per_task": 1})
    )

    assert _tasks_mapped(AUTHENTICATION_API, variables, tenant, "manual__default") == 5  # the default pool's slots
    wider = Pipeline(**{**AUTHENTICATION_API.__dict__, "pool_slots": 12})
    assert _tasks_mapped(wider, variables, tenant, "manual__wider") == 12


def test_an_explicit_max_delivery_tasks_still_wins_over_the_pools_slots(variables: InMemoryVariables) -> None:
    tenant = MemoryTenant()
    tenant.add(["s"] * 400)
    storage = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")
    settings = {**storage, "batch_size": 1, "min_batches_per_task": 1, "max_delivery_tasks": 16}
    variables.set(AUTHENTICATION_API.config_variable, json.dumps(settings))

    assert _tasks_mapped(AUTHENTICATION_API, variables, tenant, "manual__explicit") == 16


class LiveTenant(MemoryTenant):
    """A tenant whose client id the fetch knows, as the Auth0 hook's."""

    client_id = "pipeline-client"


def _live_run(
    variables: InMemoryVariables, mode: str, dates: list[str], types: list[str], *, started: bool = True
) -> tuple[Any, RunSummary]:
    from datetime import UTC, datetime

    tenant = LiveTenant()
    checkpoint = tenant.add(["s"])[0]  # the run reads on from here
    tenant.add(types)
    for log, date in zip(tenant.logs[-len(dates) :], dates, strict=True):
        log["date"] = date
        log["client_id"] = "pipeline-client" if log["type"] == "seccft" else "someone"
    pipeline = Pipeline(**{**AUTHENTICATION_API.__dict__, "mode": mode})
    variables.set(pipeline.checkpoint_variable, checkpoint)
    run = RunInfo(
        dag_id=pipeline.dag_id,
        run_id=f"manual__{mode}",
        started=datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC) if started else None,
    )
    summary = run_through(pipeline, run, None, variables, tenant, MemoryReceiver())
    return staging_of(pipeline, run, variables).read_plan(), summary


def test_an_event_mode_run_that_read_a_log_written_after_it_started_says_so_and_its_summary_asks_for_the_next(
    variables: InMemoryVariables,
) -> None:
    plan, summary = _live_run(variables, "event", ["2026-12-04T11:59:50Z", "2026-12-04T12:00:01Z"], ["s", "s"])

    assert plan["live"] is True
    assert summary.get("live") is True


@pytest.mark.parametrize(
    ("mode", "dates", "types", "started"),
    [
        ("event", ["2026-12-04T11:59:50Z", "2026-12-04T11:59:59Z"], ["s", "s"], True),
        ("event", ["2026-12-04T11:59:50Z", "2026-12-04T12:00:01Z"], ["s", "seccft"], True),
        ("cron", ["2026-12-04T11:59:50Z", "2026-12-04T12:00:01Z"], ["s", "s"], True),
        ("event", ["2026-12-04T11:59:50Z", "2026-12-04T12:00:01Z"], ["s", "s"], False),
    ],
    ids=["logs-before-the-start", "own-token-exchange", "cron-mode", "start-unknown"],
)
def test_a_run_reads_no_live_traffic_from_older_logs_its_own_traffic_in_cron_mode_or_without_a_start(
    variables: InMemoryVariables, mode: str, dates: list[str], types: list[str], started: bool
) -> None:
    plan, summary = _live_run(variables, mode, dates, types, started=started)

    assert plan["live"] is False
    assert "live" not in summary


def test_a_fetch_that_leaves_nothing_commits_the_run_and_skips_deliver_and_commit_and_one_with_chunks_does_not(
    variables: InMemoryVariables, caplog: pytest.LogCaptureFixture
) -> None:
    from auth0_log_webhooks.run.task_io import RunRecord

    tenant = MemoryTenant()
    storage = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")
    settings = {**storage, "batch_size": 1, "min_batches_per_task": 1, "deliver_while_fetching": False}
    variables.set(AUTHENTICATION_API.config_variable, json.dumps(settings))
    filtered, busy = RunRecord(), RunRecord()

    def fetched(run_id: str, record: RunRecord) -> list[Any]:
        run = RunInfo(AUTHENTICATION_API.dag_id, run_id)
        return list(fetch(AUTHENTICATION_API, run, None, record.task("fetch"), variables=variables, hook=tenant))

    read = management_logs(tenant, 3)  # read, and left out by the Authentication API pipeline's filter
    with caplog.at_level("INFO"):
        nothing = fetched("manual__filtered", filtered)
    assert (
        "Nothing is left for the delivery tasks or the commit task, so this task committed the run itself and "
        "skips both" in caplog.text
    )
    caplog.clear()
    tenant.add(["s"] * 20)
    with caplog.at_level("INFO"):
        some = fetched("manual__busy", busy)
    assert "skip" not in caplog.text

    assert (nothing, filtered.skipped, filtered.task("commit").kept("fetch", "return_value")) == (
        [],
        ["deliver", "commit"],
        [],
    )
    summary = filtered.task("commit").kept("fetch", RUN_SUMMARY)
    assert (summary["read"], summary["filtered"], summary["checkpoint"]) == (3, 3, read[-1])
    assert [extra["run_id"] for extra in filtered.extras] == ["manual__filtered"]
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) == read[-1]
    assert len(some) == 5
    assert (busy.skipped, busy.extras, busy.task("commit").kept("fetch", RUN_SUMMARY)) == ([], [], None)


def test_a_fetch_that_leaves_no_chunk_but_a_follow_up_skips_only_deliver_and_the_commit_task_drains_on(
    variables: InMemoryVariables, caplog: pytest.LogCaptureFixture
) -> None:
    from auth0_log_webhooks.run.task_io import RunRecord
    from auth0_log_webhooks.steps.commit import commit

    tenant = MemoryTenant()
    storage = json.loads(variables.get(AUTHENTICATION_API.config_variable) or "{}")
    variables.set(AUTHENTICATION_API.config_variable, json.dumps({**storage, "max_logs_per_run": 2}))
    read = management_logs(tenant, 3)  # 2 read (the cap), both left out by the filter; one more waits
    record = RunRecord()
    run = RunInfo(AUTHENTICATION_API.dag_id, "manual__capped")

    with caplog.at_level("INFO"):
        chunks = fetch(AUTHENTICATION_API, run, None, record.task("fetch"), variables=variables, hook=tenant)

    assert "No batch is left for delivery tasks, so deliver is skipped and the commit runs next" in caplog.text
    assert (chunks, record.skipped, record.task("commit").kept("fetch", RUN_SUMMARY)) == ([], ["deliver"], None)
    assert variables.get(AUTHENTICATION_API.checkpoint_variable) is None
    summary = commit(AUTHENTICATION_API, run, None, record.task("commit"), variables=variables)
    assert (summary["checkpoint"], summary["more_to_read"]) == (read[1], True)
    assert len(record.follow_ups) == 1
