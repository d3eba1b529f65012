"""The declarative pipelines file: entries validated one by one, errors naming the entry and field."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.pipelines import pipelines_file
from auth0_log_webhooks.pipelines.config import ConfigError
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API, Pipeline, spread_safety_net
from auth0_log_webhooks.pipelines.management_api import EndpointFilter
from auth0_log_webhooks.pipelines.pii import MASK, PiiRule
from auth0_log_webhooks.pipelines.pipelines_file import ENV_VAR, load_pipelines, main, parse_entries
from auth0_log_webhooks.run.context import load_config
from auth0_log_webhooks.run.variables import InMemoryVariables
from tests.fixture_types import DefineConnection

pytestmark = pytest.mark.unit

GOOD = {"id": "tenant_b_logs", "kind": "authentication", "webhook_connection": "lake_webhook"}


def write(tmp_path: Path, entries: list[Any], **top: Any) -> Path:
    path = tmp_path / "pipelines.yaml"
    path.write_text(yaml.safe_dump({"pipelines": entries, **top}))
    return path


def test_the_shipped_file_declares_the_two_default_pipelines_exactly() -> None:
    loaded = load_pipelines(pipelines_file.DEFAULT_PATH)
    assert loaded.errors == []
    assert loaded.pipelines == {AUTHENTICATION_API.dag_id: AUTHENTICATION_API, MANAGEMENT_API.dag_id: MANAGEMENT_API}


def test_the_committed_json_schema_is_current() -> None:
    committed = json.loads(pipelines_file.SCHEMA_PATH.read_text())
    assert committed == pipelines_file.json_schema(), (
        "run: python -m auth0_log_webhooks.pipelines.pipelines_file schema"
    )


def test_the_environment_variable_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(write(tmp_path, [GOOD])))
    assert list(load_pipelines().pipelines) == ["tenant_b_logs"]


def test_the_airflow_setting_names_the_file_and_wins_over_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting = tmp_path / "setting"
    setting.mkdir()
    monkeypatch.setenv("AIRFLOW__AUTH0_LOG_WEBHOOKS__PIPELINES_FILE", str(write(setting, [{**GOOD, "id": "chosen"}])))
    monkeypatch.setenv(ENV_VAR, str(write(tmp_path, [GOOD])))
    assert list(load_pipelines().pipelines) == ["chosen"]


def test_without_a_setting_the_package_default_file_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__AUTH0_LOG_WEBHOOKS__PIPELINES_FILE", raising=False)
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert pipelines_file.pipelines_path() == pipelines_file.DEFAULT_PATH
    package = Path(pipelines_file.__file__).resolve().parents[1]
    assert pipelines_file.DEFAULT_PATH.is_relative_to(package)  # shipped in the wheel, not beside it
    assert pipelines_file.SCHEMA_PATH.is_relative_to(package)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param({**GOOD, "kind": "audit"}, "entry 2 ('tenant_b_logs'): kind: Input should be", id="kind"),
        pytest.param(
            {"id": "x", "kind": "management"}, "entry 2 ('x'): webhook_connection: Field required", id="missing"
        ),
        pytest.param({**GOOD, "schedule": "61 * * * *"}, "schedule: '61 * * * *' is not a cron", id="cron"),
        pytest.param({**GOOD, "id": "bad id"}, "entry 2 ('bad id'): id: String should match", id="id"),
        pytest.param(
            {**GOOD, "id": "auth0_webhooks_replay"},
            "id: 'auth0_webhooks_replay' is the id of the replay",
            id="reserved",
        ),
        pytest.param({**GOOD, "pool_size": 3}, "pool_size: Extra inputs are not permitted", id="unknown-field"),
        pytest.param(
            {**GOOD, "format": "xml"},
            "format: Input should be 'json_array', 'json_lines' or 'cloudevents'",
            id="format",
        ),
        pytest.param(
            {**GOOD, "settings": {"batch_size": 5000}}, "settings: settings.batch_size: Input should", id="setting"
        ),
        pytest.param(
            {**GOOD, "settings": {"log_types": ["s"]}}, "set log_types at the entry's filters", id="misplaced"
        ),
        pytest.param(
            {**GOOD, "settings": {"completeness_manifests": True}},
            "set completeness_manifests at the entry's filters or the entry itself",
            id="misplaced-entry-setting",
        ),
        pytest.param(
            {**GOOD, "completeness_manifests": "sometimes"},
            "completeness_manifests: Input should be a valid boolean",
            id="manifests",
        ),
        pytest.param(
            {**GOOD, "filters": {"api_endpoints": ["users"]}},
            "filters.api_endpoints does not apply to a authentication pipeline",
            id="endpoints-on-authentication",
        ),
        pytest.param(
            {**GOOD, "kind": "management", "filters": {"log_level": 3}},
            "filters.log_level does not apply to a management pipeline",
            id="level-on-management",
        ),
        pytest.param({**GOOD, "filters": {"log_level": 9}}, "filters.log_level: ", id="level"),
        pytest.param(
            {**GOOD, "filters": {"log_categories": ["auth.login.failure"]}},
            "filters.log_categories: not Log Streams categories: 'auth.login.failure'; use auth.login.fail",
            id="category",
        ),
        pytest.param(
            {**GOOD, "kind": "management", "filters": {"log_categories": ["management.success"]}},
            "filters.log_categories does not apply to a management pipeline",
            id="categories-on-management",
        ),
        pytest.param(
            {**GOOD, "pii": {"fields": [{"path": "a..b", "method": "mask"}]}},
            "pii.fields.0.path: 'a..b' is not a dotted path",
            id="pii-path",
        ),
        pytest.param(
            {**GOOD, "pii": {"fields": [{"path": "ip", "method": "hash"}]}},
            "pii: hash_key_connection is required",
            id="pii-key",
        ),
        pytest.param(
            {**GOOD, "pii": {"fields": [{"path": "ip", "method": "blur"}]}},
            "pii.fields.0.method: Input",
            id="pii-method",
        ),
        pytest.param({**GOOD, "pool_slots": 0}, "pool_slots: Input should be greater than or equal to 1", id="slots"),
        pytest.param("just text", "entry 2: Input should be a valid dictionary", id="not-a-mapping"),
    ],
)
def test_a_bad_entry_is_reported_by_entry_and_field_and_the_others_still_load(
    tmp_path: Path, entry: dict[str, Any] | str, expected: str
) -> None:
    loaded = load_pipelines(write(tmp_path, [{**GOOD, "id": "first"}, entry]))
    assert list(loaded.pipelines) == ["first"]
    assert len(loaded.errors) == 1
    assert expected in loaded.errors[0]


def test_a_repeated_id_is_an_error_of_the_later_entry(tmp_path: Path) -> None:
    loaded = load_pipelines(write(tmp_path, [GOOD, GOOD]))
    assert list(loaded.pipelines) == ["tenant_b_logs"]
    assert loaded.errors == [
        "entry 2 ('tenant_b_logs'): id: 'tenant_b_logs' is already used by entry 1 ('tenant_b_logs'); each "
        "pipeline needs its own id (its checkpoint, config Variable, staging and dead letters are named after it)"
    ]


@pytest.mark.parametrize("later", ["a-b", "a_b", "A.B", "A_b"])
def test_ids_equal_once_case_and_punctuation_are_set_aside_are_an_error_naming_both(tmp_path: Path, later: str) -> None:
    loaded = load_pipelines(write(tmp_path, [{**GOOD, "id": "a.b"}, {**GOOD, "id": later}]))
    assert list(loaded.pipelines) == ["a.b"]
    (error,) = loaded.errors
    assert error.startswith(f"entry 2 ({later!r}): id: {later!r} clashes with entry 1 ('a.b'): both are A_B")
    assert "A_B_SCHEDULE and A_B_MODE" in error


@pytest.mark.parametrize(
    ("pipeline_id", "dag"),
    [
        ("auth0_log_webhooks_alarms", "the alarms DAG ('auth0_log_webhooks_alarms')"),
        ("auth0_log_webhooks_daily_report", "the daily report DAG ('auth0_log_webhooks_daily_report')"),
        ("Auth0-Webhooks-Replay", "the replay DAG ('auth0_webhooks_replay')"),
    ],
)
def test_an_id_of_another_dag_of_the_project_is_an_error_naming_that_dag(
    tmp_path: Path, pipeline_id: str, dag: str
) -> None:
    loaded = load_pipelines(write(tmp_path, [{**GOOD, "id": pipeline_id}]))
    assert loaded.pipelines == {}
    (error,) = loaded.errors
    assert f"id: {pipeline_id!r}" in error
    assert dag in error


def test_the_reserved_ids_are_the_project_dags_the_dag_files_build() -> None:
    from auth0_log_webhooks.wiring import dag_files

    built = {dag_files.REPLAY_DAG_ID, dag_files.ALARMS_DAG_ID, dag_files.REPORT_DAG_ID}
    assert set(pipelines_file.PROJECT_DAGS) == built


def test_invalid_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    path.write_text("pipelines:\n  - id: a\n    kind: [authentication\n")
    loaded = load_pipelines(path)
    assert loaded.pipelines == {}
    assert loaded.errors[0].startswith("not valid YAML at line 4")


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_the_file_is_parsed_by_libyaml_when_pyyaml_has_it() -> None:
    assert pipelines_file.FAST_YAML_LOADER is yaml.CSafeLoader


def test_without_libyaml_the_pure_python_parser_reads_the_same_pipelines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, [GOOD, {**GOOD, "id": "other", "filters": {"log_types": ["s", "f"]}, "mode": "event"}])
    fast = load_pipelines(path)
    path.write_text(path.read_text() + "# the same pipelines, another text: not the cached parse\n")
    monkeypatch.setattr(pipelines_file, "FAST_YAML_LOADER", yaml.SafeLoader)

    slow = load_pipelines(path)
    assert slow.errors == fast.errors == []
    assert slow.pipelines == fast.pipelines
    assert list(slow.pipelines) == ["tenant_b_logs", "other"]


def test_a_yaml_error_names_the_character_at_fault(tmp_path: Path) -> None:
    path = tmp_path / "pipelines.yaml"
    path.write_text("pipelines:\n\t- id: a\n")
    loaded = load_pipelines(path)
    assert loaded.errors == ["not valid YAML at line 2, column 1: found character '\\t' that cannot start any token"]


def test_an_unchanged_file_is_parsed_once_and_every_change_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parses: list[str] = []
    read_yaml = pipelines_file.read_yaml

    def counted(text: str) -> Any:
        parses.append(text)
        return read_yaml(text)

    monkeypatch.setattr(pipelines_file, "read_yaml", counted)
    path = write(tmp_path, [GOOD])

    first = load_pipelines(path)
    first.pipelines.clear()  # what a caller does to its copy stays there
    first.errors.append("a caller's note")
    again = load_pipelines(path)
    assert (list(again.pipelines), again.errors, len(parses)) == (["tenant_b_logs"], [], 1)

    path.write_text(path.read_text().replace("tenant_b_logs", "tenant_c_logs"))  # same size, at once
    assert list(load_pipelines(path).pipelines) == ["tenant_c_logs"]
    assert len(parses) == 2


def test_raise_errors_names_the_file_and_every_bad_entry(tmp_path: Path) -> None:
    path = write(tmp_path, [GOOD, {**GOOD, "id": "two", "schedule": "nope"}, {"id": "three"}])
    with pytest.raises(pipelines_file.PipelinesFileError) as caught:
        load_pipelines(path).raise_errors()
    message = str(caught.value)
    assert message.startswith(f"{path} has 2 invalid pipeline entries (the other pipelines still run")
    assert "- entry 2 ('two'): schedule: 'nope' is not a cron expression" in message
    assert "- entry 3 ('three'): kind: Field required; webhook_connection: Field required" in message


def test_the_cli_checks_a_file_and_prints_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(write(tmp_path, [GOOD]))]) == 0
    assert "1 pipelines: tenant_b_logs (authentication)" in capsys.readouterr().out
    assert main(["check", str(write(tmp_path, [{**GOOD, "kind": "x"}]))]) == 1
    assert "entry 1 ('tenant_b_logs'): kind:" in capsys.readouterr().err
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "auth0-log-webhooks pipelines"


def test_an_entry_turns_completeness_manifests_on_and_its_config_variable_may_turn_them_off(tmp_path: Path) -> None:
    pipeline = load_pipelines(write(tmp_path, [{**GOOD, "completeness_manifests": True}])).pipelines["tenant_b_logs"]

    assert load_config(pipeline, None, InMemoryVariables()).completeness_manifests is True
    off = InMemoryVariables({pipeline.config_variable: '{"completeness_manifests": false}'})
    assert load_config(pipeline, None, off).completeness_manifests is False


def test_an_entry_becomes_a_pipeline_whose_settings_are_the_defaults_under_the_variable(tmp_path: Path) -> None:
    entry = {
        **GOOD,
        "kind": "management",
        "auth0_connection": "auth0_tenant_b",
        "pool": "lake_pool",
        "pool_slots": 8,
        "schedule": None,
        "filters": {"api_endpoints": "users, connections", "endpoint_match": "substring"},
        "format": "json_lines",
        "settings": {"batch_size": 20, "gzip": True},
        "pii": {"hash_key_connection": "pii_key", "fields": [{"path": "**.email", "method": "hash"}]},
    }
    pipeline = load_pipelines(write(tmp_path, [entry])).pipelines["tenant_b_logs"]
    assert (pipeline.kind, pipeline.auth0_conn_id, pipeline.webhook_conn_id, pipeline.pool, pipeline.schedule) == (
        "management",
        "auth0_tenant_b",
        "lake_webhook",
        "lake_pool",
        None,
    )
    assert pipeline.pii_key_conn_id == "pii_key"
    assert pipeline.pool_slots == 8
    variables = InMemoryVariables({pipeline.config_variable: '{"batch_size": 50}'})
    config = load_config(pipeline, {"format": "json_array"}, variables)
    assert (config.batch_size, config.gzip, config.format) == (50, True, "json_array")  # Variable, file, param
    assert config.api_endpoints == ("users", "connections")
    selector = pipeline.select(config)
    assert isinstance(selector, EndpointFilter)
    assert selector.match == "substring"


def test_a_log_streams_filter_pasted_into_the_file_selects_its_categories(tmp_path: Path) -> None:
    log_stream_filters = [{"type": "category", "name": "auth.login.fail"}, {"type": "category", "name": "user.fail"}]
    entry = {**GOOD, "filters": {"log_types": ["s"], "log_categories": log_stream_filters}}
    pipeline = load_pipelines(write(tmp_path, [entry])).pipelines["tenant_b_logs"]
    selector = pipeline.select(load_config(pipeline, None, InMemoryVariables()))
    selected = [code for code in ("s", "f", "fu", "fcp", "ss", "sapi") if selector.accepts({"type": code})]
    assert selected == ["s", "f", "fu", "fcp"]  # s by type; f, fu login failures; fcp a user failure


def test_a_filter_of_the_other_kind_in_the_variable_fails_the_run_naming_it() -> None:
    variables = InMemoryVariables({MANAGEMENT_API.config_variable: '{"log_types": ["s"]}'})
    with pytest.raises(ConfigError, match="management pipeline: it delivers sapi and fapi logs only"):
        MANAGEMENT_API.select(load_config(MANAGEMENT_API, None, variables))
    variables = InMemoryVariables({MANAGEMENT_API.config_variable: '{"log_categories": ["management.fail"]}'})
    with pytest.raises(ConfigError, match="log_types, log_level and log_categories do not apply"):
        MANAGEMENT_API.select(load_config(MANAGEMENT_API, None, variables))
    variables = InMemoryVariables({AUTHENTICATION_API.config_variable: '{"api_endpoints": "users"}'})
    with pytest.raises(ConfigError, match="api_endpoints applies to management pipelines only"):
        AUTHENTICATION_API.select(load_config(AUTHENTICATION_API, None, variables))


def test_a_management_pipeline_masks_before_it_reshapes(airflow_connection: DefineConnection) -> None:
    airflow_connection("pii_key", conn_type="generic", password="k" * 32)
    pipeline = Pipeline(
        dag_id="m",
        title="m",
        kind="management",
        pii=(
            PiiRule("details.request.auth.user.email", "mask"),
            PiiRule("details.request.ip", "hash"),
        ),
        pii_key_conn_id="pii_key",
    )
    log = {
        "log_id": "900",
        "date": "d",
        "type": "sapi",
        "details": {"request": {"ip": "203.0.113.1", "auth": {"user": {"email": "ops@example.com"}}}, "response": {}},
    }
    out = pipeline.transformer()(log)
    assert out["request"]["auth"]["user"]["email"] == MASK
    assert len(out["request"]["ip"]) == 64
    assert "203.0.113.1" not in json.dumps(out)
    assert set(out) == {"date", "request", "response", "log_id"}


def test_a_hash_rule_without_a_key_password_fails_naming_the_connection(airflow_connection: DefineConnection) -> None:
    airflow_connection("pii_key", conn_type="generic")
    pipeline = Pipeline(dag_id="a", title="a", pii=(PiiRule("ip", "hash"),), pii_key_conn_id="pii_key")
    with pytest.raises(ValueError, match="Connection pii_key has no password"):
        pipeline.transformer()


YAMLISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["authentication", "management"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "kind", "webhook_connection", "filters", "pii", "fields", "path", "x"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@given(document=YAMLISH | st.fixed_dictionaries({"pipelines": st.lists(YAMLISH, max_size=4)}))
def test_any_document_yields_pipelines_or_errors_and_never_raises(document: Any) -> None:
    loaded = parse_entries(document, Path("p.yaml"))
    assert loaded.pipelines or loaded.errors or document == {"pipelines": []}
    assert all(isinstance(error, str) and error for error in loaded.errors)


def test_the_hash_key_is_masked_in_task_logs(
    airflow_connection: DefineConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    masked: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", masked.append)
    airflow_connection("pii_key", conn_type="generic", password="k" * 32)
    Pipeline(dag_id="a", title="a", pii=(PiiRule("ip", "hash"),), pii_key_conn_id="pii_key").transformer()
    assert "k" * 32 in masked


def test_an_entry_chooses_event_mode_and_its_read_budget(tmp_path: Path) -> None:
    entry = {**GOOD, "mode": "event", "event_reads_per_minute": 6}
    pipeline = load_pipelines(write(tmp_path, [entry])).pipelines["tenant_b_logs"]
    assert (pipeline.mode, pipeline.event_reads_per_minute) == ("event", 6)
    assert load_pipelines(write(tmp_path, [GOOD])).pipelines["tenant_b_logs"].mode == "cron"  # the default


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({}, spread_safety_net("tenant_b_logs")),
        ({"schedule": "0 * * * *"}, "0 * * * *"),
        ({"schedule": None}, None),
        ({"schedule": "0 * * * *", "safety_net": "30 2 * * *"}, "30 2 * * *"),
        ({"safety_net": None}, None),
    ],
    ids=["default: hourly at its own minute", "the schedule set", "no schedule", "its own", "none"],
)
def test_event_modes_safety_net_is_the_entrys_if_set_else_its_schedule_if_set_else_hourly_at_its_own_minute(
    tmp_path: Path, entry: dict[str, Any], expected: str | None
) -> None:
    pipeline = load_pipelines(write(tmp_path, [{**GOOD, "mode": "event", **entry}])).pipelines["tenant_b_logs"]
    assert pipeline.safety_net == expected


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,60}", fullmatch=True))
def test_the_default_safety_net_is_hourly_at_a_minute_that_only_the_id_chooses(dag_id: str) -> None:
    minute, *rest = spread_safety_net(dag_id).split(" ")
    assert 0 <= int(minute) <= 59
    assert rest == ["*"] * 4


def test_the_default_safety_nets_minute_is_the_same_in_every_process() -> None:
    """A hash that Python seeds per process (hash()) would move each pipeline's minute at every parse."""
    assert spread_safety_net("tenant_000") == "33 * * * *"


