"""DAG integrity: the DAG files import cleanly and fast, and declare what users rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

from auth0_log_webhooks.pipelines import AUTHENTICATION_API

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
SETTINGS = yaml.safe_load((REPO / "airflow_settings.yaml").read_text())["airflow"]
POOLS = {pool["pool_name"] for pool in SETTINGS["pools"]}


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    """The repository's dags/ folder, parsed as the dag-processor would, knowing the settings' pools."""
    return DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"})


def test_every_dag_file_imports_without_errors_or_warnings(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {
        AUTHENTICATION_API.dag_id,
        "auth0_webhooks_replay",
        "auth0_log_webhooks_alarms",
        "auth0_log_webhooks_daily_report",
    }
    assert dagbag.dag_warnings == set()


def test_a_pool_missing_from_the_settings_would_be_reported():
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={"default_pool"})
    assert {str(w.warning_type) for w in bag.dag_warnings} == {"non-existent pool"}


def test_dag_files_read_no_variable_at_import(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a DAG file read a Variable at import time")

    monkeypatch.setattr("airflow.sdk.Variable.get", refuse)
    assert DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"}).import_errors == {}


def test_the_pipeline_dag_runs_one_at_a_time_every_5_minutes(dagbag):
    dag = dagbag.dags[AUTHENTICATION_API.dag_id]
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert (type(dag.timetable).__name__, dag.timetable.expression) == ("CronDataIntervalTimetable", "*/5 * * * *")
    assert [t.task_id for t in dag.topological_sort()] == ["fetch", "deliver", "commit"]


def test_deliveries_run_in_the_settings_pool_and_commit_runs_after_failures(dagbag):
    dag = dagbag.dags[AUTHENTICATION_API.dag_id]
    assert dag.get_task("deliver").pool == AUTHENTICATION_API.pool
    assert AUTHENTICATION_API.pool in POOLS
    assert dag.get_task("commit").trigger_rule == "all_done"
    assert dag.get_task("commit").retries == 0


def test_trigger_params_offer_the_originals_settings_with_no_override_by_default(dagbag):
    params = dagbag.dags[AUTHENTICATION_API.dag_id].params
    names = {"start_from", "log_types", "log_level", "batch_size", "send_as_batch", "format", "max_logs_per_run"}
    assert set(params) == names
    assert all(params[name] is None for name in names)


def test_the_trigger_form_titles_each_param_says_what_empty_means_and_labels_every_choice(dagbag):
    # The form shows title and description; a choice without a label would read "null" or a raw code.
    params = dagbag.dags[AUTHENTICATION_API.dag_id].params
    for name in params:
        param = params.get_param(name)
        schema = param.schema
        assert schema.get("title"), name
        assert "Empty:" in (param.description or ""), name
        for choice in schema.get("enum", []):
            assert choice in schema["values_display"], (name, choice)
        assert "boolean" not in schema["type"], f"{name}: a null boolean shows as an OFF toggle"


def test_the_settings_describe_every_connection_pool_and_variable_and_use_the_webhook_type():
    # The UI lists show these descriptions; without them a person sees only ids.
    entries = [*SETTINGS["connections"], *SETTINGS["pools"], *SETTINGS["variables"]]
    described = [
        e.get("conn_description") or e.get("pool_description") or e.get("variable_description") for e in entries
    ]
    assert all(described), entries
    webhook = next(c for c in SETTINGS["connections"] if c["conn_id"] == AUTHENTICATION_API.webhook_conn_id)
    assert webhook["conn_type"] == "auth0_webhook"


def test_every_dag_file_defines_a_dag_the_dag_processor_finds(dagbag):
    # The processor's safe mode skips a file without the words "airflow" and "dag": it would vanish silently.
    files = sorted(p.stem for p in (REPO / "dags").glob("*.py"))
    assert sorted(Path(dag.fileloc).stem for dag in dagbag.dags.values()) == files
