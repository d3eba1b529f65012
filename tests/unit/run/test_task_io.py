"""A task's IO: in Airflow the Task SDK's context, in process a record that answers as XCom would."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import DagRunTriggerException

from auth0_log_webhooks.run.task_io import LABEL_KEY, AirflowTaskIO, FollowUpRun, RunRecord

pytestmark = pytest.mark.unit


class FakeTi:
    """The part of a task instance the IO uses: XCom push and pull, recorded."""

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: str, key: str) -> Any:
        return {("fetch", "answers_429"): 3}.get((task_ids, key))


@pytest.fixture
def context(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ti": FakeTi(),
        "dag_run": SimpleNamespace(dag_id="auth0_authentication_api_webhooks"),
        "outlet_events": {"asset": SimpleNamespace(extra={})},
    }
    monkeypatch.setattr(AirflowTaskIO, "_context", staticmethod(lambda: context))
    return context


def test_in_airflow_a_follow_up_ends_the_task_by_asking_for_a_run_of_its_own_dag(context: dict[str, Any]) -> None:
    with pytest.raises(DagRunTriggerException) as raised:
        AirflowTaskIO().follow_up(FollowUpRun(run_id="drain__1", conf={"batch_size": 50}, note="why"))
    request = raised.value
    assert (request.trigger_dag_id, request.dag_run_id, request.conf) == (
        "auth0_authentication_api_webhooks",
        "drain__1",
        {"batch_size": 50},
    )
    assert not request.wait_for_completion
    assert request.skip_when_already_exists


def test_in_airflow_labels_values_and_the_asset_extra_go_to_the_context(context: dict[str, Any]) -> None:
    io = AirflowTaskIO(outlet="asset")
    io.label("batch 0: 5 logs")
    io.keep("answers_429", 2)
    io.announce({"logs_delivered": 5})
    assert context[LABEL_KEY] == "batch 0: 5 logs"
    assert context["ti"].pushed == {"answers_429": 2}
    assert io.kept("fetch", "answers_429") == 3
    assert context["outlet_events"]["asset"].extra == {"logs_delivered": 5}


def test_in_process_a_mapped_task_s_values_come_back_as_a_list_and_a_plain_task_s_as_its_value() -> None:
    record = RunRecord()
    record.task("fetch").keep("answers_429", 4)
    record.task("deliver", mapped=True).keep("answers_429", 1)
    record.task("deliver", mapped=True).keep("answers_429", 2)
    commit = record.task("commit")
    assert commit.kept("fetch", "answers_429") == 4
    assert commit.kept("deliver", "answers_429") == [1, 2]
    assert commit.kept("nothing", "answers_429") is None


def test_in_airflow_skipping_downstream_keeps_the_return_value_then_ends_the_task_naming_the_task_to_skip(
    context: dict[str, Any],
) -> None:
    from airflow.sdk.exceptions import DownstreamTasksSkipped

    with pytest.raises(DownstreamTasksSkipped) as raised:
        AirflowTaskIO().skip_downstream(["deliver"], [])
    assert raised.value.tasks == ["deliver"]
    assert context["ti"].pushed == {"return_value": []}
