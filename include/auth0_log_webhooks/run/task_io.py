"""What a step hands to its task besides its return value: a label, values kept for later tasks, the
delivered asset's extra, a follow-up run and a downstream task skipped.

A step is the whole body of a DAG task. What it needs from Airflow beyond its arguments goes
through a :class:`TaskIO`: :class:`AirflowTaskIO` inside a task (the Task SDK's context: XCom,
outlet events, ``DagRunTriggerException``, ``DownstreamTasksSkipped``), a :class:`RunRecord`'s view outside Airflow (the
in-process runner of tests and benchmarks), so both run the same steps.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

ANSWERS_429 = "answers_429"
"""The key under which fetch and each delivery keep the 429 answers they waited out."""

LANE_REPORT = "delivered_while_fetching"
"""The key under which the fetch keeps what its delivery lane sent (a :class:`DeliveryReport`, steps/lane.py)."""

STAGING_URL = "staging_url"
"""The key under which fetch keeps the staging root it resolved, for the commit."""

RUN_SUMMARY = "run_summary"
"""The key under which a fetch that committed its run itself keeps the run's summary (steps/commit.py,
``commit_in_fetch``): what its success notice reports, as the commit task's return value does otherwise."""

PAUSED = "paused"
"""The key under which a paused pipeline's fetch keeps the sentence it skipped with, for the commit."""

LABEL_KEY = "task_label"
"""The context key a mapped task's ``map_index_template`` renders (``{{ task_label }}``)."""


@dataclass(frozen=True)
class FollowUpRun:
    """Another run of the same DAG, started as soon as this one ends."""

    run_id: str
    conf: dict[str, Any]
    note: str


class TaskIO(Protocol):
    """What a running task offers its step besides arguments and the return value."""

    def label(self, text: str) -> None:
        """Name the running mapped task in the UI (its ``map_index_template`` shows this)."""

    def keep(self, key: str, value: Any) -> None:
        """Keep ``value`` for later tasks of the run, also when this task fails afterwards."""

    def kept(self, task_id: str, key: str) -> Any:
        """Return what ``task_id`` kept under ``key``: one value, a list for a mapped task, or None."""

    def announce(self, extra: dict[str, Any]) -> None:
        """Set the extra of the asset event this task emits when it succeeds."""

    def follow_up(self, run: FollowUpRun) -> None:
        """Start ``run`` once this task succeeds (in Airflow: end the task by asking for it)."""

    def skip_downstream(self, task_ids: list[str], result: Any) -> None:
        """Return ``result`` and skip ``task_ids``, which follow this task, now (in Airflow: end the task so)."""


class AirflowTaskIO:
    """The Task SDK's context of the running task (XCom, outlet events, a triggered DAG run)."""

    def __init__(self, outlet: Any = None, alias: Any = None) -> None:
        """:param outlet: the asset whose event :meth:`announce` fills (the task's outlet, or ``alias``'s target).
        :param alias: the task's outlet when it emits ``outlet``'s event only sometimes: an asset alias, whose
            event :meth:`announce` adds (none added, none emitted)."""
        self.outlet = outlet
        self.alias = alias

    @staticmethod
    def _context() -> Any:
        from airflow.sdk import get_current_context

        return get_current_context()

    def label(self, text: str) -> None:
        """Give the running mapped task the label its ``map_index_template`` renders."""
        self._context()[LABEL_KEY] = text

    def keep(self, key: str, value: Any) -> None:
        """Push an XCom under ``key``."""
        self._context()["ti"].xcom_push(key=key, value=value)

    def kept(self, task_id: str, key: str) -> Any:
        """Pull the XCom ``key`` of ``task_id`` (a list for a mapped task)."""
        return self._context()["ti"].xcom_pull(task_ids=task_id, key=key)

    def announce(self, extra: dict[str, Any]) -> None:
        """Set the extra of the outlet asset's event (through the alias: add the event)."""
        events = self._context()["outlet_events"]
        if self.alias is not None:
            events[self.alias].add(self.outlet, extra=extra)
        else:
            events[self.outlet].extra = extra

    def follow_up(self, run: FollowUpRun) -> None:
        """Raise the exception that makes the task trigger ``run`` of its DAG, as ``TriggerDagRunOperator`` does.

        :raises DagRunTriggerException: always; the task ends successfully and Airflow creates the run.
        """
        from airflow.sdk.exceptions import DagRunTriggerException

        raise DagRunTriggerException(
            trigger_dag_id=self._context()["dag_run"].dag_id,
            dag_run_id=run.run_id,
            conf=run.conf,
            logical_date=None,
            reset_dag_run=False,
            skip_when_already_exists=True,
            wait_for_completion=False,
            allowed_states=["success"],
            failed_states=["failed"],
            poke_interval=60,
            deferrable=False,
            note=run.note,
        )

    def skip_downstream(self, task_ids: list[str], result: Any) -> None:
        """Keep ``result`` as this task's return value, then end the task successfully with ``task_ids`` skipped.

        For a task mapped over this one's result when the result is empty: the scheduler would expand it into a
        skipped task in one loop and start the task after it only in the next, and between idle loops it
        sleeps (``scheduler_idle_sleep_time``, 1 s by default). Skipped by this task, it is done when this task
        is, and the next task starts in the scheduler's next loop (docs/benchmarks.md, benchmark 6). For a task
        whose work this task did: the run ends in the scheduler's next loop.

        :raises DownstreamTasksSkipped: always; Airflow marks ``task_ids`` skipped and this task successful.
        """
        from airflow.sdk.exceptions import DownstreamTasksSkipped

        self.keep("return_value", result)  # what the mapped task expands over if it is ever cleared: nothing
        raise DownstreamTasksSkipped(tasks=list(task_ids))  # type: ignore[no-untyped-call]  # the SDK leaves it untyped


@dataclass
class RunRecord:
    """Outside Airflow: what a run's tasks kept, labelled, announced and asked for, by task id."""

    values: dict[tuple[str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    labels: list[str] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)
    follow_ups: list[FollowUpRun] = field(default_factory=list)
    mapped: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def task(self, task_id: str, *, mapped: bool = False) -> RecordedTask:
        """Return the IO of task ``task_id`` of this run (``mapped``: its values are pulled as a list)."""
        if mapped:
            self.mapped.add(task_id)
        return RecordedTask(self, task_id)


@dataclass
class RecordedTask:
    """One task's :class:`TaskIO` in a :class:`RunRecord`."""

    record: RunRecord
    task_id: str

    def label(self, text: str) -> None:
        """Record the label."""
        self.record.labels.append(text)

    def keep(self, key: str, value: Any) -> None:
        """Record ``value`` under this task and ``key``."""
        self.record.values[(self.task_id, key)].append(value)

    def kept(self, task_id: str, key: str) -> Any:
        """Return what ``task_id`` kept, as Airflow would: a list for a mapped task, else the last value."""
        values = self.record.values.get((task_id, key), [])
        if task_id in self.record.mapped:
            return list(values)
        return values[-1] if values else None

    def announce(self, extra: dict[str, Any]) -> None:
        """Record the asset event's extra."""
        self.record.extras.append(extra)

    def follow_up(self, run: FollowUpRun) -> None:
        """Record the follow-up run (the caller decides whether to start it)."""
        self.record.follow_ups.append(run)

    def skip_downstream(self, task_ids: list[str], result: Any) -> None:
        """Record ``task_ids`` as skipped and ``result`` as this task's return value; the step goes on to return."""
        self.keep("return_value", result)
        self.record.skipped.extend(task_ids)
