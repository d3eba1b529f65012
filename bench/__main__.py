"""``make bench``: the registry of the benchmarks of the Auth0 log webhooks pipeline, and their runner.

Each benchmark is a module of its own in ``bench/`` with a function (``run`` unless the entry names
another) called as ``function(workdir, **parameters)``: it prints its numbers as it goes and returns
its headline rows (:class:`bench.report.Row`: the number, its target and MET or MISSED). An entry of
:data:`REGISTRY` names the benchmark (``--only NAME``), its module and function, the headline it
prints, and two sets of parameters: ``full`` (``make bench``) and ``quick`` (``make bench-quick``,
``python -m bench --quick``: every headline in a few minutes, smaller sizes and shorter windows).

The benchmarks that run through ``airflow standalone`` (``stack=True``: 6, 8/9 and 12) share one in the
quick form when two or more of them run (bench/stack.py): each gives its part of it (``stack_part`` in
its module), the runner starts it once, in the background while the benchmarks whose verdicts do not
turn on CPU time (``beside_start=True``: 3 and 7 read peak memory) run, and passes it to each as
``stack``; it stops it at the end. So the quick form runs the others first, then those two, then the
stack's, each group in the registry's order; ``--own-stacks`` gives each
its own stack as the full form does.

After each benchmark the runner prints a verdict line per headline; at the end a summary table of
every headline (in the registry's order) and its verdict, and the wall time. A benchmark that fails is
reported in the table as MISSED with its error, and the others still run. ``--list`` prints the registry; ``--set
NAME.KEY=VALUE`` changes one parameter (the value read as JSON, else as text).

To add a benchmark: write ``bench/<name>.py`` with ``run(workdir, **parameters) -> list[Row]`` and
add an entry here (a unit test checks that every entry's function exists and takes its parameters).
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.pipeline import prepare_airflow
from bench.report import Row, say, table, verdict_line
from bench.stack import SharedStack, StackPart


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: where it lives, what it prints and its parameters in the full and quick forms."""

    name: str
    """Its ``--only`` name."""
    number: str
    """Its number in docs/benchmarks.md."""
    module: str
    headline: str
    """The numbers it prints with a verdict (its target), in a phrase."""
    full: Mapping[str, Any]
    quick: Mapping[str, Any]
    function: str = "run"
    default: bool = True
    """Run by ``make bench`` and ``make bench-quick`` without ``--only``; False needs ``--only NAME``."""
    needs: str = ""
    """What it needs beyond this repository, said when it is run."""
    stack: bool = False
    """Runs through ``airflow standalone``: in the quick form it runs on the shared stack (its module's
    ``stack_part(workdir, **parameters)`` gives its part, its function takes ``stack``)."""
    beside_start: bool = False
    """Its verdicts do not turn on CPU time (peak memory; a cap its own limiter keeps): in the quick form it runs
    while the shared stack starts."""

    def load(self) -> Callable[..., Sequence[Sequence[Any]]]:
        """Import the module and return the benchmark's function."""
        found: Callable[..., Sequence[Sequence[Any]]] = getattr(importlib.import_module(self.module), self.function)
        return found

    def part(self, workdir: Path, params: Mapping[str, Any]) -> StackPart | None:
        """Its part of the shared stack (servers started), or None if these parameters need no stack of it."""
        found: Callable[..., StackPart | None] = importlib.import_module(self.module).stack_part
        return found(workdir, **params)


