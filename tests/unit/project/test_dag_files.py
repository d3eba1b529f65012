"""DAG integrity: the DAG files import cleanly and fast, and declare what users rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API
from auth0_log_webhooks.pipelines.pipelines_file import DEFAULT_PATH, ENV_VAR
from auth0_log_webhooks.pipelines.run_params import run_params

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
SETTINGS = yaml.safe_load((REPO / "airflow_settings.yaml").read_text())["airflow"]
POOLS = {pool["pool_name"] for pool in SETTINGS["pools"]}
WATCH_DAGS = ("auth0_log_webhooks_alarms", "auth0_log_webhooks_daily_report")  # one each, over every pipeline


def cron_of(dag: Any) -> str:
    """The cron expression of a DAG's cron timetable (an attribute Airflow's types do not declare)."""
    return str(dag.timetable.expression)


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    """The repository's dags/ folder, parsed as the dag-processor would, knowing the settings' pools."""
    return DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"})


def test_every_dag_file_imports_without_errors_or_warnings(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {
        AUTHENTICATION_API.dag_id,
        MANAGEMENT_API.dag_id,
        "auth0_webhooks_replay",
        *WATCH_DAGS,
    }
    assert dagbag.dag_warnings == set()


def test_a_pool_missing_from_the_settings_would_be_reported() -> None:
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={"default_pool"})
    assert {str(w.warning_type) for w in bag.dag_warnings} == {"non-existent pool"}


def test_a_bad_pipelines_entry_is_an_import_error_naming_it_and_the_other_pipelines_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = yaml.safe_load(DEFAULT_PATH.read_text())
    document["pipelines"].append(
        {"id": "tenant_b", "kind": "management", "webhook_connection": "b", "filters": {"api_endpoints": 7}}
    )
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump(document))
    monkeypatch.setenv(ENV_VAR, str(path))
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"})
    assert set(bag.dags) == {AUTHENTICATION_API.dag_id, MANAGEMENT_API.dag_id, "auth0_webhooks_replay", *WATCH_DAGS}
    ((failed_file, error),) = bag.import_errors.items()
    assert failed_file.endswith("auth0_pipelines_file_check.py")
    assert f"{path} has 1 invalid pipeline entry" in error
    assert "entry 3 ('tenant_b'): filters.api_endpoints.list[str]: Input should be a valid list" in error


def test_each_entry_of_the_pipelines_file_becomes_a_dag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entries: list[dict[str, str | None]] = [
        {"id": f"tenant_{name}", "kind": kind, "webhook_connection": f"hook_{name}", "pool": "default_pool"}
        for name, kind in (("a", "authentication"), ("b", "management"), ("c", "authentication"))
    ]
    entries[2]["schedule"] = None
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump({"pipelines": entries}))
    monkeypatch.setenv(ENV_VAR, str(path))
    monkeypatch.setenv("TENANT_A_SCHEDULE", "0 * * * *")
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools={"default_pool"})
    assert bag.import_errors == {}
    assert set(bag.dags) == {"tenant_a", "tenant_b", "tenant_c", "auth0_webhooks_replay", *WATCH_DAGS}
    assert cron_of(bag.dags["tenant_a"]) == "0 * * * *"
    assert cron_of(bag.dags["tenant_b"]) == "*/5 * * * *"
    assert type(bag.dags["tenant_c"].timetable).__name__ == "NullTimetable"  # triggered runs only
    replay = bag.dags["auth0_webhooks_replay"]
    assert replay.params.get_param("pipeline").schema["enum"] == ["tenant_a", "tenant_b", "tenant_c"]


def test_dag_files_read_no_variable_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a DAG file read a Variable at import time")

    monkeypatch.setattr("airflow.sdk.Variable.get", refuse)
    assert DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"}).import_errors == {}


def test_the_pipeline_dag_runs_one_at_a_time_every_5_minutes(dagbag: DagBag) -> None:
    dag: Any = dagbag.dags[AUTHENTICATION_API.dag_id]  # Airflow types neither the timetable's cron nor the sort
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    assert (type(dag.timetable).__name__, cron_of(dag)) == ("CronDataIntervalTimetable", "*/5 * * * *")
    assert [t.task_id for t in dag.topological_sort()] == ["fetch", "deliver", "commit"]


def test_deliveries_run_in_the_settings_pool_and_commit_runs_after_failures(dagbag: DagBag) -> None:
    dag = dagbag.dags[AUTHENTICATION_API.dag_id]
    assert dag.get_task("deliver").pool == AUTHENTICATION_API.pool
    assert AUTHENTICATION_API.pool in POOLS
    assert dag.get_task("commit").trigger_rule == "all_done"
    assert dag.get_task("commit").retries == 0


def test_trigger_params_offer_the_originals_settings_with_no_override_by_default(dagbag: DagBag) -> None:
    params = dagbag.dags[AUTHENTICATION_API.dag_id].params
    names = run_params("authentication")  # tests/unit/pipelines/test_run_params.py lists them
    assert tuple(params) == names
    assert all(params[name] is None for name in names)


def test_the_trigger_form_titles_each_param_says_what_empty_means_and_labels_every_choice(dagbag: DagBag) -> None:
    # The form shows title and description; a choice without a label would read "null" or a raw code.
    params = dagbag.dags[AUTHENTICATION_API.dag_id].params
    for name in params:
        param = params.get_param(name)
        schema = param.schema
        assert schema.get("title"), name
        assert "Empty:" in (param.description or ""), name
        for choice in schema.get("enum", []):
            assert choice in schema["values_display"], (name, choice)
        types = [kind for kind in schema["type"] if kind != "null"]
        assert types[0] != "boolean", f"{name}: a null boolean shows as an OFF toggle"


def test_the_settings_describe_every_connection_pool_and_variable_and_use_the_webhook_type() -> None:
    # The UI lists show these descriptions; without them a person sees only ids.
    entries = [*SETTINGS["connections"], *SETTINGS["pools"], *SETTINGS["variables"]]
    described = [
        e.get("conn_description") or e.get("pool_description") or e.get("variable_description") for e in entries
    ]
    assert all(described), entries
    webhook = next(c for c in SETTINGS["connections"] if c["conn_id"] == AUTHENTICATION_API.webhook_conn_id)
    assert webhook["conn_type"] == "auth0_webhook"


def test_every_dag_file_defines_a_dag_the_dag_processor_finds(dagbag: DagBag) -> None:
    # The processor's safe mode skips a file without the words "airflow" and "dag": it would vanish silently.
    # auth0_pipelines_file_check.py defines no DAG on purpose: it only reports a bad pipelines file.
    files = {p.stem for p in (REPO / "dags").glob("*.py")} - {"auth0_pipelines_file_check"}
    assert {Path(dag.fileloc).stem for dag in dagbag.dags.values()} == files


def test_the_management_pipeline_offers_endpoint_filters_not_type_or_level_and_uses_its_own_webhook(
    dagbag: DagBag,
) -> None:
    dag = dagbag.dags[MANAGEMENT_API.dag_id]
    assert tuple(dag.params) == run_params("management")
    assert "api_endpoints" in dag.params
    assert "log_types" not in dag.params
    assert MANAGEMENT_API.webhook_conn_id == "auth0_mgmt_webhook_default"
    assert dag.get_task("deliver").pool in POOLS


def test_the_replay_form_titles_and_describes_each_param(dagbag: DagBag) -> None:
    params = dagbag.dags["auth0_webhooks_replay"].params
    for name in params:
        param = params.get_param(name)
        assert param.schema.get("title"), name
        assert (param.description or "").endswith("."), name
    assert "Empty: all" in (params.get_param("entries").description or "")


def test_event_mode_schedules_on_new_tenant_logs_or_the_cron_safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH0_AUTHENTICATION_API_WEBHOOKS_MODE", "event")
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"})
    assert bag.import_errors == {}
    timetable: Any = bag.dags[AUTHENTICATION_API.dag_id].timetable  # an AssetOrTimeSchedule, checked below
    assert type(timetable).__name__ == "AssetOrTimeSchedule"
    assert timetable.timetable.expression == "*/5 * * * *"  # the safety net
    (watcher,) = timetable.asset_condition.watchers
    assert type(watcher.trigger).__name__ == "Auth0LogsTrigger"
    assert watcher.trigger.poll_interval == 60 / AUTHENTICATION_API.event_reads_per_minute


def test_an_unknown_mode_fails_the_dag_import_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH0_AUTHENTICATION_API_WEBHOOKS_MODE", "sometimes")
    bag = DagBag(dag_folder=str(REPO / "dags"), known_pools=POOLS | {"default_pool"})
    (error,) = bag.import_errors.values()
    assert "mode 'sometimes' is neither 'cron' nor 'event'" in error


def test_parsing_the_dag_files_loads_no_providers_asset_handlers() -> None:
    """Every task process parses its DAG file: an asset URI scheme Airflow does not know makes it load every
    provider's asset handlers (boto3 among them), about 0.3 CPU-seconds a task on these 2 cores. The ``x-``
    schemes are private by Airflow's rules and skip that lookup."""
    script = (
        "import sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "assert bag.dags and not bag.import_errors, bag.import_errors\n"
        # the public property would load them; the private dict says whether anything did
        "print('loaded' if ProvidersManagerTaskRuntime()._asset_uri_handlers else 'not loaded')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "dags")], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "not loaded"


def test_every_dag_says_in_a_line_what_it_does_and_no_task_ends_its_log_with_its_return_value(dagbag: DagBag) -> None:
    """Found in the UI: no DAG had a description, and every task log ended with a 2,000-character dict."""
    for dag in dagbag.dags.values():
        assert dag.description, dag.dag_id
        assert 30 <= len(dag.description) <= 140, dag.description
        assert dag.doc_md, dag.dag_id
        for task in dag.tasks:
            shown = task.partial_kwargs if hasattr(task, "partial_kwargs") else vars(task)  # mapped or not
            assert shown["show_return_value_in_logs"] is False, f"{dag.dag_id}.{task.task_id}"
    assert dagbag.dags[AUTHENTICATION_API.dag_id].description == (
        "Ships Auth0 tenant logs after its checkpoint to the webhook of connection auth0_webhook_default"
    )


def test_the_daily_report_is_tagged_reports_and_the_alarms_alarms(dagbag: DagBag) -> None:
    assert "reports" in dagbag.dags["auth0_log_webhooks_daily_report"].tags
    assert "alarms" not in dagbag.dags["auth0_log_webhooks_daily_report"].tags
    assert "alarms" in dagbag.dags["auth0_log_webhooks_alarms"].tags


def test_parsing_the_pipeline_dag_file_imports_no_step_and_no_http_client() -> None:
    """The dag-processor parses the file again and again, and every task process parses it before its task: the
    steps (with the webhook sender, requests and the HTTP provider's hook with aiohttp) doubled the parse's CPU.
    Tasks import them. Airflow's provider discovery reads every provider's ``get_provider_info``; nothing else of
    the HTTP provider may load."""
    script = (
        "import runpy, sys\n"
        "runpy.run_path(sys.argv[1])\n"
        "http = ('requests', 'aiohttp', 'airflow.providers.http.hooks', 'airflow.providers.http.operators')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('auth0_log_webhooks.steps', *http))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(REPO / "dags" / "auth0_log_pipelines.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
