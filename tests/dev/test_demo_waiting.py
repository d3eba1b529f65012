"""``make demo`` waits as long as Airflow needs, says what it waits for, and gives up with one sentence.

A fake clock makes a slow start (longer than the fixed 240 s the demo used to allow) happen in no time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dev import demo
from dev.waiting import Waiter, WaitTimeout

pytestmark = pytest.mark.dev


class FakeClock:
    """Monotonic time that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class SlowAirflow:
    """Stands in for AirflowStandalone: its API answers ``ready_after`` seconds after launch (never if None)."""

    def __init__(self, home: Path, clock: FakeClock, ready_after: float | None) -> None:
        self.home = home
        self.url = "http://127.0.0.1:8080"
        self.clock = clock
        self.ready_after = ready_after
        self.launched_at: float | None = None
        self.stopped = False

    def launch(self) -> None:
        self.launched_at = self.clock.now

    def ready(self) -> bool | None:
        assert self.launched_at is not None
        if self.ready_after is None or self.clock.now - self.launched_at < self.ready_after:
            return None
        return True

    def stop(self) -> None:
        self.stopped = True


def test_a_start_slower_than_the_old_fixed_240_seconds_is_waited_for_and_the_wait_is_shown(tmp_path: Path) -> None:
    clock, lines = FakeClock(), list[str]()
    airflow = SlowAirflow(tmp_path, clock, ready_after=420)
    waiter = Waiter(20 * 60, report=lines.append, clock=clock.clock, sleep=clock.sleep)
    demo.start_airflow(airflow, waiter)  # type: ignore[arg-type]
    assert 420 <= clock.now < 425
    assert lines[0] == f"waiting for Airflow to start and answer at {airflow.url} (up to 1200 s)"
    assert f"still waiting for Airflow to start and answer at {airflow.url}: 240 s so far, up to 1200 s" in lines
    assert lines[-1] == f"Airflow to start and answer at {airflow.url}: done after 420 s"


def test_the_wait_gives_up_at_its_limit_and_says_what_it_waited_for() -> None:
    clock = FakeClock()
    waiter = Waiter(90, report=lambda _: None, clock=clock.clock, sleep=clock.sleep)
    with pytest.raises(WaitTimeout, match=r"^gave up waiting for the first run after 90 s$"):
        waiter.until("the first run", lambda: None)
    assert clock.now == 90


def test_make_demo_on_a_machine_too_busy_for_the_limit_ends_with_one_sentence_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    started: list[SlowAirflow] = []

    def slow(home: Path, **_: object) -> SlowAirflow:
        started.append(SlowAirflow(home, clock, ready_after=None))
        return started[-1]

    monkeypatch.setattr(demo, "AirflowStandalone", slow)
    argv = ["--logs", "10", "--events-per-second", "0", "--wait-minutes", "7", "--workdir", str(tmp_path)]
    assert demo.main(argv, clock=clock.clock, sleep=clock.sleep) == 1
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert "still waiting for Airflow to start" in out
    last = out.splitlines()[-1]
    log = tmp_path / "airflow" / "standalone.log"
    assert last.endswith(
        f"The demo gave up waiting for Airflow to start and answer at {started[0].url} after 420 s (the limit is "
        f"7 min per step): on a busy machine Airflow needs longer, so run `make demo ARGS='--wait-minutes 20'` "
        f"(or set DEMO_WAIT_MINUTES=20), and read {log} to see what Airflow was doing."
    )
    assert started[0].stopped


def test_the_limit_comes_from_the_environment_and_a_bad_one_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEMO_WAIT_MINUTES", "0")
    with pytest.raises(SystemExit) as exited:
        demo.main([])
    assert exited.value.code == 2
    assert "--wait-minutes must be a positive number of minutes, not 0" in capsys.readouterr().err


def test_runs_that_did_not_succeed_end_the_demo_with_one_sentence_saying_where_to_look(tmp_path: Path) -> None:
    airflow = SlowAirflow(tmp_path, FakeClock(), ready_after=0)
    assert demo.what_went_wrong(["success", "success"], 0, 2, airflow) is None  # type: ignore[arg-type]
    assert demo.what_went_wrong(["success", "failed"], 0, 1, airflow) == (  # type: ignore[arg-type]
        "The demo ran, but its runs ended success, failed and the alerts receiver got 1 notice for 2 runs: read "
        f"the failed task's log under {tmp_path / 'logs'}, or run `make demo ARGS=--keep` to look at the runs in "
        "the Airflow UI."
    )