REGISTRY: tuple[Benchmark, ...] = (
    Benchmark(
        "read",
        "1",
        "bench.read",
        "read time over the token bucket's floor (<= 1.10x) and 429s served (0)",
        full={"logs": 20_000},
        quick={"logs": 3_000},
    ),
    Benchmark(
        "e2e",
        "2",
        "bench.e2e",
        "library over bare requests script, wall time (<= 1.5x)",
        full={"logs": 100_000, "rounds": 2},
        quick={"logs": 10_000, "rounds": 1},
    ),
    Benchmark(
        "memory",
        "3",
        "bench.memory",
        "peak RSS of fetch and deliver (<= 300 MB) and its growth over 10x the logs (<= 1.25x)",
        full={"logs": 100_000},
        quick={"logs": 10_000},
        beside_start=True,
    ),
    Benchmark(
        "slow",
        "4",
        "bench.slow",
        "delivered logs/s over slots x batch / latency to a 200 ms receiver (>= 90%)",
        full={"logs": 20_000},
        quick={"logs": 10_000},
    ),
    Benchmark(
        "distributed",
        "5",
        "bench.distributed",
        "1,000,000 logs on PostgreSQL + Celery + S3: logs/s (>= 3,200), each log once, peak RSS per task (<= 300 MB)",
        full={"logs": 1_000_000},
        quick={"logs": 50_000},
        default=False,
        needs="PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (make bench-distributed)",
    ),
    Benchmark(
        "scheduler",
        "6",
        "bench.scheduler",
        "logs/s of one triggered run through airflow standalone (>= 5,000) and its time over in process",
        full={"logs": 100_000, "rounds": 2},
        quick={"logs": 10_000, "rounds": 1},
        stack=True,
    ),
    Benchmark(
        "million",
        "7",
        "bench.million",
        "peak RSS of fetch, deliver and commit at 1,000,000 logs over 100,000 (<= 1.25x, <= 300 MB)",
        full={"logs": 1_000_000, "small": 100_000},
        quick={"logs": 50_000, "small": 5_000},
        function="bench_million",
        beside_start=True,
    ),
    Benchmark(
        "freshness",
        "8, 9",
        "bench.freshness",
        "log date to arrival p95 in event mode (<= 30 s) and idle runs an hour (<= 12), through airflow standalone",
        full={"modes": ["cron", "event"], "traffic_minutes": 5.0, "idle_minutes": 5.0},
        quick={"modes": ["event"], "traffic_minutes": 0.5, "idle_minutes": 0.5},
        stack=True,
    ),
    Benchmark(
        "ratecap",
        "10",
        "bench.rate_cap",
        "most requests in any second to a receiver capped at 20/s (<= 21) and throughput (>= 90% of the cap)",
        full={"tasks_per_pipeline": 8, "messages_per_task": 12},
        quick={"tasks_per_pipeline": 2, "messages_per_task": 48},
    ),
    Benchmark(
        "deliverylog",
        "11",
        "bench.delivery_log",
        "delivery time with the delivery log over without it (<= +5%), its bytes a log and a trace lookup",
        full={"sizes": [100_000, 1_000_000], "rounds": 2},
        quick={"sizes": [10_000, 50_000], "rounds": 1},
    ),
    Benchmark(
        "pipelines",
        "12",
        "bench.pipelines",
        "100 pipelines: the DAG file's parse (< 2 s); scheduler + dag-processor idle on cron, the triggerer with "
        "100 watchers (< 25% of one core each) and a live tenant's freshness p95 (< 30 s) in event mode",
        full={
            "count": 100,
            "stack_count": 100,
            "parse_repeats": 3,
            "modes": ["cron", "event"],
            "cron_minutes": 10.0,
            "traffic_minutes": 5.0,
            "event_idle_minutes": 0.0,
            "parse_every": None,
        },
        quick={
            "count": 100,
            "stack_count": 20,
            "parse_repeats": 1,
            "modes": ["event"],
            "cron_minutes": 1.0,
            "traffic_minutes": 0.5,
            "event_idle_minutes": 0.5,
            "parse_every": None,
        },
        stack=True,
    ),
)


def registered(name: str) -> Benchmark:
    """The registry's entry named ``name``.

    :raises KeyError: naming the known benchmarks.
    """
    for benchmark in REGISTRY:
        if benchmark.name == name:
            return benchmark
    raise KeyError(f"no benchmark {name!r}; known: {', '.join(b.name for b in REGISTRY)}")


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass
class Plan:
    """The benchmarks to run, in the registry's order, each with its parameters."""

    runs: list[tuple[Benchmark, dict[str, Any]]] = field(default_factory=list)
    quick: bool = False
    keep: bool = False
    own_stacks: bool = False

    @property
    def shares_a_stack(self) -> bool:
        """The quick form with two or more benchmarks that run through ``airflow standalone``, not ``--own-stacks``."""
        return self.quick and not self.own_stacks and sum(b.stack for b, _ in self.runs) >= 2

    def order(self) -> tuple[list[tuple[Benchmark, dict[str, Any]]], ...]:
        """The runs in three groups, each in the registry's order: before the shared stack starts, while it starts,
        on it. Without a shared stack every run is in the first group."""
        if not self.shares_a_stack:
            return list(self.runs), [], []
        before = [(b, p) for b, p in self.runs if not b.stack and not b.beside_start]
        beside = [(b, p) for b, p in self.runs if b.beside_start and not b.stack]
        on_stack = [(b, p) for b, p in self.runs if b.stack]
        return before, beside, on_stack


