"""A deployment's DAG file is three lines: every DAG of the pipelines file, found by the DAG processor."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import cast

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk import Asset, CronDataIntervalTimetable
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API
from auth0_log_webhooks.pipelines.pipelines_file import ENV_VAR, PipelinesFileError
from auth0_log_webhooks.wiring.dag_files import check_pipelines_file

pytestmark = pytest.mark.unit

THREE_LINES = (
    '"""Auth0 log webhooks: the Airflow DAGs of every pipeline in the pipelines file."""\n'
    "from auth0_log_webhooks.wiring.dag_files import build_dags\n"
    "build_dags(globals())\n"
)
"""The DAG file docs/installing.md tells a deployment to add."""

WATCH = {"auth0_webhooks_replay", "auth0_log_webhooks_alarms", "auth0_log_webhooks_daily_report"}


@pytest.fixture
def dag_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "auth0_log_webhooks.py").write_text(THREE_LINES)
    return folder


def test_the_three_line_dag_file_builds_every_dag_of_the_default_pipelines(
    dag_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    bag = DagBag(dag_folder=str(dag_folder), safe_mode=True)
    assert bag.import_errors == {}
    assert set(bag.dags) == {AUTHENTICATION_API.dag_id, MANAGEMENT_API.dag_id, *WATCH}


def test_a_bad_entry_is_logged_and_left_out_and_the_check_names_it(
    dag_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pipelines.yaml"
    good = {"id": "tenant_a", "kind": "authentication", "webhook_connection": "a"}
    path.write_text(
        yaml.safe_dump({"pipelines": [good, {"id": "tenant_b", "kind": "audit", "webhook_connection": "b"}]})
    )
    monkeypatch.setenv(ENV_VAR, str(path))
    with caplog.at_level(logging.WARNING, logger="auth0_log_webhooks.wiring.dag_files"):
        bag = DagBag(dag_folder=str(dag_folder), safe_mode=True)
    assert set(bag.dags) == {"tenant_a", *WATCH}
    assert "entry 2 ('tenant_b'): kind: Input should be" in caplog.text
    with pytest.raises(PipelinesFileError, match=r"has 1 invalid pipeline entry"):
        check_pipelines_file()


def test_a_hundred_pipelines_make_a_hundred_dags_each_on_its_own_tenant_and_in_its_own_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelines DAG file of this repository, as the many-pipelines benchmark parses it."""
    from bench.pipelines import DAG_FILE, auth0_conn_id, pipeline_id, write_pipelines_file

    path = write_pipelines_file(tmp_path / "pipelines.yaml", 100, mode="event")
    monkeypatch.setenv(ENV_VAR, str(path))
    bag = DagBag(dag_folder=str(DAG_FILE), safe_mode=True)
    assert bag.import_errors == {}
    assert sorted(bag.dags) == [pipeline_id(n) for n in range(100)]
    for n in (0, 42, 99):
        dag = bag.dags[pipeline_id(n)]
        assert [t.task_id for t in dag.tasks] == ["fetch", "deliver", "commit"]
        assert "within seconds of new logs" in (dag.description or "")
        watched = dag.timetable.asset_condition
        assert isinstance(watched, Asset)
        assert watched.uri == f"x-auth0-logs://{auth0_conn_id(n)}/{pipeline_id(n)}", "each watcher reads its own tenant"
    schedules = [dag.timetable for dag in bag.dags.values()]
    assert all(isinstance(schedule, AssetOrTimeSchedule) for schedule in schedules)
    crons = [cast(AssetOrTimeSchedule, schedule).timetable for schedule in schedules]
    safety_nets = Counter(cast(CronDataIntervalTimetable, cron).expression for cron in crons)
    assert max(safety_nets.values()) <= 6, f"a safety-net minute starts at most a few of the 100: {safety_nets}"


@pytest.mark.parametrize("running", [MANAGEMENT_API.dag_id, "auth0_webhooks_replay"])
def test_a_tasks_process_builds_only_its_own_dag(
    dag_folder: Path, monkeypatch: pytest.MonkeyPatch, running: str
) -> None:
    """Airflow names the task's DAG in the parsing context; the other pipelines' DAGs would cost every task."""
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", running)  # what the task runner sets while it parses
    bag = DagBag(dag_folder=str(dag_folder), safe_mode=True)
    assert bag.import_errors == {}
    assert set(bag.dags) == {running}
