"""Benchmark 12's account of where tenant 0's runs waited (spans between the REST API's moments, the pool) and of
its own waits for the stack (what they say while they wait, and when they give up)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.pipelines import ManyStack, _spans, describe_pool, missing_components

pytestmark = pytest.mark.unit


def test_spans_are_the_seconds_between_two_moments_of_each_item_that_has_both() -> None:
    items: list[dict[str, Any]] = [
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": "2026-12-04T10:00:02+00:00"},
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": "2026-12-04T10:01:30+00:00"},
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": None},
    ]

    assert _spans(items, "scheduled_when", "queued_when") == "2.0 / 90.0 / 90.0s"
    assert _spans(items[2:], "scheduled_when", "queued_when") == "none"


def test_the_pool_line_gives_median_and_most_of_each_kind_of_slot() -> None:
    samples = [
        {"running_slots": 5, "queued_slots": 0, "scheduled_slots": 40},
        {"running_slots": 5, "queued_slots": 1, "scheduled_slots": 90},
        {"running_slots": 1, "queued_slots": 0, "scheduled_slots": 0},
    ]

    line = describe_pool("auth0_webhooks", samples)

    assert line == "pool auth0_webhooks over 3 samples (median / max): running 5 / 5, queued 0 / 1, scheduled 40 / 90"
    assert describe_pool("auth0_webhooks", []) == "pool auth0_webhooks: no sample"


class _Clock:
    """A clock that each sleep moves forward: the wait runs without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_long_wait_says_every_minute_how_far_it_got_and_the_timeout_says_where_it_stood(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = _Clock()

    with pytest.raises(TimeoutError, match=r"waited 150s for the first runs \(87 of 100 runs started\)"):
        ManyStack.wait(
            "the first runs",
            lambda: False,
            150,
            status=lambda: "87 of 100 runs started",
            clock=clock,
            sleep=clock.sleep,
        )

    said = capsys.readouterr().out.splitlines()
    assert said == [
        "    still waiting for the first runs after 60s: 87 of 100 runs started",
        "    still waiting for the first runs after 120s: 87 of 100 runs started",
    ]


def test_a_poll_without_an_answer_is_not_done_and_the_wait_says_why() -> None:
    clock = _Clock()

    def locked() -> bool:
        raise RuntimeError("GET /dags: 500 Database error")

    with pytest.raises(TimeoutError, match=r"\(the API server answered a database error\)"):
        ManyStack.wait("the DAGs", locked, 10, status=lambda: "never asked", clock=clock, sleep=clock.sleep)


def test_the_wait_ends_when_done_and_other_errors_are_raised() -> None:
    clock = _Clock()
    answers = iter([False, False, True])

    ManyStack.wait("the runs", lambda: next(answers), 60, clock=clock, sleep=clock.sleep)

    assert clock.now == 4

    def broken() -> bool:
        raise RuntimeError("GET /dags: 404 Not Found")

    with pytest.raises(RuntimeError, match="404"):
        ManyStack.wait("the DAGs", broken, 60, clock=clock, sleep=clock.sleep)


def test_missing_components_names_each_airflow_process_that_is_gone() -> None:
    titles = [
        "/venv/bin/python /venv/bin/airflow standalone",
        "/venv/bin/python /venv/bin/airflow dag-processor",
        "/venv/bin/python /venv/bin/airflow triggerer",
        "airflow api_server -- host:127.0.0.1 port:44193",
    ]

    assert missing_components(titles) == ["the scheduler"]
    assert missing_components([*titles, "/venv/bin/python /venv/bin/airflow scheduler"]) == []
    assert missing_components([]) == ["the scheduler", "the dag-processor", "the triggerer", "the API server"]
