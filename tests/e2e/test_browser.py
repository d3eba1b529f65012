"""The Airflow UI in a real browser (Debian's Chromium driven by Playwright), screenshots kept as artifacts.

What a person sees: a failed run's reason and next step without scrolling sideways, the health page
with the stack's real numbers, the webhook connection form and the trigger form. Screenshots go to
``artifacts/screenshots/`` (gitignored). Skipped, saying why, when Chromium or Playwright is missing
(`make test-e2e` installs Chromium when it is missing).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from dev.airflow_env import connection_json
from tests.conftest import REPO
from tests.e2e.conftest import WEBHOOK_AUTHORIZATION, Stack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = REPO / "artifacts" / "screenshots"
DAG_ID = AUTHENTICATION_API.dag_id
VIEWPORT = {"width": 1366, "height": 900}  # a laptop screen
# The right edge, in page pixels, of the rendered line holding the first occurrence of a text: a DOM
# Range from the text to the end of its line (the next newline, or the end of the text node).
RIGHT_EDGE_OF_LINE = """(text) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(text);
    if (at < 0) continue;
    const newline = node.data.indexOf("\\n", at);
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, newline < 0 ? node.data.length : newline);
    return Math.max(...Array.from(range.getClientRects(), (r) => r.right));
  }
  return null;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make install)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A page signed in to the stack's Airflow (its simple auth manager makes everyone an admin)."""
    context = browser.new_context(viewport=VIEWPORT)
    tab = context.new_page()
    tab.goto(f"{stack.airflow.url}/", wait_until="networkidle")
    yield tab
    context.close()


