"""The rate cap's schedule: slots 1/rate apart, no window ever over the rate however late senders wake,
shared through its file, paused by a 429."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.http.rate_cap import (
    FileRateCap,
    PauseBeganError,
    Schedule,
    open_rate_cap,
    window_for,
)

pytestmark = pytest.mark.unit


class Clock:
    """A clock that only sleeping moves (plus what a test adds to stand for a late wake-up)."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


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


def test_a_sender_that_wakes_inside_a_pause_set_after_its_slot_was_taken_waits_for_a_slot_after_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    other = FileRateCap(tmp_path / "hook.next", 10, clock=clock)

    def sleep_while_a_pause_begins(seconds: float) -> None:  # the receiver answers someone else 429 meanwhile
        if not clock.slept:
            other.hold_off(2)
        clock.sleep(seconds)

    cap = FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=sleep_while_a_pause_begins)
    for _ in range(3):
        cap.take()  # slots at +0, +0.1, +0.2: the next is +0.3
    cap.pace()  # asleep until its slot at +0.3, during which the pause begins
    with pytest.raises(PauseBeganError):
        cap.start()  # nothing recorded: the slot it woke for lies inside the pause
    cap.pace()  # a new slot, after the pause
    assert cap.start() == 0.0

    assert clock.slept == [0.3, 1.7]  # to its slot, then (a new slot) to the end of the 2 s pause


def test_a_late_sender_cannot_put_more_than_the_rate_into_one_second(tmp_path: Path) -> None:
    """A 20/s cap: one sender wakes 45 ms after its slot, the next 20 on time; the 21st waits for the
    late one to be a second old instead of making 21 requests in one second."""
    clock = Clock()
    cap = FileRateCap(tmp_path / "hook.next", 20, clock=clock, sleep=clock.sleep)
    start = clock.now
    assert cap.take() == 0.0
    clock.now += 0.045  # woke late
    assert cap.confirm() == 0.0
    starts = [clock.now]
    for _ in range(20):
        clock.sleep(cap.take())
        wait = cap.confirm()
        while wait:  # the window is full: wait as told, then confirm again
            clock.sleep(wait)
            wait = cap.confirm()
        starts.append(clock.now)

    assert round(starts[19] - start, 6) == 0.95  # punctual requests kept their slots
    assert round(starts[20] - starts[0], 6) == 1.0  # the 21st started a full second after the late first


def test_pace_sleeps_to_the_slot_and_start_waits_while_the_window_is_full(tmp_path: Path) -> None:
    """The two steps a sender takes apart (pace before building the request, start just before its bytes):
    a start 0.3 s late fills the window of a 2/s cap for a second, so a later punctual request waits for it."""
    clock = Clock()
    cap = FileRateCap(tmp_path / "hook.next", 2, clock=clock, sleep=clock.sleep)
    assert cap.pace() == 0.0
    clock.now += 0.3  # the request was built slowly: it starts at +0.3
    assert cap.start() == 0.0
    assert round(cap.pace(), 6) == 0.2  # its slot at +0.5
    assert cap.start() == 0.0
    assert round(cap.pace(), 6) == 0.5  # its slot at +1.0, but +0.3 and +0.5 are in the window
    assert round(cap.start(), 6) == 0.3  # so it starts at +1.3, a second after the late one
    assert clock.slept == [0.2, 0.5, 0.3]


def test_a_start_inside_a_pause_begun_after_the_slot_was_taken_records_nothing_and_the_next_slot_follows_it(
    tmp_path: Path,
) -> None:
    clock = Clock()
    cap = FileRateCap(tmp_path / "hook.next", 10, clock=clock, sleep=clock.sleep)
    assert cap.pace() == 0.0
    FileRateCap(tmp_path / "hook.next", 10, clock=clock).hold_off(2)  # another sender was answered 429
    with pytest.raises(PauseBeganError):
        cap.start()
    assert Schedule.parse((tmp_path / "hook.next").read_text()).started == ()
    assert round(cap.pace(), 6) == 2.0
    assert cap.start() == 0.0


def test_a_torn_or_old_schedule_file_starts_afresh(tmp_path: Path) -> None:
    clock = Clock()
    for text in ("12.3x", "1234.5", "nan 1 2", ""):
        (tmp_path / "hook.next").write_text(text)
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


@pytest.mark.parametrize(("rate", "count", "window"), [(20, 20, 1.0), (2.5, 3, 1.2), (0.5, 1, 2.0), (1, 1, 1.0)])
def test_the_window_holds_the_rate_rounded_up(rate: float, count: int, window: float) -> None:
    assert window_for(rate)[0] == count
    assert window_for(rate)[1] == pytest.approx(window)


@given(st.text(alphabet="0123456789. -+einfa\n", max_size=80) | st.text(max_size=40))
def test_any_text_in_the_store_reads_as_a_schedule_and_a_schedule_reads_back_as_itself(text: str) -> None:
    schedule = Schedule.parse(text)
    assert Schedule.parse(schedule.text()) == schedule


@given(
    rate=st.sampled_from([1.0, 2.5, 5.0, 20.0]),
    steps=st.lists(
        st.tuples(st.sampled_from(["reserve", "confirm", "hold"]), st.floats(0, 0.3), st.floats(0, 2)), max_size=300
    ),
)
def test_no_window_ever_holds_more_starts_than_its_count_whatever_the_order_and_lateness(
    rate: float, steps: list[tuple[str, float, float]]
) -> None:
    count, window = window_for(rate)
    schedule, now, starts = Schedule(), 1_000.0, []
    for step, later, hold in steps:
        now += later
        if step == "reserve":
            schedule, _ = schedule.reserve(now, 1 / rate)
        elif step == "hold":
            schedule = schedule.hold(now, hold)
        else:
            schedule, verdict = schedule.confirm(now, count, window)
            if verdict == 0.0:
                starts.append(now)
                assert now >= schedule.held_until
    assert all(starts[i + count] - starts[i] >= window - 1e-9 for i in range(len(starts) - count))