def test_a_hundred_pipelines_default_safety_nets_start_a_few_runs_a_minute_not_a_hundred_on_one_tick() -> None:
    minutes = Counter(spread_safety_net(f"tenant_{n:03d}") for n in range(100))
    assert len(minutes) > 40
    assert max(minutes.values()) <= 6


@pytest.mark.parametrize(
    ("field", "value"),
    [("mode", "sometimes"), ("event_reads_per_minute", 0), ("event_reads_per_minute", 100), ("safety_net", "hourly")],
)
def test_a_bad_mode_or_read_budget_is_an_error_naming_the_field(tmp_path: Path, field: str, value: str | int) -> None:
    loaded = load_pipelines(write(tmp_path, [{**GOOD, field: value}]))
    assert loaded.pipelines == {}
    assert field in " ".join(str(error) for error in loaded.errors)


def test_an_entrys_auto_pause_sets_the_limits_and_the_config_variable_may_override_them(tmp_path: Path) -> None:
    entry = {**GOOD, "auto_pause": {"after_failures": 500, "after_hours": 120}}
    pipeline = load_pipelines(write(tmp_path, [entry])).pipelines["tenant_b_logs"]

    config = load_config(pipeline, None, InMemoryVariables())
    overridden = load_config(pipeline, None, InMemoryVariables({pipeline.config_variable: '{"pause_after_hours": 24}'}))

    assert (config.pause_after_failures, config.pause_after_hours) == (500, 120)
    assert (overridden.pause_after_failures, overridden.pause_after_hours) == (500, 24)
    assert (
        load_config(
            load_pipelines(write(tmp_path, [GOOD])).pipelines["tenant_b_logs"], None, InMemoryVariables()
        ).pause_after_failures
        is None
    )


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (
            {"auto_pause": {"after_failures": 0}},
            "auto_pause.after_failures: Input should be greater than or equal to 1",
        ),
        ({"auto_pause": {"after_hours": -1}}, "auto_pause.after_hours: Input should be greater than 0"),
        ({"auto_pause": {"after_days": 5}}, "auto_pause.after_days: Extra inputs are not permitted"),
        (
            {"settings": {"pause_after_failures": 5}},
            "set pause_after_failures as auto_pause.after_failures / auto_pause.after_hours, not under settings",
        ),
    ],
)
def test_a_bad_auto_pause_is_an_error_naming_the_field(tmp_path: Path, entry: dict[str, Any], error: str) -> None:
    (problem,) = load_pipelines(write(tmp_path, [{**GOOD, **entry}])).errors
    assert error in problem
