"""Each task of a pipeline's DAG is one call to its step, which the task body imports when it runs.

The steps are left out of the DAG file's parse (LAZY_STEPS in wiring/pipeline_dag.py); these tests
hold that the bodies still reach them, with the pipeline, the run and the task's I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from auth0_log_webhooks.monitoring import metrics
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.task_io import AirflowTaskIO
from auth0_log_webhooks.steps import commit, deliver, fetch, replay
from auth0_log_webhooks.wiring import pipeline_dag as wiring
from auth0_log_webhooks.wiring import replay_dag as replay_wiring

pytestmark = pytest.mark.unit

RUN = object()
PARAMS = {"pipeline": AUTHENTICATION_API.dag_id, "entries": None, "max_entries": 10, "max_tasks": 2}


def body(dag: Any, task_id: str) -> Callable[..., Any]:
    task = dag.task_dict[task_id]
    found: Callable[..., Any] = getattr(task, "python_callable", None) or task.partial_kwargs["python_callable"]
    return found


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    made: list[tuple[str, tuple[Any, ...]]] = []

    def recorder(name: str) -> Callable[..., str]:
        def record(*args: Any) -> str:
            made.append((name, args))
            return f"{name} done"

        return record

    for module, name in ((fetch, "fetch"), (deliver, "deliver"), (commit, "commit")):
        monkeypatch.setattr(module, name, recorder(name))
    for name in ("plan_replay", "resend", "summarise"):
        monkeypatch.setattr(replay, name, recorder(name))
    monkeypatch.setattr(wiring, "current_run", lambda: (RUN, PARAMS))
    monkeypatch.setattr(replay_wiring, "current_run", lambda: (RUN, PARAMS))
    return made


def test_fetch_deliver_and_commit_each_call_their_step(calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    dag = wiring.pipeline_dag(AUTHENTICATION_API)
    chunk = {"label": "batches 0-1"}
    assert body(dag, "fetch")() == "fetch done"
    assert body(dag, "deliver")(chunk) == "deliver done"
    assert body(dag, "commit")() == "commit done"
    assert [name for name, _ in calls] == ["fetch", "deliver", "commit"]
    (_, fetched), (_, delivered), (_, committed) = calls
    assert fetched[:3] == (AUTHENTICATION_API, RUN, PARAMS)
    assert isinstance(fetched[3], AirflowTaskIO)
    assert delivered[:3] == (AUTHENTICATION_API, RUN, chunk)
    assert isinstance(delivered[3], AirflowTaskIO)
    assert committed[:3] == (AUTHENTICATION_API, RUN, PARAMS)
    assert isinstance(committed[3], AirflowTaskIO)
    # Both announce the delivered asset's event: the commit as its outlet, the fetch (when it commits the run
    # itself) through its alias, so that a fetch that does not commit emits none.
    delivered_asset, alias = metrics.delivered_asset(AUTHENTICATION_API.dag_id), fetched[3].alias
    assert (committed[3].outlet, committed[3].alias, fetched[3].outlet) == (delivered_asset, None, delivered_asset)
    assert dag.task_dict["fetch"].outlets == [alias] == [metrics.committed_by_fetch(AUTHENTICATION_API.dag_id)]
    assert dag.task_dict["commit"].outlets == [delivered_asset]


def test_the_replay_tasks_call_the_replay_step(calls: list[tuple[str, tuple[Any, ...]]]) -> None:
    dag = replay_wiring.replay_dag({AUTHENTICATION_API.dag_id: AUTHENTICATION_API}, dag_id="replay")
    assert body(dag, "choose")() == "plan_replay done"
    assert body(dag, "report")(["a report"]) == "summarise done"
    assert calls[0] == ("plan_replay", (AUTHENTICATION_API.dag_id, None, 10, 2))
    assert calls[1][0] == "summarise"
