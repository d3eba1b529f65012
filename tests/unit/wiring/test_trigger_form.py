"""The trigger form's params through Airflow's own param processing: typed conf is accepted, undeclared keys are not.

Two doors, as Airflow 3.3 has them: creating a run validates its conf against the serialized DAG's params
(the UI form, ``POST /dags/{id}/dagRuns``, ``airflow dags trigger --conf``), and the task runner merges the
conf into the params it hands a task (``process_params``). Both let an undeclared key through; the fetch
refuses it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from airflow.sdk.definitions.param import process_params
from airflow.serialization.serialized_objects import DagSerialization

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, MANAGEMENT_API, Pipeline
from auth0_log_webhooks.pipelines.run_params import UndeclaredParamError, run_params
from auth0_log_webhooks.run.context import load_config
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.wiring.pipeline_dag import pipeline_dag
from auth0_log_webhooks.wiring.trigger_form import trigger_params

pytestmark = pytest.mark.unit

TYPED = [
    ({"send_as_batch": False}, {"send_as_batch": False}),
    ({"send_as_batch": "false"}, {"send_as_batch": False}),
    ({"send_as_batch": True, "batch_size": 50}, {"send_as_batch": True, "batch_size": 50}),
    ({"log_types": ["s", "f"]}, {"log_types": ("s", "f")}),
    ({"log_types": "s,f"}, {"log_types": ("s", "f")}),
    ({"log_level": 3, "max_logs_per_run": 1000}, {"log_level": 3, "max_logs_per_run": 1000}),
    ({"format": "json_lines", "start_from": "2026-11-01"}, {"format": "json_lines", "start_from": "2026-11-01"}),
]


def through_airflow(pipeline: Pipeline, conf: dict[str, Any]) -> dict[str, Any]:
    """Return the params a task of a run triggered with ``conf`` gets, after both of Airflow's checks."""
    dag = pipeline_dag(pipeline)
    serialized = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(dag))))
    serialized.params.deep_merge(conf).validate()  # what creating the run checks (UI, REST, CLI)
    return process_params(dag, dag.get_task("fetch"), conf, suppress_exception=False)


@pytest.mark.parametrize(("conf", "expected"), TYPED, ids=[json.dumps(conf) for conf, _ in TYPED])
def test_json_typed_conf_passes_airflows_checks_and_sets_the_runs_settings(
    conf: dict[str, Any], expected: dict[str, Any]
) -> None:
    params = through_airflow(AUTHENTICATION_API, conf)

    config = load_config(AUTHENTICATION_API, params, InMemoryVariables())
    assert {name: getattr(config, name) for name in expected} == expected


def test_management_filters_accept_a_list_or_the_originals_comma_separated_text() -> None:
    for conf in ({"api_endpoints": ["users", "connections"]}, {"api_endpoints": "users,connections"}):
        params = through_airflow(MANAGEMENT_API, {**conf, "endpoint_match": "substring"})
        config = load_config(MANAGEMENT_API, params, InMemoryVariables())
        assert (config.api_endpoints, config.endpoint_match) == (("users", "connections"), "substring")


@pytest.mark.parametrize(
    "conf", [{"staging_url": "file:///tmp/x"}, {"api_endpoints": "no-such-endpoint"}, {"BATCH_SIZE": 5}]
)
def test_airflow_lets_an_undeclared_key_through_and_the_run_refuses_it(conf: dict[str, Any]) -> None:
    params = through_airflow(AUTHENTICATION_API, conf)

    assert set(conf) <= set(params)  # Airflow merges every key of the conf into the params
    with pytest.raises(UndeclaredParamError, match=f"the key '{next(iter(conf))}'"):
        load_config(AUTHENTICATION_API, params, InMemoryVariables())


@pytest.mark.parametrize("conf", [{"send_as_batch": "sometimes"}, {"log_types": 5}, {"log_level": 9}])
def test_a_value_of_the_wrong_type_is_refused_when_the_run_is_created(conf: dict[str, Any]) -> None:
    from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError, match=f"Invalid input for param {next(iter(conf))}"):
        through_airflow(AUTHENTICATION_API, conf)


@pytest.mark.parametrize("pipeline", [AUTHENTICATION_API, MANAGEMENT_API], ids=lambda p: p.kind)
def test_the_dag_declares_exactly_the_params_the_fetch_accepts(pipeline: Pipeline) -> None:
    assert tuple(pipeline_dag(pipeline).params) == run_params(pipeline.kind)


@pytest.mark.parametrize("pipeline", [AUTHENTICATION_API, MANAGEMENT_API], ids=lambda p: p.kind)
def test_the_params_are_the_dags_alone_and_still_reach_every_task(pipeline: Pipeline) -> None:
    """No task carries a copy (the dag-processor would resolve each copy's params as it serializes the task), and
    each task still gets the form's params, with a run's conf over them, through Airflow's merge."""
    dag = pipeline_dag(pipeline)
    serialized = DagSerialization.to_dict(dag)["dag"]

    assert {task.task_id: dict(task.params) for task in dag.tasks} == {task.task_id: {} for task in dag.tasks}
    assert all("params" not in task["__var"] for task in serialized["tasks"])
    assert [name for name, _ in serialized["params"]] == list(run_params(pipeline.kind))
    for task in dag.tasks:
        handed = process_params(dag, task, {"batch_size": 7}, suppress_exception=False)
        assert set(handed) == set(run_params(pipeline.kind))
        assert handed["batch_size"] == 7


SAMPLES: list[Any] = [
    None,
    "",
    "s,f",
    "true",
    "sometimes",
    "segment",
    "json_lines",
    "2026-11-01",
    0,
    1,
    4,
    9,
    -1,
    1000,
    1001,
    3.5,
    True,
    False,
    ["s", "f"],
    [1],
    [],
    {"type": "category"},
]
"""Values of every JSON type, in and out of each param's range, choices and pattern."""


@pytest.mark.parametrize("kind", ["authentication", "management"])
def test_each_param_declares_draft_07_so_building_a_dag_checks_its_schema_against_the_cheaper_metaschema(
    kind: str,
) -> None:
    from jsonschema import Draft7Validator
    from jsonschema.validators import validator_for

    for name, param in trigger_params(kind).items():
        assert validator_for(param.schema) is Draft7Validator, name


@pytest.mark.parametrize("kind", ["authentication", "management"])
def test_each_param_accepts_and_refuses_the_same_values_as_under_the_default_draft_2020_12(kind: str) -> None:
    from airflow.exceptions import ParamValidationError
    from jsonschema import Draft202012Validator

    for name, param in trigger_params(kind).items():
        default_draft = Draft202012Validator({k: v for k, v in param.schema.items() if k != "$schema"})
        for value in SAMPLES:
            try:
                param.resolve(value)
                accepted = True
            except ParamValidationError:
                accepted = False
            assert accepted == default_draft.is_valid(value), (name, value)