LEGACY_OPTIONS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "logs": (("e2e", "logs"), ("memory", "logs"), ("slow", "logs")),
    "read_logs": (("read", "logs"),),
    "rounds": (("e2e", "rounds"), ("scheduler", "rounds")),
    "scheduler_logs": (("scheduler", "logs"),),
    "distributed_logs": (("distributed", "logs"),),
    "mode": (("freshness", "modes"),),
    "traffic_minutes": (("freshness", "traffic_minutes"),),
    "idle_minutes": (("freshness", "idle_minutes"),),
    "tracemalloc": (("memory", "trace"),),
}
"""The options older than ``--set`` and the parameters each sets (``--million-logs`` sets two)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of the Auth0 log webhooks pipeline: each prints its numbers and MET or MISSED, "
        "then a summary table.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="every default benchmark with its quick parameters (under 5 minutes)"
    )
    parser.add_argument(
        "--only", choices=[*(b.name for b in REGISTRY), "idle"], action="append", help="run only these (repeatable)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME.KEY=VALUE", help="change one parameter")
    parser.add_argument("--list", action="store_true", help="print the registry and exit")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--own-stacks",
        action="store_true",
        help="in the quick form too, each benchmark through airflow standalone starts its own (as the full form)",
    )
    legacy = parser.add_argument_group("shorthands for --set")
    legacy.add_argument("--logs", type=int, help="e2e.logs, memory.logs and slow.logs")
    legacy.add_argument("--read-logs", type=int, help="read.logs")
    legacy.add_argument("--rounds", type=int, help="e2e.rounds and scheduler.rounds")
    legacy.add_argument("--scheduler-logs", type=int, help="scheduler.logs")
    legacy.add_argument("--million-logs", type=int, help="million.logs (and million.small a tenth of it)")
    legacy.add_argument("--distributed-logs", type=int, help="distributed.logs")
    legacy.add_argument("--mode", choices=("cron", "event"), action="append", help="freshness.modes")
    legacy.add_argument("--traffic-minutes", type=float, help="freshness.traffic_minutes")
    legacy.add_argument("--idle-minutes", type=float, help="freshness.idle_minutes")
    legacy.add_argument("--tracemalloc", action="store_true", default=None, help="memory.trace")
    return parser


def print_registry() -> None:
    """Print every benchmark: its name, function, headline and both forms' parameters."""
    for b in REGISTRY:
        when = "default" if b.default else "only with --only " + b.name
        say(f"{b.number:>5} {b.name:<12} {b.module}.{b.function} ({when}): {b.headline}")
        say(f"      full {json.dumps(dict(b.full))}; quick {json.dumps(dict(b.quick))}")


