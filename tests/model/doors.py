"""Airflow's own param processing as a triggered run meets it: when the run is created, then in its task."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any

from airflow.exceptions import ParamValidationError
from airflow.sdk.definitions.param import process_params
from airflow.serialization.serialized_objects import DagSerialization

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.wiring.pipeline_dag import pipeline_dag

DAG = pipeline_dag(AUTHENTICATION_API)
SERIALIZED = DagSerialization.from_dict(json.loads(json.dumps(DagSerialization.to_dict(DAG))))


class ConfRefusedError(Exception):
    """Airflow refused the conf when the run was to be created (the UI, REST and the CLI answer with its message)."""


def through_airflow(conf: dict[str, Any]) -> dict[str, Any]:
    """Return the params the fetch task of a run triggered with ``conf`` gets.

    Creating the run validates the conf against the serialized DAG's params; the task runner then merges
    the conf into the DAG's params (``process_params``). The DAG's params are copied for each run: the
    task runner writes the conf's values into the Param objects it is given.

    :raises ConfRefusedError: if creating the run refuses the conf.
    """
    try:
        SERIALIZED.params.deep_merge(conf).validate()
    except ParamValidationError as exc:
        raise ConfRefusedError(str(exc)) from None
    dag: Any = SimpleNamespace(params=copy.deepcopy(DAG.params))  # process_params reads .params only
    task: Any = SimpleNamespace(params=None)
    return dict(process_params(dag, task, copy.deepcopy(conf), suppress_exception=False))
