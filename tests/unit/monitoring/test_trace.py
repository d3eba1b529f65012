"""The trace's answers, from a delivery log written here and a scripted tenant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.monitoring.trace import InvalidLogIdError, PipelineTrace, left_out_because, trace
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API, Pipeline
from auth0_log_webhooks.run.delivery_log import DeliveryLog, Journal, record_read
from auth0_log_webhooks.run.variables import InMemoryVariables
from tests.builders import log, log_id

pytestmark = pytest.mark.unit

PIPELINE = AUTHENTICATION_API
AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def variables(tmp_path: Path, checkpoint: str | None = None, **settings: Any) -> InMemoryVariables:
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead", **settings}
    values = {PIPELINE.config_variable: json.dumps(config)}
    if checkpoint:
        values[PIPELINE.checkpoint_variable] = checkpoint
    return InMemoryVariables(values)


def read(tmp_path: Path, after: int, through: int, **filters: Any) -> None:
    record_read(
        DeliveryLog(f"file://{tmp_path}/staging", PIPELINE.dag_id, 30),
        run_id="scheduled__1",
        after=log_id(after),
        through=log_id(through),
        fetched=through - after,
        selected=1,
        mode="checkpoint",
        settings=filters,
    )


def traced(
    number: int, store: InMemoryVariables, tenant: Mapping[str, Mapping[str, Any]] | None = None
) -> PipelineTrace:
    (found,) = trace(
        log_id(number), {PIPELINE.dag_id: PIPELINE}, store, fetch_log=lambda _, wanted: (tenant or {}).get(wanted)
    )
    return found


def test_a_log_below_the_level_says_the_level_and_the_setting(tmp_path: Path) -> None:
    read(tmp_path, 0, 10, log_level=3)
    tenant = {log_id(5): log(5, "s")}

    found = traced(5, variables(tmp_path, log_id(10)), tenant)

    assert found.verdict == "filtered"
    assert "its level, info (1), is below log_level 3 (error)" in found.text
    assert "run scheduled__1" in found.text


def test_the_filters_of_the_run_that_read_it_decide_not_todays(tmp_path: Path) -> None:
    read(tmp_path, 0, 10, log_types=["f"])
    tenant = {log_id(5): log(5, "s")}

    found = traced(5, variables(tmp_path, log_id(10), log_types=["s"]), tenant)

    assert found.verdict == "filtered"
    assert "its type 's' is not among log_types (f)" in found.text


def test_a_selected_log_with_no_attempt_says_where_to_look(tmp_path: Path) -> None:
    read(tmp_path, 0, 10)
    found = traced(5, variables(tmp_path), {log_id(5): log(5, "s")})

    assert found.verdict == "read_not_sent"
    assert "Its filters selected it, but no attempt to send it is on record" in found.text


def test_a_message_not_delivered_and_not_kept_says_so(tmp_path: Path) -> None:
    journal = Journal(DeliveryLog(f"file://{tmp_path}/staging", PIPELINE.dag_id, 30), "scheduled__1")
    journal.record(
        message_id="msg_" + "a" * 40,
        log_ids=[log_id(1), log_id(9)],
        attempt=1,
        status=None,
        verdict="retry",
        error="no answer within 30s",
        latency_ms=30000,
        excerpt="",
    )
    journal.flush()

    found = traced(5, variables(tmp_path), tenant=None)

    assert found.verdict == "not_delivered"
    assert "got no answer within 30s after 30,000 ms" in found.text
    assert "no dead letter is kept for it" in found.text


def test_a_log_after_the_checkpoint_is_not_read_yet(tmp_path: Path) -> None:
    tenant = {log_id(50): log(50, "s")}
    assert traced(50, variables(tmp_path, log_id(10)), tenant).verdict == "not_read_yet"
    assert "the next run reads it" in traced(50, variables(tmp_path, log_id(10)), tenant).text.lower()
    assert "has no checkpoint yet" in traced(50, variables(tmp_path), tenant).text


def test_a_log_before_the_checkpoint_with_no_records_names_the_retention(tmp_path: Path) -> None:
    found = traced(5, variables(tmp_path, log_id(10), delivery_log_retention_days=7), {log_id(5): log(5, "s")})

    assert found.verdict == "before_checkpoint"
    assert "older than the delivery log keeps (7 days)" in found.text


def test_a_log_between_runs_on_record_says_the_checkpoint_was_moved(tmp_path: Path) -> None:
    read(tmp_path, 0, 3)
    read(tmp_path, 8, 10)

    found = traced(5, variables(tmp_path, log_id(10)), {log_id(5): log(5, "s")})

    assert found.verdict == "before_checkpoint"
    assert "the checkpoint was moved past it by hand" in found.text


@pytest.mark.parametrize("checkpoint", [10, 90], ids=["before the checkpoint", "after the checkpoint"])
def test_a_log_no_run_read_and_auth0_does_not_have_says_so_not_how_to_send_it(tmp_path: Path, checkpoint: int) -> None:
    read(tmp_path, 0, 3)

    found = traced(5, variables(tmp_path, log_id(checkpoint), delivery_log_retention_days=7), tenant={})

    assert found.verdict == "not_in_tenant"
    assert found.text.startswith(
        f"Auth0 has no log {log_id(5)} (2026-11-26 05:00:00 UTC) on the connection auth0_default that pipeline "
        f"{PIPELINE.dag_id} reads, and no run of {PIPELINE.dag_id} is recorded reading it, so there is nothing to send."
    )
    assert "Check that the id was copied whole and comes from this tenant." in found.text
    assert "older than the delivery log's records (kept 7 days)" in found.text
    assert "start_from" not in found.text


def test_when_asking_auth0_fails_or_is_not_possible_the_trace_does_not_claim_the_log_is_missing(
    tmp_path: Path,
) -> None:
    def failing(pipeline: Pipeline, wanted: str) -> Mapping[str, Any] | None:
        raise ConnectionError("tenant unreachable")

    store = variables(tmp_path, log_id(10))
    (unreachable,) = trace(log_id(5), {PIPELINE.dag_id: PIPELINE}, store, fetch_log=failing)
    (unasked,) = trace(log_id(5), {PIPELINE.dag_id: PIPELINE}, store)

    assert unreachable.verdict == unasked.verdict == "before_checkpoint"


def test_no_delivery_log_says_which_setting_keeps_one(tmp_path: Path) -> None:
    found = traced(5, variables(tmp_path, log_id(10), delivery_log_retention_days=0))

    assert found.verdict == "no_delivery_log"
    assert "set delivery_log_retention_days" in found.text


def test_a_value_that_is_not_a_log_id_is_refused_without_repeating_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidLogIdError, match="56 digits") as refused:
        trace("jane@example.com", {PIPELINE.dag_id: PIPELINE}, variables(tmp_path))
    assert "jane" not in str(refused.value)


@pytest.mark.parametrize(
    ("pipeline", "filters", "event", "reason"),
    [
        (AUTHENTICATION_API, {}, {"type": "sapi"}, "is a Management API operation"),
        (AUTHENTICATION_API, {"log_categories": ["auth.login.fail"]}, {"type": "s"}, "not among log_categories"),
        (MANAGEMENT_API, {}, {"type": "s"}, "a management pipeline delivers Management API operations only"),
        (
            MANAGEMENT_API,
            {"api_endpoints": ["clients"]},
            {"type": "sapi", "details": {"request": {"path": "/api/v2/users/auth0|jane"}}},
            "matches none of api_endpoints (clients, matched by segment)",
        ),
    ],
)
def test_why_a_filter_left_a_log_out(
    pipeline: Pipeline, filters: dict[str, Any], event: dict[str, Any], reason: str
) -> None:
    said = left_out_because(pipeline, filters, event)
    assert said is not None
    assert reason in said
    assert "jane" not in said  # the log's content (a user id in the path) is never shown


def test_a_log_the_filters_select_has_no_reason() -> None:
    assert left_out_because(AUTHENTICATION_API, {}, {"type": "s"}) is None


def test_a_pipeline_with_invalid_settings_says_so_and_the_others_still_answer(tmp_path: Path) -> None:
    store = variables(tmp_path, log_id(10))
    other = Pipeline(dag_id="tenant_b_logs", title="B")
    store.set(other.config_variable, '{"batch_size": 0}')

    broken, fine = trace(log_id(50), {other.dag_id: other, PIPELINE.dag_id: PIPELINE}, store)

    assert broken.verdict == "unavailable"
    assert "Variable tenant_b_logs_config is invalid: batch_size" in broken.text
    assert fine.verdict == "not_read_yet"
