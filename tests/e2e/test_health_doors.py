"""Two doors of the health page, taken in Chromium as a person would, against the shared stack's real Airflow.

* The "Trace a log" box: a person types a log id and presses Trace. A delivered log shows the message
  that carried it (its webhook-id, the id the receiver saw), its run and the HTTP 200; a dead-lettered
  log shows the refusal, the dead letter's entry and how to replay it; a value that is not a log id,
  and a well-formed id the tenant does not have, each get a sentence saying what it means and what to check.
* The Resume button of a pipeline that auto-pause paused: pressing it deletes the auto-pause Variable,
  the page says so, and the next run delivers every log waiting since the checkpoint, once.

The read-only user's side of the Resume button needs per-DAG permissions and is in
tests/e2e/test_health_permissions.py. Screenshots (full pages) go to ``artifacts/screenshots/doors-*.png``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.delivery.auto_pause import state_variable
from auth0_log_webhooks.delivery.failure_advice import REPLAY_DAG_ID
from auth0_log_webhooks.log_ids import cursor_for_time, time_of
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from tests.e2e.conftest import Stack
from tests.e2e.test_auto_pause import forget_failures
from tests.e2e.test_browser import SHOTS, browser, failed_run, page  # noqa: F401 (fixtures)
from tests.e2e.test_notifications import configure

pytestmark = pytest.mark.e2e

DAG_ID = AUTHENTICATION_API.dag_id
STATE = state_variable(DAG_ID)
HEALTH = "/log-webhooks-health/"
WAIT_MS = 60_000  # a loaded machine's API server may take many seconds to answer a page


def full_shot(page: Any, name: str) -> Path:  # noqa: F811 (page is the fixture's value)
    """Save a screenshot of the whole page as ``doors-<name>.png`` and return its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"doors-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def trace_from_the_health_page(page: Any, stack: Stack, typed: str, name: str) -> str:  # noqa: F811
    """Type ``typed`` into the health page's trace box, press Trace; return the text of the answer's body."""
    page.goto(f"{stack.airflow.url}{HEALTH}", wait_until="networkidle", timeout=WAIT_MS)
    page.get_by_label("Trace a log").fill(typed)
    page.get_by_role("button", name="Trace", exact=True).click()
    page.wait_for_url("**/log-webhooks-health/trace?log_id=*", timeout=WAIT_MS)
    page.get_by_role("heading", name="Auth0 log webhooks: trace a log").wait_for(timeout=WAIT_MS)
    full_shot(page, f"trace-{name}")
    assert page.get_by_label("Trace a log").input_value() in (typed.strip(), "")  # the box keeps a log id
    return str(page.inner_text("body"))


def answer_of(page: Any, dag_id: str) -> str:  # noqa: F811
    """The trace answer's section of one pipeline, as text (heading first)."""
    return str(page.locator(f"section.trace#{dag_id}").inner_text())


def last_hook_request(stack: Stack, status: int) -> dict[str, Any]:
    """The webhook request the sink answered last with ``status`` (its headers, log ids and answer)."""
    requests = [r for r in stack.sink.state.requests(limit=100_000) if r["path"].endswith("/hook")]
    matching = [r for r in requests if r["status"] == status and r["log_ids"]]
    assert matching, f"the sink answered no webhook request with HTTP {status}"
    return matching[-1]


def test_a_delivered_log_traced_from_the_health_page_shows_its_webhook_id_run_and_answer(
    stack: Stack,
    page: Any,  # noqa: F811
) -> None:
    checkpoint = stack.fresh_start()
    stack.tenant.add_logs(30)
    run = stack.airflow.trigger(DAG_ID)
    assert stack.airflow.wait_for_run(DAG_ID, run, timeout=600) == "success"
    request = last_hook_request(stack, 200)
    log_id, webhook_id = request["log_ids"][-1], request["headers"]["webhook-id"]
    assert log_id in stack.selected_after(checkpoint)

    trace_from_the_health_page(page, stack, f"  {log_id} ", "delivered")  # pasted with spaces around
    said = answer_of(page, DAG_ID)

    assert said.startswith(f"{DAG_ID}: delivered"), said
    assert f"Message {webhook_id} (the webhook-id header) carried it in run {run}" in said
    assert "Attempt 1 at " in said
    assert "got HTTP 200 after " in said
    assert "It was delivered at " in said
    assert f"(message {webhook_id}, run {run})." in said


def test_a_dead_lettered_log_traced_from_the_health_page_shows_the_refusal_and_how_to_replay_it(
    stack: Stack,
    page: Any,  # noqa: F811
) -> None:
    run = failed_run(stack)  # the webhook refused every message for good: HTTP 400, one attempt
    request = last_hook_request(stack, 400)
    log_id, webhook_id = request["log_ids"][0], request["headers"]["webhook-id"]

    trace_from_the_health_page(page, stack, log_id, "dead-letter")
    said = answer_of(page, DAG_ID)

    assert said.startswith(f"{DAG_ID}: a dead letter"), said
    assert f"Message {webhook_id} (the webhook-id header) carried it in run {run}" in said
    assert "got HTTP 400 after " in said
    assert "refused for good" in said
    assert f"It was not delivered: it is a dead letter, kept as {DAG_ID}/{webhook_id} in " in said
    assert f"replay it by triggering the DAG {REPLAY_DAG_ID} with the config " in said
    assert json.dumps({"pipeline": DAG_ID, "entries": [f"{DAG_ID}/{webhook_id}"]}) in said


