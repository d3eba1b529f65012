"""Fixtures of the in-process DAG layer: the real DAGs, run with ``dag.test()`` on a throwaway SQLite DB.

``dag.test()`` creates a DAG run and runs its tasks in this process through Airflow's own task
runner (XCom, mapping, trigger rules, params, map index labels), with no scheduler. Connections
point at an emulator and a sink through ``AIRFLOW_CONN_*``; Variables and the pool live in the
metadata DB, which this test code (never task code) may reach through Airflow's models.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API, DEFAULT_POOL
from tests.conftest import REPO


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Migrate the test session's SQLite metadata DB once (about 6 s) and create the pipelines' pool."""
    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, env=os.environ.copy())
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(DEFAULT_POOL, 5, "dag.test() layer", include_deferred=False)


def parse_dags() -> dict[str, Any]:
    """Return the repository's DAGs, parsed from dags/ as the dag-processor would."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert bag.import_errors == {}
    return bag.dags


class MetadataVariables:
    """Airflow Variables in the metadata DB, as the UI or the REST API would set them."""

    def __init__(self) -> None:
        from airflow.models.variable import Variable

        self._model = Variable
        self.written: set[str] = set()

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None."""
        value = self._model.get(key, default_var=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        """Create or replace a Variable."""
        self._model.set(key, value)
        self.written.add(key)

    def delete(self, key: str) -> None:
        """Delete a Variable (as resuming a paused pipeline does)."""
        self._model.delete(key)

    def clear(self) -> None:
        """Delete every Variable this test or the runs it started wrote."""
        from auth0_log_webhooks.delivery.auto_pause import state_variable
        from auth0_log_webhooks.monitoring.run_history import failed_runs_variable, replays_variable

        pipeline = AUTHENTICATION_API
        history = {
            failed_runs_variable(pipeline.dag_id),
            replays_variable(pipeline.dag_id),
            state_variable(pipeline.dag_id),
        }
        for key in self.written | history | {pipeline.checkpoint_variable, pipeline.config_variable}:
            self._model.delete(key)


@pytest.fixture
def variables(airflow_db: None, tmp_path: Path) -> Iterator[MetadataVariables]:
    """The pipeline's Variables in the metadata DB, staging and dead letters under tmp_path; removed after."""
    store = MetadataVariables()
    store.clear()
    config = {"staging_url": f"file://{tmp_path}/staging", "dead_letter_url": f"file://{tmp_path}/dead"}
    store.set(AUTHENTICATION_API.config_variable, json.dumps(config))
    yield store
    store.clear()


@pytest.fixture
def configure(variables: MetadataVariables) -> Callable[..., None]:
    """Merge settings into the pipeline's config Variable."""

    def merge(**settings: Any) -> None:
        name = AUTHENTICATION_API.config_variable
        variables.set(name, json.dumps({**json.loads(variables.get(name) or "{}"), **settings}))

    return merge


@pytest.fixture
def run_dag(airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Run a DAG with ``dag.test()`` and return its DagRun.

    ``conf`` is what "Trigger DAG w/ config" would pass. ``backfill_of`` (a logical date) makes the run
    a backfill run of the interval ending there, as ``airflow backfill create`` would; otherwise the
    run is a manual one without a logical date, as the UI's Trigger button makes. Retries are off, so
    a failing task fails at once instead of waiting out its retry delay. Each run parses the DAG
    afresh: a run resolves its params into the DAG object, and a second run of the same object in
    this process would inherit the first run's "Trigger DAG w/ config" values.
    """
    from airflow.serialization.definitions.dag import SerializedDAG
    from airflow.utils.types import DagRunType

    def run(dag_id: str, conf: dict[str, Any] | None = None, *, backfill_of: datetime | None = None) -> Any:
        dag = parse_dags()[dag_id]
        # dag.test() of Airflow 3.3.2 looks the DAG's deadline alerts up by id in the metadata DB, where
        # only the dag-processor writes them: a run's end fails on them. Deadlines are the scheduler's
        # (tests/unit/wiring/test_run_deadlines.py proves what the DAG carries); this layer runs the tasks.
        dag.deadline = None
        for task in dag.tasks:
            monkeypatch.setattr(task, "retries", 0)
        if backfill_of is None:
            return dag.test(run_conf=conf, logical_date=None)
        create = SerializedDAG.create_dagrun

        def as_backfill(self: Any, **kwargs: Any) -> Any:
            return create(self, **{**kwargs, "run_type": DagRunType.BACKFILL_JOB})

        with monkeypatch.context() as patch:
            patch.setattr(SerializedDAG, "create_dagrun", as_backfill)
            return dag.test(run_conf=conf, logical_date=backfill_of)

    return run


def task_states(dag_run: Any) -> dict[tuple[str, int], str]:
    """Return ``{(task_id, map_index): state}`` of a finished run."""
    return {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
