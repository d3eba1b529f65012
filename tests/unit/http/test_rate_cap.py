"""The rate cap's schedule: one slot every 1/rate seconds, shared through its file, pushed back by a 429."""

from __future__ import annotations

from pathlib import Path

import pytest

from auth0_log_webhooks.http.rate_cap import FileRateCap, open_rate_cap, wait_for_slot

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))


def test_requests_get_slots_one_interval_apart_and_an_idle_cap_does_not_burst(tmp_path: Path) -> None:
    clock = Clock()
    cap = FileRateCap(tmp_path / "hook.next", 20, clock=clock, sleep=clock.sleep)

    waits = [round(cap.take(), 6) for _ in range(4)]
    assert waits == [0.0, 0.05, 0.1, 0.15]

    clock.now += 10  # idle: the next request goes at once, the one after waits its interval
    assert [round(cap.take(), 6) for _ in range(2)] == [0.0, 0.05]


def test_two_caps_on_the_same_file_share_one_schedule(tmp_path: Path) -> None:
    clock = Clock()
    first = FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=clock.sleep)
    second = FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=clock.sleep)
    assert [round(c.take(), 6) for c in (first, second, first, second)] == [0.0, 0.1, 0.2, 0.3]


def test_a_hold_off_delays_every_sender_past_the_wait(tmp_path: Path) -> None:
    clock = Clock()
    cap = FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=clock.sleep)
    cap.take()
    FileRateCap(tmp_path / "hook.next", 10, clock=clock).hold_off(5)
    assert round(cap.take(), 6) == 5.0


def test_a_torn_schedule_file_starts_afresh(tmp_path: Path) -> None:
    (tmp_path / "hook.next").write_text("12.3x")
    clock = Clock()
    assert FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=clock.sleep).take() == 0.0


def test_the_store_names_a_folder_or_redis_and_a_bad_one_is_named(tmp_path: Path) -> None:
    cap = open_rate_cap("", "auth0_webhook_default", 5, default_folder=tmp_path)
    assert isinstance(cap, FileRateCap)
    assert cap.path == tmp_path / "auth0_webhook_default.next"
    assert isinstance(open_rate_cap(f"file://{tmp_path}/caps", "a/b", 5, default_folder=tmp_path), FileRateCap)
    with pytest.raises(ValueError, match="rate cap store 'caps' is neither"):
        open_rate_cap("caps", "x", 5, default_folder=tmp_path)
    with pytest.raises(ValueError, match="more than 0 requests a second"):
        FileRateCap(tmp_path / "x", 0)


def test_a_sender_that_wakes_late_takes_a_new_slot_instead_of_crowding_the_next_second() -> None:
    slots = iter([0.05, 0.05])
    moments = iter([0.0, 0.0, 0.1, 0.1, 0.15, 0.15])  # overslept by 0.05 s, then on time

    waited = wait_for_slot(lambda: next(slots), lambda seconds: None, 0.025, monotonic=lambda: next(moments))

    assert waited == 0.15