def _overrides(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[tuple[str, str], Any]:
    """(benchmark, parameter) -> value from ``--set`` and the shorthands."""
    overrides: dict[tuple[str, str], Any] = {}
    for option, targets in LEGACY_OPTIONS.items():
        value = getattr(args, option)
        if value is not None:
            overrides.update(dict.fromkeys(targets, value))
    if args.million_logs:
        overrides[("million", "logs")] = args.million_logs
        overrides[("million", "small")] = args.million_logs // 10
    if "idle" in (args.only or ()) and "freshness" not in args.only:
        overrides[("freshness", "traffic_minutes")] = 0.0  # benchmark 9 alone: no traffic window
    names = [b.name for b in REGISTRY]
    for item in args.set:
        key, sep, text = item.partition("=")
        name, dot, parameter = key.partition(".")
        if not sep or not dot or name not in names:
            parser.error(f"--set {item!r}: write NAME.KEY=VALUE with NAME one of {', '.join(names)}")
        if parameter not in registered(name).full:
            parser.error(f"benchmark {name} has no parameter {parameter!r}; it has {', '.join(registered(name).full)}")
        overrides[(name, parameter)] = _value(text)
    return overrides


def parse_args(argv: Sequence[str] | None) -> Plan:
    """Turn the command line into a :class:`Plan`.

    :raises SystemExit: (argparse) naming a wrong option or a ``--set`` of an unknown benchmark or parameter.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.list:
        print_registry()
        raise SystemExit(0)
    overrides = _overrides(args, parser)
    only = {"freshness" if name == "idle" else name for name in args.only or ()}
    plan = Plan(quick=args.quick, keep=args.keep, own_stacks=args.own_stacks)
    for b in REGISTRY:
        if (only and b.name not in only) or (not only and not b.default):
            continue
        params = dict(b.quick if args.quick else b.full)
        params.update({parameter: value for (name, parameter), value in overrides.items() if name == b.name})
        plan.runs.append((b, params))
    return plan


def run_one(
    benchmark: Benchmark, params: Mapping[str, Any], workdir: Path, stack: SharedStack | None = None
) -> list[Row]:
    """Run one benchmark (on the shared ``stack`` if given), print a verdict line per headline, return its rows
    (one MISSED row if it failed)."""
    started = time.perf_counter()
    say(f"\n== {benchmark.number}. {benchmark.name}: {benchmark.headline}")
    say(f"   parameters {json.dumps(dict(params))}" + (f"; needs {benchmark.needs}" if benchmark.needs else ""))
    own = workdir / benchmark.name  # some benchmarks start their servers there before anything creates it
    own.mkdir(parents=True, exist_ok=True)
    try:
        extra = {} if stack is None else {"stack": stack}
        found = [Row(*row) for row in benchmark.load()(own, **params, **extra)]
    except Exception as exc:  # one broken benchmark must not hide the others' numbers
        say(f"    {benchmark.name} failed after {time.perf_counter() - started:.0f}s: {type(exc).__name__}: {exc}")
        found = [
            Row(f"{benchmark.number} {benchmark.name}", f"failed: {type(exc).__name__}", benchmark.headline, False)
        ]
    for row in found:
        say(verdict_line(row))
    say(f"    ({benchmark.name} took {time.perf_counter() - started:.0f}s)")
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Run the planned benchmarks, print their numbers and the summary; exit 0 even if targets are missed."""
    plan = parse_args(argv)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="auth0-webhooks-bench-"))
    prepare_airflow(workdir / "airflow_home")
    form = "quick" if plan.quick else "full"
    say(
        f"bench ({form} form): {', '.join(b.name for b, _ in plan.runs)}; work directory {workdir}; "
        f"python {sys.version.split()[0]}"
    )
    rows: dict[str, list[Row]] = {}
    before, beside, on_stack = plan.order()
    stack = SharedStack(workdir / "stack") if on_stack else None
    try:
        for benchmark, params in before:
            rows[benchmark.name] = run_one(benchmark, params, workdir)
        parts = start_shared_stack(stack, on_stack, workdir) if stack is not None else {}
        for benchmark, params in beside:
            rows[benchmark.name] = run_one(benchmark, params, workdir)
        for benchmark, params in on_stack:
            rows[benchmark.name] = run_one(benchmark, params, workdir, stack if parts.get(benchmark.name) else None)
    finally:
        if stack is not None:
            stack.stop()
        if plan.keep:
            say(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    say(f"\nSummary ({form} form)")
    in_order = [row for benchmark, _ in plan.runs for row in rows.get(benchmark.name, [])]
    for line in table(in_order):
        say(line)
    missed = sum(r.met is False for r in in_order)
    met = sum(r.met is True for r in in_order)
    say(f"\n{met} MET, {missed} MISSED, {len(in_order) - met - missed} without a target")
    say(f"bench ({form} form) finished in {time.perf_counter() - started:.0f}s")
    return 0


def start_shared_stack(
    stack: SharedStack, on_stack: Sequence[tuple[Benchmark, Mapping[str, Any]]], workdir: Path
) -> dict[str, bool]:
    """Gather every benchmark's part (its servers start now) and start the stack in the background.

    Return, by benchmark, whether it has a part: one whose part failed (said here) or needs none runs on
    a stack of its own.
    """
    names = ", ".join(b.name for b, _ in on_stack)
    say(f"\n== the shared stack of {names}: one airflow standalone, starting in the background")
    parts: dict[str, bool] = {}
    for benchmark, params in on_stack:
        own = workdir / benchmark.name
        own.mkdir(parents=True, exist_ok=True)
        try:
            part = benchmark.part(own, params)
        except Exception as exc:  # that benchmark then starts its own stack and its error shows there
            say(f"    {benchmark.name}'s part of the shared stack failed: {type(exc).__name__}: {exc}")
            part = None
        if part is not None:
            stack.add(part)
        parts[benchmark.name] = part is not None
    if stack.parts:
        stack.start_in_background()
    return parts


def parameters_of(benchmark: Benchmark) -> set[str]:
    """The keyword parameters the benchmark's function takes (the registry's test checks them)."""
    return {
        name
        for name, p in inspect.signature(benchmark.load()).parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    } - {"workdir", "stack"}


if __name__ == "__main__":
    sys.exit(main())
