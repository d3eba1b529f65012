"""Secrets never reach task logs: scanned after every other end-to-end test has run its DAG runs.

The scan is marked ``scans_task_logs``; tests/e2e/conftest.py moves it after every other test, so
it does not depend on this file's name sorting last, and it checks that it did run last.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def leaked_secrets(logs: Path, secrets: Sequence[str]) -> list[str]:
    """Return "secret #n in <path>" for each secret found in a ``*.log`` under ``logs`` (never the secret)."""
    found = []
    for path in sorted(logs.rglob("*.log")):
        text = path.read_text(errors="replace")
        found += [f"secret #{n} in {path}" for n, secret in enumerate(secrets, 1) if secret in text]
    return found


@pytest.mark.slow
@pytest.mark.scans_task_logs
def test_no_secret_appears_in_any_task_log(stack: Stack, request: pytest.FixtureRequest) -> None:
    items = request.session.items
    later = [item.nodeid for item in items[items.index(request.node) + 1 :] if item.get_closest_marker("e2e")]
    assert not later, f"the scan must run after every other e2e test, not before {later}"
    logs = stack.airflow.home / "logs"
    assert list(logs.rglob("*.log")), "the DAG runs left task logs"
    assert not leaked_secrets(logs, stack.secrets())


def test_scan_names_the_task_log_a_secret_was_written_into(tmp_path: Path) -> None:
    task = tmp_path / "dag_id=d" / "run_id=r" / "task_id=deliver"
    task.mkdir(parents=True)
    (task / "attempt=1.log").write_text("POST http://127.0.0.1/hook: 200\n")
    (task / "attempt=2.log").write_text("headers: {'Authorization': 'Bearer e2e-webhook-credential'}\n")
    (task / "notes.txt").write_text("e2e-webhook-credential")  # not a task log

    found = leaked_secrets(tmp_path, ["whsec_abc", "e2e-webhook-credential"])

    assert found == [f"secret #2 in {task / 'attempt=2.log'}"]


def test_scan_finds_nothing_when_no_task_log_holds_a_secret(tmp_path: Path) -> None:
    (tmp_path / "attempt=1.log").write_text("delivered 100 logs\n")

    assert leaked_secrets(tmp_path, ["whsec_abc", "e2e-webhook-credential"]) == []
