"""The quick form's shared stack: one pipelines file of every part, the runner's order, one idle window read twice."""

from __future__ import annotations

import inspect
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as runner
from bench.__main__ import REGISTRY, Benchmark, parse_args, registered, run_one
from bench.freshness import airflow_json
from bench.report import Row
from bench.stack import SharedStack, StackPart, connection_env, merged_env, merged_pipelines

pytestmark = pytest.mark.unit


def part(name: str, *ids: str, env: dict[str, str] | None = None) -> StackPart:
    return StackPart(name, [{"id": dag_id, "kind": "authentication"} for dag_id in ids], env=env or {})


def test_the_pipelines_file_holds_every_part_and_refuses_an_id_two_parts_use() -> None:
    document = merged_pipelines([part("scheduler", "a"), part("pipelines", "tenant_000", "tenant_001")])
    assert [entry["id"] for entry in document["pipelines"]] == ["a", "tenant_000", "tenant_001"]
    with pytest.raises(ValueError, match="'a' is in the parts of both scheduler and freshness"):
        merged_pipelines([part("scheduler", "a"), part("freshness", "a")])


def test_the_environment_merges_and_refuses_one_variable_set_two_ways() -> None:
    one = part("freshness", env=connection_env("x_auth0", {"conn_type": "auth0", "host": "127.0.0.1"}))
    assert json.loads(merged_env([one, part("pipelines")])["AIRFLOW_CONN_X_AUTH0"])["host"] == "127.0.0.1"
    assert merged_env([part("a", env={"K": "1"}), part("b", env={"K": "1"})]) == {"K": "1"}
    with pytest.raises(ValueError, match="K is set by two parts differently"):
        merged_env([part("a", env={"K": "1"}), part("b", env={"K": "2"})])


def test_the_quick_form_runs_the_others_then_the_cpu_blind_ones_beside_the_start_then_the_stack_ones() -> None:
    before, beside, on_stack = parse_args(["--quick"]).order()
    assert [b.name for b, _ in before] == ["read", "e2e", "slow", "ratecap", "deliverylog"]
    assert [b.name for b, _ in beside] == ["memory", "million"]
    assert [b.name for b, _ in on_stack] == ["scheduler", "freshness", "pipelines"]


@pytest.mark.parametrize(
    "argv",
    [[], ["--quick", "--own-stacks"], ["--quick", "--only", "pipelines", "--only", "memory"]],
    ids=["full form", "own stacks", "one stack benchmark"],
)
def test_without_two_stack_benchmarks_in_the_quick_form_every_run_keeps_the_registrys_order(argv: list[str]) -> None:
    plan = parse_args(argv)
    assert not plan.shares_a_stack
    before, beside, on_stack = plan.order()
    assert (before, beside, on_stack) == (plan.runs, [], [])


@pytest.mark.parametrize("benchmark", [b for b in REGISTRY if b.stack], ids=lambda b: b.name)
def test_every_stack_benchmark_gives_a_part_and_takes_the_stack(benchmark: Benchmark) -> None:
    module = __import__(benchmark.module, fromlist=["stack_part"])
    taken = inspect.signature(module.stack_part).parameters
    assert "workdir" in taken
    assert any(p.kind is p.VAR_KEYWORD for p in taken.values()) or set(benchmark.quick) <= set(taken)
    assert "stack" in inspect.signature(benchmark.load()).parameters


def test_a_benchmark_on_the_shared_stack_gets_it_and_its_parameters_line_does_not_name_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = registered("freshness")
    given: dict[str, Any] = {}

    def takes(workdir: Path, *, minutes: float, stack: SharedStack | None = None) -> list[Row]:
        given.update(minutes=minutes, stack=stack)
        return [Row("8 freshness", "1", "n/a", None)]

    monkeypatch.setattr(type(entry), "load", lambda self: takes)
    shared = SharedStack(tmp_path / "stack")
    run_one(entry, {"minutes": 1.0}, tmp_path, shared)
    assert given == {"minutes": 1.0, "stack": shared}
    assert 'parameters {"minutes": 1.0}' in capsys.readouterr().out