def shot(page: Any, name: str) -> Path:
    """Save a screenshot of the viewport and return its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def failed_run(stack: Stack) -> str:
    """Make a run whose webhook refuses every batch for good (dead letters) and return its id."""
    airflow = stack.airflow
    stack.fresh_start()
    config = airflow.variable(AUTHENTICATION_API.config_variable) or "{}"
    stack.sink.state.add_faults({"status": 400})  # refused for good: dead letters (410 would open the circuit)
    airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps({**json.loads(config), "max_attempts": 1}))
    stack.tenant.add_logs(20)
    try:
        run = airflow.trigger(DAG_ID)
        assert airflow.wait_for_run(DAG_ID, run, timeout=300) == "failed"
    finally:
        stack.sink.state.clear_faults()
        airflow.set_variable(AUTHENTICATION_API.config_variable, config)
    return run


def test_a_failed_runs_reason_and_next_step_are_readable_without_scrolling_sideways(stack: Stack, page: Any) -> None:
    run = failed_run(stack)
    page.goto(f"{stack.airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/commit", wait_until="networkidle")
    page.get_by_text("not delivered (HTTP 400)").first.wait_for(timeout=60_000)
    shot(page, "failed-run")
    # What happened, why, where to look and the next step with its replay config, every line of them;
    # only the dead letters' location (last, on its own line) may be longer than the screen.
    for text in (
        "not delivered (HTTP 400); kept as 1 dead letter.",
        "Reason: ",
        "Logs: ",
        "Next step: fix the webhook, then trigger",
        "auth0_webhooks_replay with this config",
        f'"pipeline": "{DAG_ID}"',
        f'"{DAG_ID}/msg_',  # the entry's line, to its end
        "Dead letters are kept in:",
    ):
        right = page.evaluate(RIGHT_EDGE_OF_LINE, text)  # where the line itself ends, not its wide block
        assert right is not None, text
        assert right <= VIEWPORT["width"] - 16, (text, right)  # readable without scrolling sideways


def test_the_health_page_shows_the_stacks_numbers(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.airflow.url}/log-webhooks-health/", wait_until="networkidle")
    answer = page.request.get(f"{stack.airflow.url}/log-webhooks-health/api")
    assert answer.ok, (answer.status, answer.text()[:300])
    pipeline = next(n for n in answer.json() if n["dag_id"] == DAG_ID)
    shot(page, "health-page")
    section = page.locator(f"section#{DAG_ID}")
    assert section.get_by_text(pipeline["checkpoint_time"]).first.is_visible()
    assert pipeline["runs_24h"] >= 1
    assert section.locator("svg.chart g").count() == pipeline["runs_24h"]


def test_the_webhook_connection_form_shows_labelled_fields(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.airflow.url}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").first.click()
    page.get_by_text("Connection Type").first.wait_for()
    chooser = page.locator("input[role=combobox]").last
    chooser.click()
    chooser.fill("Webhook endpoint")
    page.get_by_text("Webhook endpoint (Standard Webhooks)").last.click()
    page.get_by_text("Webhook URL").first.wait_for()
    shot(page, "webhook-connection-form")
    for label in ("Webhook URL", "Authorization header"):
        assert page.get_by_text(label).first.is_visible(), label
    # The form's sections are an accordion: opening "Extra Fields" may close "Standard Fields".
    page.get_by_text("Extra Fields", exact=True).first.click()  # the signing secret, timeout and TLS fields
    page.get_by_text("Signing secret(s)").first.wait_for()
    shot(page, "webhook-connection-extra-fields")
    for label in ("Signing secret(s)", "Timeout (seconds)", "Verify TLS certificates"):
        assert page.get_by_text(label).first.is_visible(), label


def test_the_trigger_form_shows_titles_and_what_empty_means(stack: Stack, page: Any) -> None:
    page.goto(f"{stack.airflow.url}/dags/{DAG_ID}", wait_until="networkidle")
    page.get_by_role("button", name="Trigger").first.click()
    page.get_by_text("Start from").first.wait_for()
    shot(page, "trigger-form")
    assert page.get_by_text("Body format").first.is_visible()
    assert page.get_by_text("null", exact=True).count() == 0


@pytest.mark.parametrize("conn_type", ["auth0_webhook", "auth0"])
def test_the_connections_list_test_button_works_for_a_connection_without_a_port(
    stack: Stack, page: Any, conn_type: str
) -> None:
    # Airflow's list sends such a connection as "port": 0; without the package's plugin (wiring/
    # connection_test_button.py) the API server answers 400 "The host or port to test differs from the stored
    # connection".
    conn_id = {"auth0": "list_test_tenant", "auth0_webhook": "list_test_webhook"}[conn_type]  # neither in the other
    if conn_type == "auth0":  # the emulator's port inside the host, as a tenant domain may carry it
        entry = {
            "conn_type": "auth0",
            "conn_host": stack.tenant.domain,
            "conn_login": stack.tenant.client_id,
            "conn_password": stack.tenant.client_secret,
            "conn_extra": {"scheme": "http"},
        }
        expected = f"Read logs of {stack.tenant.domain}."
    else:
        entry = {
            "conn_type": "auth0_webhook",
            "conn_host": f"{stack.sink.url}/hook",
            "conn_password": WEBHOOK_AUTHORIZATION,
            "conn_extra": {"signing_secret": stack.signing_secret, "allow_private_network": True},
        }
        expected = "The webhook answered HTTP 200 to a test request (signed with 1 secret, an empty batch)."
    stack.airflow.api("POST", "/connections", json=connection_json({"conn_id": conn_id, **entry}))
    page.goto(f"{stack.airflow.url}/connections", wait_until="networkidle")
    row = page.get_by_role("row").filter(has_text=conn_id)
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as tested:
        row.get_by_role("button", name="Test Connection").click()
    answer = tested.value
    assert json.loads(answer.request.post_data or "{}").get("port") == 0  # what the list sends
    assert answer.status == 200, answer.text()[:300]
    assert answer.json() == {"status": True, "message": expected}
    page.get_by_text("Test Connection Successful").first.wait_for(timeout=30_000)  # the toast, with the message
    assert page.get_by_text(expected).first.is_visible()
    shot(page, f"connections-list-test-{conn_type}")
