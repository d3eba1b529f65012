"""The UI findings of issue 19, each checked in Chromium at 1,366 px with a screenshot kept as an artifact.

The DAG list and its tags, the auth0 and webhook connection forms, the trigger and Backfill forms'
help, a delivery task stopped by the open circuit (no retries, a first line that fits, replay
advice, no return-value dump), and the health page and run page after a failed run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack
from tests.e2e.test_browser import RIGHT_EDGE_OF_LINE, VIEWPORT, browser, page, shot  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e

DAG_ID = AUTHENTICATION_API.dag_id


@pytest.fixture
def tab(request: pytest.FixtureRequest) -> Any:
    """The signed-in Chromium page of tests/e2e/test_browser.py, at 1,366 px."""
    return request.getfixturevalue("page")


def open_connection_form(tab: Any, stack: Stack, type_text: str, type_name: str) -> None:
    """Open "Add Connection" and choose a connection type."""
    tab.goto(f"{stack.airflow.url}/connections", wait_until="networkidle")
    tab.get_by_role("button", name="Add Connection").first.click()
    tab.get_by_text("Connection Type").first.wait_for()
    chooser = tab.locator("input[role=combobox]").last
    chooser.click()
    chooser.fill(type_text)
    tab.get_by_text(type_name).last.click()


def test_the_dag_list_shows_each_dags_description_and_the_report_is_tagged_reports(stack: Stack, tab: Any) -> None:
    tab.goto(f"{stack.airflow.url}/dags", wait_until="networkidle")
    tab.get_by_text(DAG_ID).first.wait_for()
    shot(tab, "dag-list")
    assert tab.get_by_text("reports", exact=True).first.is_visible()
    dag = stack.airflow.api("GET", f"/dags/{DAG_ID}")
    assert dag["description"].startswith("Ships Auth0 tenant logs")
    tab.goto(f"{stack.airflow.url}/dags/{DAG_ID}/details", wait_until="networkidle")
    tab.get_by_text(dag["description"]).first.wait_for(timeout=30_000)
    shot(tab, "dag-page-description")


def test_the_auth0_connection_forms_scheme_offers_no_null(stack: Stack, tab: Any) -> None:
    open_connection_form(tab, stack, "Auth0 Management", "Auth0 Management API")
    tab.get_by_text("Tenant domain").first.wait_for()
    tab.get_by_text("Extra Fields", exact=True).first.click()
    tab.get_by_text("Scheme").first.wait_for()
    shot(tab, "auth0-connection-extra-fields")
    assert tab.get_by_text("null", exact=True).count() == 0


def test_the_webhook_connection_form_has_the_egress_switches_with_labels_and_help(stack: Stack, tab: Any) -> None:
    open_connection_form(tab, stack, "Webhook endpoint", "Webhook endpoint (Standard Webhooks)")
    tab.get_by_text("Webhook URL").first.wait_for()
    tab.get_by_text("Extra Fields", exact=True).first.click()
    tab.get_by_text("Allow plain http").first.wait_for()
    tab.get_by_text("Allow plain http").first.scroll_into_view_if_needed()
    shot(tab, "webhook-connection-egress-fields")
    for text in ("Allow a private network address", "Allow plain http", "Off: the Webhook URL must be https"):
        assert tab.get_by_text(text).first.is_visible(), text


def test_the_trigger_and_backfill_forms_say_which_params_make_a_one_off_run(stack: Stack, tab: Any) -> None:
    tab.goto(f"{stack.airflow.url}/dags/{DAG_ID}", wait_until="networkidle")
    tab.get_by_role("button", name="Trigger").first.click()
    tab.get_by_text("Start from").first.wait_for()
    shot(tab, "trigger-form-one-off")
    assert tab.get_by_text("Set, this is a one-off run").first.is_visible()
    tab.get_by_text("Backfill", exact=True).first.click()
    tab.get_by_text("a backfill run reads its own date range").first.wait_for(timeout=30_000)
    shot(tab, "backfill-form")
    assert tab.get_by_text("after the checkpoint (the last log delivered)").count() == 0


def test_a_delivery_task_stopped_by_the_circuit_fails_once_with_a_short_first_line_and_advice(
    stack: Stack, tab: Any
) -> None:
    airflow = stack.airflow
    stack.fresh_start()
    stack.sink.state.add_faults({"status": 401})  # the receiver refuses the credentials: the circuit opens
    stack.tenant.add_logs(20)
    # This test is about the mapped delivery task's page: with the fetch's lane on (the default) the lane would
    # meet the 401 first, and the one batch would reach a delivery task only after it; pinned off, so the task
    # stops at its first batch as a person sees it without the lane (the lane's own 401 is in test_delivery_lane.py).
    config = airflow.variable(AUTHENTICATION_API.config_variable) or "{}"  # the stack always sets it
    airflow.set_variable(
        AUTHENTICATION_API.config_variable, json.dumps({**json.loads(config), "deliver_while_fetching": False})
    )
    try:
        run = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, run, timeout=300) == "failed"
    finally:
        stack.sink.state.clear_faults()
        airflow.set_variable(AUTHENTICATION_API.config_variable, config)
    (deliver,) = [ti for ti in airflow.task_instances(DAG_ID, run) if ti["task_id"] == "deliver"]
    assert (deliver["state"], deliver["try_number"]) == ("failed", 1)  # not retried: it would send nothing
    log = airflow.task_log(DAG_ID, run, "deliver", map_index=deliver["map_index"])
    assert "Not retried" in log
    assert "Returned value was" not in log
    tab.goto(f"{airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/deliver/mapped/0", wait_until="networkidle")
    tab.get_by_text("stopped sending at batch 1 of ").first.wait_for(timeout=60_000)
    shot(tab, "circuit-open-deliver-task")
    for text in (
        "Webhook answered HTTP 401: stopped sending at batch 1 of ",
        "Not retried",
        "Next step: fix the webhook",
    ):
        right = tab.evaluate(RIGHT_EDGE_OF_LINE, text)
        assert right is not None, text
        assert right <= VIEWPORT["width"] - 16, (text, right)
    tab.goto(f"{airflow.url}/dags/{DAG_ID}/runs/{run}", wait_until="networkidle")
    shot(tab, "failed-run-deadline")
    tab.goto(f"{airflow.url}/log-webhooks-health/", wait_until="networkidle")
    section = tab.locator(f"section#{DAG_ID}")
    section.get_by_text(f"run {run}: Webhook answered HTTP 401").first.wait_for(timeout=30_000)
    section.get_by_text("Last failed run:").first.scroll_into_view_if_needed()
    shot(tab, "health-page-failed-run")
    numbers = next(n for n in tab.request.get(f"{airflow.url}/log-webhooks-health/api").json() if n["dag_id"] == DAG_ID)
    assert numbers["failed_runs_24h"] >= 1
    assert json.dumps(numbers["last_failure"]).find(run) > 0


def test_a_successful_tasks_log_ends_without_its_return_value(stack: Stack) -> None:
    airflow = stack.airflow
    stack.fresh_start()
    stack.tenant.add_logs(5)
    run = airflow.trigger(DAG_ID)
    assert airflow.wait_for_run(DAG_ID, run, timeout=300) == "success"
    log = airflow.task_log(DAG_ID, run, "fetch")  # its lane sent the 5 logs: it committed the run and skipped commit
    assert "so this task committed the run itself and skips both" in log
    assert "Returned value was" not in log
