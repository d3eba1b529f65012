"""Secrets never reach task logs: scanned after every other end-to-end test has run its DAG runs."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_no_secret_appears_in_any_task_log(stack: Stack):
    logs = list((stack.airflow.home / "logs").rglob("*.log"))
    assert logs, "the previous test's runs left task logs"
    for path in logs:
        text = path.read_text(errors="replace")
        for secret in stack.secrets():
            assert secret not in text, f"a secret leaked into {path}"