def test_a_failed_start_fails_every_benchmark_asking_for_the_stack_with_its_error(tmp_path: Path) -> None:
    shared = SharedStack(tmp_path)
    with pytest.raises(RuntimeError, match="never started"):
        shared.ready()

    def broken() -> None:
        raise OSError("port in use")

    shared.start = broken  # type: ignore[method-assign]
    shared.start_in_background()
    with pytest.raises(RuntimeError, match="did not start: OSError: port in use"):
        shared.ready(timeout=10)
    shared.add(part("late", "x"))  # no Airflow came up, so a part may still be added; stop stops nothing
    shared.stop()


def test_a_part_that_was_not_ready_fails_its_own_benchmark_only(tmp_path: Path) -> None:
    shared = SharedStack(tmp_path)
    shared.airflow = "airflow"
    shared.failed["freshness"] = RuntimeError("the first run of bench_freshness_event ended failed")
    shared._done.set()
    shared._thread = threading.Thread(target=lambda: None)
    assert shared.ready("pipelines") == "airflow"
    with pytest.raises(RuntimeError, match="its part of the shared stack was not ready: RuntimeError: the first run"):
        shared.ready("freshness")


def test_a_connection_of_the_settings_file_becomes_airflows_json_form() -> None:
    """The shared stack passes connections as AIRFLOW_CONN_*: a "type" key instead of "conn_type" left the
    freshness pipeline's connection undefined and its first run failed."""
    conn = {"conn_type": "auth0", "conn_host": "127.0.0.1", "conn_port": 8080, "conn_extra": {"scheme": "http"}}
    assert airflow_json(conn) == {"conn_type": "auth0", "host": "127.0.0.1", "port": 8080, "extra": {"scheme": "http"}}


class FakeTenant:
    def __init__(self) -> None:
        self.state = type("State", (), {"counters": {"requests": 0, "log_requests": 0}})()


class FakeSampler:
    def __init__(self, root: int, servers: dict[int, str]) -> None:
        self.root = root

    def start(self) -> None:
        pass

    def stop(self) -> dict[str, float]:
        return {"scheduler": 3.0, "machine": 9.0}


def test_one_idle_window_is_measured_once_and_read_by_the_next_benchmark_asking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tenant = FakeTenant()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        tenant.state.counters["requests"] += 5

    monkeypatch.setattr("bench.stack.time.sleep", sleep)
    monkeypatch.setattr("bench.scheduler.CpuSampler", FakeSampler)
    shared = SharedStack(tmp_path)
    shared.add(StackPart("freshness", [{"id": "f"}], tenants={"freshness event": tenant}))
    shared.airflow = type("Airflow", (), {"process": type("P", (), {"pid": 1})()})()
    shared._done.set()
    shared._thread = threading.Thread(target=lambda: None)
    first = shared.idle_window(0.5, "benchmark 9")
    again = shared.idle_window(0.5, "benchmark 12")
    assert again is first
    assert slept == [30.0]
    assert first.counted("freshness event", "requests") == 5
    assert first.cpu["scheduler"] == 3.0
    assert first.measured_by == "benchmark 9"
    assert shared.idle_window(1.0, "benchmark 12") is not first  # another length is another window


def test_the_runner_starts_the_stack_with_every_part_and_runs_a_benchmark_whose_part_failed_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(SharedStack, "start_in_background", lambda self: started.append(self.dag_ids()))

    def part_of(self: Benchmark, workdir: Path, params: dict[str, Any]) -> StackPart | None:
        if self.name == "freshness":
            raise RuntimeError("no port")
        return part(self.name, f"{self.name}_dag") if self.name == "scheduler" else None

    monkeypatch.setattr(Benchmark, "part", part_of)
    _, _, on_stack = parse_args(["--quick"]).order()
    shared = SharedStack(tmp_path / "stack")
    parts = runner.start_shared_stack(shared, on_stack, tmp_path)
    assert parts == {"scheduler": True, "freshness": False, "pipelines": False}
    assert started == [["scheduler_dag"]]
