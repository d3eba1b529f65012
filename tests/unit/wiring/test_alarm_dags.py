"""The alarms and daily report DAGs' frames: the report's hour comes from a setting, its tag says what it is."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.wiring.alarm_dags import report_dag, report_schedule

pytestmark = pytest.mark.unit

PIPELINES = {AUTHENTICATION_API.dag_id: AUTHENTICATION_API}


@pytest.mark.parametrize(
    ("hour", "cron"),
    [(None, "0 7 * * *"), ("", "0 7 * * *"), ("18", "0 18 * * *"), ("07:30", "30 7 * * *"), (" 0 ", "0 0 * * *")],
)
def test_the_report_hour_is_a_setting(hour: str | None, cron: str) -> None:
    assert report_schedule(hour) == cron


@pytest.mark.parametrize("hour", ["24", "7pm", "-1", "07:5", "07:60", "0 7 * * *"])
def test_a_bad_report_hour_names_the_variable_and_what_to_write(hour: str) -> None:
    with pytest.raises(ValueError, match=r"AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR is .*; set it to an hour of the day"):
        report_schedule(hour)


def test_the_report_dag_runs_at_the_hour_the_environment_sets_and_is_tagged_reports(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH0_LOG_WEBHOOKS_DAILY_REPORT_HOUR", "18")
    dag = report_dag(PIPELINES, dag_id="report")
    assert str(dag.schedule) == "0 18 * * *"
    assert "reports" in dag.tags
    assert "alarms" not in dag.tags