def test_a_value_that_is_not_a_log_id_gets_a_sentence_saying_what_a_log_id_is(
    stack: Stack,
    page: Any,  # noqa: F811
) -> None:
    body = trace_from_the_health_page(page, stack, "msg_not-a-log-id", "not-a-log-id")

    error = page.locator("p.error").inner_text()
    assert error.startswith("That is not an Auth0 log id: a log id is 56 digits starting with 900 (the value given")
    assert "has 16 characters). Copy it from the log's log_id field" in error
    assert "msg_not-a-log-id" not in error  # the value is never echoed into the sentence
    assert page.locator("section.trace").count() == 0
    assert "Back to the health page" in body


def test_a_log_id_auth0_does_not_have_gets_a_sentence_saying_so_and_what_to_check(
    stack: Stack,
    page: Any,  # noqa: F811
) -> None:
    oldest = time_of(stack.tenant.all_log_ids()[0])
    unknown = cursor_for_time(oldest - timedelta(days=20))  # well formed; no run read it and the tenant never had it

    trace_from_the_health_page(page, stack, unknown, "unknown")
    said = answer_of(page, DAG_ID)

    assert said.startswith(f"{DAG_ID}: no such log in Auth0"), said
    assert (
        f"Auth0 has no log {unknown} ({oldest - timedelta(days=20):%Y-%m-%d %H:%M:%S} UTC) on the connection "
        f"{AUTHENTICATION_API.auth0_conn_id} that pipeline {DAG_ID} reads, and no run of {DAG_ID} is recorded "
        "reading it, so there is nothing to send."
    ) in said
    assert "Check that the id was copied whole and comes from this tenant." in said
    assert "start_from" not in said  # not told to send what does not exist


@pytest.fixture
def pausable(stack: Stack) -> Iterator[None]:
    """No auto-pause state before or after the test; the pipeline's settings and the sink's faults put back after."""
    forget_failures(stack)
    config = stack.airflow.variable(AUTHENTICATION_API.config_variable) or "{}"
    yield
    stack.sink.state.clear_faults()
    stack.airflow.set_variable(AUTHENTICATION_API.config_variable, config)
    forget_failures(stack)


def test_an_admin_presses_resume_the_page_says_so_and_the_next_run_delivers_every_waiting_log_once(
    stack: Stack,
    page: Any,  # noqa: F811
    pausable: None,
) -> None:
    airflow = stack.airflow
    checkpoint = stack.fresh_start()
    configure(stack, pause_after_failures=1, batch_size=50)
    stack.tenant.add_logs(60)
    stack.sink.state.add_faults({"status": 401})  # refused: the run's circuit opens at its first message
    run = airflow.trigger(DAG_ID)
    assert airflow.wait_for_run(DAG_ID, run, timeout=600) == "failed"
    assert json.loads(airflow.variable(STATE) or "{}").get("paused_at"), airflow.variable(STATE)
    stack.sink.state.clear_faults()  # the receiver is fixed; the pipeline stays paused until resumed

    page.goto(f"{airflow.url}{HEALTH}", wait_until="networkidle", timeout=WAIT_MS)
    section = page.locator(f"section#{DAG_ID}")
    paused = section.locator("div.paused")
    assert paused.inner_text().startswith(f"Paused. {DAG_ID} is paused since ")
    assert "after 1 failing message (the last: HTTP 401)" in paused.inner_text()
    full_shot(page, "resume-paused")

    section.get_by_role("button", name=f"Resume {DAG_ID}").click()
    resumed = section.locator("div.resumed")
    resumed.wait_for(timeout=WAIT_MS)
    full_shot(page, "resume-pressed")
    said = resumed.inner_text()
    assert said.startswith(f"Resumed {DAG_ID}: it was paused since "), said
    assert "is paused since" not in section.inner_text()  # the paused sentence no longer stands
    assert "after 1 failing message. Its next run delivers every log from the checkpoint at " in said
    assert f"(airflow dags trigger {DAG_ID})" in said  # the command shows as code, not between backticks
    assert resumed.locator("code").inner_text() == f"airflow dags trigger {DAG_ID}"
    assert airflow.variable(STATE) is None

    page.reload(wait_until="networkidle", timeout=WAIT_MS)
    assert section.locator("div.paused").count() == 0
    assert section.get_by_role("button", name=f"Resume {DAG_ID}").count() == 0

    caught_up = airflow.trigger(DAG_ID)
    assert airflow.wait_for_run(DAG_ID, caught_up, timeout=600) == "success"
    assert Counter(stack.sink.state.log_ids()) == Counter(stack.selected_after(checkpoint))  # every log, once
    assert airflow.variable(AUTHENTICATION_API.checkpoint_variable) == stack.tenant.all_log_ids()[-1]
