"""The bench registry: every entry reachable with its parameters, the quick form covering every headline."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import REGISTRY, Benchmark, parameters_of, parse_args, registered, run_one
from bench.report import Row, table, verdict_line

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("benchmark", REGISTRY, ids=[b.name for b in REGISTRY])
def test_every_entry_names_a_function_taking_its_quick_and_full_parameters(benchmark: Benchmark) -> None:
    entry = registered(benchmark.name)
    taken = parameters_of(entry)
    assert set(entry.full) <= taken, f"{entry.name}: {set(entry.full) - taken} not parameters of {entry.function}"
    assert set(entry.quick) <= taken
    assert set(entry.quick) == set(entry.full), f"{entry.name}: the quick and full forms set different parameters"


def test_names_are_unique_and_the_quick_form_runs_every_default_benchmark() -> None:
    names = [b.name for b in REGISTRY]
    assert len(names) == len(set(names))
    quick = parse_args(["--quick"])
    assert [b.name for b, _ in quick.runs] == [b.name for b in REGISTRY if b.default]
    assert all(params == dict(b.quick) for b, params in quick.runs)
    full = parse_args([])
    assert all(params == dict(b.full) for b, params in full.runs)


@pytest.mark.parametrize("form", ["quick", "full"])
def test_both_forms_of_the_hundred_pipelines_print_the_idle_and_the_event_headlines(form: str) -> None:
    """Benchmark 12's headlines: the parse, the scheduler and dag-processor idle, the triggerer and freshness."""
    params = getattr(registered("pipelines"), form)
    assert "event" in params["modes"]
    assert "cron" in params["modes"] or params["event_idle_minutes"] > 0


def test_set_and_the_shorthands_change_only_the_named_parameters() -> None:
    plan = parse_args(
        ["--quick", "--only", "e2e", "--only", "million", "--set", "e2e.rounds=3", "--million-logs", "500"]
    )
    runs = {b.name: params for b, params in plan.runs}
    assert runs == {"e2e": {"logs": 10_000, "rounds": 3}, "million": {"logs": 500, "small": 50}}
    assert {b.name for b, _ in parse_args(["--only", "distributed"]).runs} == {"distributed"}


def test_only_idle_runs_the_freshness_stack_without_its_traffic_window() -> None:
    (benchmark, params), *_ = parse_args(["--only", "idle"]).runs
    assert benchmark.name == "freshness"
    assert params["traffic_minutes"] == 0.0
    assert params["idle_minutes"] == 5.0


@pytest.mark.parametrize("bad", ["e2e.nope=1", "nope.logs=1", "e2e.logs"])
def test_a_wrong_set_stops_with_a_message_naming_it(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--set", bad])
    err = capsys.readouterr().err
    assert "--set" in err or "has no parameter 'nope'" in err


def test_a_failing_benchmark_is_a_missed_row_and_the_verdict_lines_name_the_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = registered("ratecap")

    def broken(workdir: Path) -> list[Row]:
        raise RuntimeError("the sink did not start")

    monkeypatch.setattr(type(entry), "load", lambda self: broken)
    rows = run_one(entry, {}, tmp_path)
    assert [r.verdict for r in rows] == ["MISSED"]
    out = capsys.readouterr().out
    assert "RuntimeError: the sink did not start" in out
    assert "-> MISSED" in out
    assert verdict_line(Row("2 library / bare", "1.20x", "<= 1.5x", True)).endswith("target <= 1.5x -> MET")
    lines = table([Row("a", "1", "<= 2", True), Row("longer name", "3", "n/a", None)])
    assert len({len(line) for line in lines}) == 1
    assert lines[-1].rstrip().endswith("n/a")


def test_each_benchmark_gets_its_work_directory_made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Benchmarks 6 and 7 start their emulator with its log file in the directory they are given: the quick form
    lost both to FileNotFoundError when nothing had created it."""
    entry = registered("scheduler")

    def writes_a_log(workdir: Path) -> list[Row]:
        (workdir / "emulator.stderr.log").write_text("up\n")
        return [Row("6 scheduler", "1", "n/a", None)]

    monkeypatch.setattr(type(entry), "load", lambda self: writes_a_log)
    assert [r.verdict for r in run_one(entry, {}, tmp_path)] == ["n/a"]
    assert (tmp_path / "scheduler" / "emulator.stderr.log").read_text() == "up\n"
