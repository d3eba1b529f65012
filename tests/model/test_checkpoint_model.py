"""The checkpoint invariant, checked by a model: the real steps under every order of events hypothesis finds.

A :class:`~hypothesis.stateful.RuleBasedStateMachine` drives the real fetch, deliver and commit steps
(``auth0_log_webhooks.steps``) and the real replay, with :class:`InMemoryVariables`, the real staging
on a temporary folder, an in-memory tenant (:class:`tests.memory.MemoryTenant`) and an in-memory
receiver whose answers the test draws (2xx, refusals, outages, a crash mid-batch). Rules: new tenant
logs, runs (plain, with selecting or shaping params, backfill windows, and runs triggered with a
generated conf: declared keys with wild values, undeclared keys such as ``dead_letter_url``, wrong
types, passed through Airflow's own param processing as a trigger and a task would), each chunk's delivery,
clearing the fetch (a new generation while the old tasks still run), the fetch's delivery lane
sending while it reads (``deliver_while_fetching``, drawn per example) and the fetch's process dying
mid-lane (and its retry), an orphaned earlier try of the fetch writing after the newer one reset the run, a stale
task's late ledger marker, commits (also repeated), replays, retention passing
old logs, a person rewinding the checkpoint. After every step:

* every log the pipeline selects at or before the checkpoint is at the receiver or in a dead letter
  (logs the tenant dropped before the pipeline ever started excepted);
* the checkpoint never moves backwards (but when a person rewinds it), and a commit moves it only
  from the value its fetch started from;
* one webhook-id always carries the same logs; no dead letter was never tried, and none holds a
  "stop sending" answer (401, 403, 410);
* a backfill window whose commit succeeded delivered (or kept) every log of its window;
* a fetch killed mid-lane and retried delivers no webhook-id again that its earlier try settled
  (only the batch in flight when it died may arrive twice, as after a delivery task's retry);
* after each fetch, the batches its lane settled are a prefix, and its chunks cover every batch after it;
* a fetch that leaves no chunk commits its run itself only when the run leaves nothing (every batch delivered, no
  dead letter, no follow-up), by the same rules; else it moves nothing and the commit rule commits the run.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from auth0_log_webhooks.contracts import Chunk, Plan
from auth0_log_webhooks.delivery.circuit import STOP_STATUSES, CircuitOpenError
from auth0_log_webhooks.delivery.sender import WebhookSender
from auth0_log_webhooks.log_ids import InvalidCheckpointError, log_time
from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.pipelines.run_params import UndeclaredParamError, run_params
from auth0_log_webhooks.run.context import RunInfo
from auth0_log_webhooks.run.kinds import ExpiredCheckpointError
from auth0_log_webhooks.run.settlement import CheckpointChangedError, marker_for, settles
from auth0_log_webhooks.run.staging import NothingStagedError, SupersededTryError
from auth0_log_webhooks.run.task_io import RunRecord
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps import follow_up, replay
from auth0_log_webhooks.steps.commit import (
    DeadLettersKeptError,
    DeliveryIncompleteError,
    FetchKept,
    commit_checkpoint,
    commit_in_fetch,
)
from auth0_log_webhooks.steps.deliver import StaleChunkError, deliver_chunk
from auth0_log_webhooks.steps.fetch import fetch_logs
from tests.builders import staging_of, staging_url_of
from tests.memory import Crash, MemoryReceiver, MemoryTenant, sender_for
from tests.model.doors import ConfRefusedError, through_airflow

pytestmark = [pytest.mark.model, pytest.mark.timeout(0)]  # one test of many examples; make soak runs for an hour

PIPELINE = AUTHENTICATION_API
CHECKPOINT = PIPELINE.checkpoint_variable
CODES = ["s", "f", "fp", "sapi", "fapi", "seccft", "limit_wc"]
UNSELECTED = {"sapi", "fapi"}  # the live selection: the default filter
ANSWERS = st.sampled_from([200, 200, 200, 400, 401, 410, 413, 500, 503])
DECLARED = run_params(PIPELINE.kind)
UNDECLARED = ["dead_letter_url", "staging_url", "api_endpoints", "max_attempts", "BATCH_SIZE", "batchsize"]
WILD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 1200),
    st.sampled_from(["", "s,f", "true", "json_lines", "3", "warning", "2026-11-01", "auth.login.fail"]),
    st.text(max_size=6),
    st.lists(st.sampled_from([*CODES, "NOT A CODE"]), max_size=3),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
"""Values of every JSON type, some a param accepts and many it does not."""
PLAUSIBLE = {
    "start_from": st.sampled_from(["", "2026-11-01", "2099-01-01T00:00:00Z", "log id"]),
    "log_types": st.sampled_from(["s,f", "fp", ""]) | st.lists(st.sampled_from(CODES), max_size=3),
    "log_level": st.none() | st.integers(0, 4),
    "log_categories": st.sampled_from(
        ["auth.login.fail", ["auth.login.success"], [{"type": "category", "name": "auth.login.fail"}]]
    ),
    "batch_size": st.integers(1, 5),
    "send_as_batch": st.booleans() | st.sampled_from(["true", "false"]),
    "format": st.sampled_from(["json_array", "json_lines"]),
    "max_logs_per_run": st.integers(1, 12),
    "dead_letter_url": st.just("elsewhere"),
    "staging_url": st.just("elsewhere"),
}
"""Values a trigger form or a REST caller would send: most pass Airflow's checks."""


@st.composite
def confs(draw: st.DrawFn) -> dict[str, Any]:
    """A run's conf: declared keys (now and then an undeclared one), each with a plausible or a wild value."""
    keys = draw(st.lists(st.sampled_from([*DECLARED, *UNDECLARED, "dead_letter_url"]), max_size=3, unique=True))
    return {key: draw(WILD if draw(st.integers(0, 3)) == 0 else PLAUSIBLE.get(key, WILD)) for key in keys}


@dataclass
class ModelRun:
    """A DAG run the model started: its id, window, try number, current and stale chunks."""

    info: RunInfo
    params: dict[str, Any]
    chunks: list[Chunk]
    stale: list[Chunk] = field(default_factory=list)
    stale_batches: list[Any] = field(default_factory=list)
    committed: bool = False
    known: int = 0
    """How many logs the tenant had written when the run's fetch last read (a backfill covers those)."""


class CheckpointModel(RuleBasedStateMachine):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="i8-model-"))
        self.tenant = MemoryTenant()
        self.answers: list[int] = []
        self.crash_at: int | None = None
        self.requests = 0
        self.receiver = MemoryReceiver(self._answer)
        self.runs: list[ModelRun] = []
        self.serial = 0
        self.highest: str | None = None
        self.excused: set[str] = set()
        self.ids_by_webhook: dict[str, tuple[str, ...]] = {}
        self.resent_by_retries: list[str] = []
        """Webhook-ids a retried fetch (its lane or its delivery tasks) delivered again after an earlier try of
        the same fetch had settled them."""
        self.variables = InMemoryVariables()

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- set-up and the receiver ---------------------------------------------------------------

    @initialize(
        batch_size=st.integers(1, 4),
        tasks=st.integers(1, 3),
        cap=st.integers(2, 12),
        attempts=st.integers(1, 2),
        circuit=st.integers(1, 3),
        per_log=st.booleans(),
        policy=st.sampled_from(["fail", "restart_from_oldest"]),
        lane=st.booleans(),
        drain=st.integers(1, 3),
    )
    def configure(
        self,
        batch_size: int,
        tasks: int,
        cap: int,
        attempts: int,
        circuit: int,
        per_log: bool,
        policy: str,
        lane: bool,
        drain: int,
    ) -> None:
        self.policy = policy
        self.lane_keeps_up_for = 0
        config = {
            "staging_url": f"file://{self.folder}/staging",
            "dead_letter_url": f"file://{self.folder}/dead",
            "batch_size": batch_size,
            "max_delivery_tasks": tasks,
            "max_logs_per_run": cap,
            "max_attempts": attempts,
            "circuit_breaker_failures": circuit,
            "send_as_batch": not per_log,
            "expired_checkpoint": policy,
            "deliver_while_fetching": lane,  # the fetch sends batches while it reads (steps/lane.py)
            "min_batches_per_task": drain,  # how many batches the lane finishes once reading ended
        }
        self.variables.set(PIPELINE.config_variable, json.dumps(config))
        self.tenant.add(["s", "f", "sapi", "fp"] * 3)

    def _answer(self, ids: tuple[str, ...]) -> int:
        self.requests += 1
        if self.crash_at is not None and self.requests >= self.crash_at:
            self.crash_at = None
            raise Crash
        return self.answers.pop(0) if self.answers else 200

    @rule(answers=st.lists(ANSWERS, max_size=6))
    def receiver_answers(self, answers: list[int]) -> None:
        """The next requests get these answers (then 200s): refusals, outages, 413s."""
        self.answers = answers

    # -- the tenant ----------------------------------------------------------------------------

    @rule(codes=st.lists(st.sampled_from(CODES), min_size=1, max_size=8), odd=st.booleans())
    def new_logs(self, codes: list[str], odd: bool) -> None:
        """Auth0 writes logs (sometimes one whose text holds a lone surrogate)."""
        added = self.tenant.add(codes)
        if odd:
            self.tenant.logs[-1]["description"] = "odd \ud800 text"
        del added

    @rule(count=st.integers(1, 6))
    def retention_passes(self, count: int) -> None:
        """Auth0 drops its oldest logs as they pass the tenant's retention."""
        self._drop(count)

    def _drop(self, count: int) -> None:
        """Auth0 drops the oldest logs; if the pipeline never started, they were never its to lose."""
        dropped = self.tenant.logs[self.tenant.purged : self.tenant.purged + count]
        self.tenant.purged += len(dropped)
        # Lost upstream, not by the pipeline: before it had a checkpoint (it starts at the oldest retained
        # log), or under restart_from_oldest (which reads on past them, saying how many hours were lost).
        if self.variables.get(CHECKPOINT) is None or self.policy == "restart_from_oldest":
            self.excused |= {log["log_id"] for log in dropped}

    @precondition(lambda self: self.variables.get(CHECKPOINT) is not None)
    @rule(beyond=st.integers(0, 3))
    def retention_passes_the_checkpoint(self, beyond: int) -> None:
        """Auth0 drops every log up to the checkpoint and a few after it (the pipeline was paused too long)."""
        checkpoint = str(self.variables.get(CHECKPOINT))
        logs = self.tenant.logs
        upto = next((i for i, log in enumerate(logs) if str(log.get("log_id") or "") > checkpoint), len(logs))
        self._drop(max(0, upto + beyond - self.tenant.purged))

    # -- runs ----------------------------------------------------------------------------------

    def _lane_sender(self, config: PipelineConfig) -> WebhookSender:
        """The sender of a fetch's delivery lane: the real one, to the model's receiver."""
        return sender_for(self.receiver, config)

    def _fetch(self, run: ModelRun) -> None:
        run.known = len(self.tenant.logs)
        try:
            run.chunks = fetch_logs(
                PIPELINE,
                run.info,
                run.params,
                variables=self.variables,
                hook=self.tenant,
                lane_sender=self._lane_sender,
                lane_hold_from=self.lane_keeps_up_for,
            )["chunks"]
        except (InvalidCheckpointError, ExpiredCheckpointError) as exc:
            event(f"fetch refused: {type(exc).__name__}")
            run.chunks = []  # refused with a message; the run fails, nothing staged
        except Crash:
            event("fetch killed while its lane was sending")
            run.chunks = []  # the process died: no plan, nothing for the commit
        else:
            self._check_lane_left_a_prefix(run)
            if not run.chunks:
                self._fetch_commits(run)

    def _fetch_commits(self, run: ModelRun) -> None:
        """A fetch that left no chunk commits the run itself when the run leaves nothing, as the DAG's fetch task
        does (steps/commit.commit_in_fetch); else it moves nothing and the commit rule commits the run."""
        before = self.variables.get(CHECKPOINT)
        plan = staging_of(PIPELINE, run.info, self.variables).read_plan()
        kept = FetchKept(staging_url_of(PIPELINE, self.variables))
        summary = commit_in_fetch(PIPELINE, run.info, RunRecord().task("fetch"), kept, variables=self.variables)
        event(f"the fetch {'committed its run' if summary else 'left its run to the commit task'}")
        if summary is None:
            assert self.variables.get(CHECKPOINT) == before, "a fetch that did not commit moved the checkpoint"
            return
        assert (summary["settled_batches"], summary["dead_letters"]) == (summary["batches"], 0), summary
        assert not follow_up.needs_follow_up(summary), "the fetch committed a run that starts a follow-up"
        self._committed(run, plan, before, succeeded=True)

    def _check_lane_left_a_prefix(self, run: ModelRun) -> None:
        """The delivery tasks get every batch the fetch's lane did not settle, and the lane settled a prefix."""
        staging = staging_of(PIPELINE, run.info, self.variables)
        plan = staging.read_plan()
        outcomes = staging.with_generation(plan["generation"]).outcomes()
        first_left = run.chunks[0]["start"] if run.chunks else len(plan["batches"])
        if run.chunks:
            assert run.chunks[-1]["stop"] == len(plan["batches"]), "the chunks do not reach the last batch"
        for index, batch in enumerate(plan["batches"][:first_left]):
            assert index in outcomes, f"batch {index} was neither sent by the lane nor given to a delivery task"
            assert settles(outcomes[index], batch, plan["generation"]), f"the lane settled batch {index} wrongly"
        if first_left:
            event("the lane settled batches while the fetch read")

    @precondition(lambda self: len(self.runs) < 6)
    @rule(
        kind=st.sampled_from(["plain", "plain", "log_types", "log_level", "start_from", "shaping", "window", "conf"]),
        pick=st.integers(0, 10**6),
        conf=confs(),
    )
    def start_run(self, kind: str, pick: int, conf: dict[str, Any] | None = None) -> None:
        """A scheduled run, a "Trigger DAG w/ config" run (also one with a generated conf), or a backfill run."""
        if kind == "conf":
            self._triggered_with(conf or {}, pick)
            return
        self.serial += 1
        params: dict[str, Any] = {}
        window = None
        logs = self.tenant.retained()
        if kind == "log_types":
            params = {"log_types": "s,fapi"}
        elif kind == "log_level":
            params = {"log_level": 3}
        elif kind == "start_from" and logs:
            params = {"start_from": logs[pick % len(logs)]["log_id"]}
        elif kind == "shaping":
            params = {"batch_size": 1 + pick % 3, "max_logs_per_run": 1 + pick % 7}
        elif kind == "window" and logs:
            start = log_time(logs[pick % len(logs)])
            window = (start, start + timedelta(seconds=1 + pick % 20))
        info = RunInfo(dag_id=PIPELINE.dag_id, run_id=f"run_{self.serial}", window=window)
        run = ModelRun(info, params, [])
        self._fetch(run)
        self.runs.append(run)

    def _triggered_with(self, conf: dict[str, Any], pick: int) -> None:
        """A run triggered with ``conf`` over REST or the CLI: Airflow checks it, the task gets the merged params."""
        conf = dict(conf)
        logs = self.tenant.retained()
        if conf.get("start_from") == "log id" and logs:  # a log id the tenant has
            conf["start_from"] = logs[pick % len(logs)]["log_id"]
        for key in ("staging_url", "dead_letter_url"):  # a folder that exists: taken, it would keep letters elsewhere
            if conf.get(key) == "elsewhere":
                conf[key] = f"file://{self.folder}/elsewhere"
        try:
            params = through_airflow(conf)
        except ConfRefusedError:
            event("conf refused when the run is created")
            return
        self.serial += 1
        run = ModelRun(RunInfo(dag_id=PIPELINE.dag_id, run_id=f"run_{self.serial}"), params, [])
        run.known = len(self.tenant.logs)
        try:
            run.chunks = fetch_logs(
                PIPELINE,
                run.info,
                params,
                variables=self.variables,
                hook=self.tenant,
                lane_sender=self._lane_sender,
                lane_hold_from=self.lane_keeps_up_for,
            )["chunks"]
        except Crash:
            event("fetch killed while its lane was sending")
            self.runs.append(run)
            return
        except UndeclaredParamError:
            assert set(conf) - set(DECLARED), "a conf of declared keys only was refused as undeclared"
            event("conf refused at fetch: an undeclared key")
            return
        except (ConfigError, InvalidCheckpointError, ExpiredCheckpointError) as exc:
            event(f"conf refused at fetch: {type(exc).__name__}")
            return
        assert not set(conf) - set(DECLARED), f"a run took the undeclared keys {sorted(set(conf) - set(DECLARED))}"
        event(f"conf run with {', '.join(sorted(key for key in conf if conf[key] is not None)) or 'empty params'}")
        self._check_lane_left_a_prefix(run)
        self.runs.append(run)

    @precondition(lambda self: len(self.runs) < 6)
    @rule(kind=st.sampled_from(["plain", "plain", "shaping", "log_types", "conf", "conf"]), conf=confs())
    def whole_run(self, kind: str, conf: dict[str, Any]) -> None:
        """A run from fetch to commit, every delivery task run once (the scheduler's usual day)."""
        started = len(self.runs)
        self.start_run(kind, pick=len(self.runs), conf=conf)
        if len(self.runs) == started:
            return  # the conf was refused: no run
        run = self.runs[-1]
        for chunk in run.chunks:
            self._deliver(run, chunk)
        self.commit(len(self.runs) - 1)

    @rule(batches=st.integers(0, 4))
    def lane_pace(self, batches: int) -> None:
        """From now on a fetch's lane keeps up with its first ``batches`` batches and falls behind after them
        (one interleaving of reading and sending per example, so that hypothesis can replay it)."""
        self.lane_keeps_up_for = batches

    @precondition(lambda self: len(self.runs) < 6)
    @rule(crash=st.integers(1, 4))
    def fetch_killed_mid_lane(self, crash: int) -> None:
        """A run's fetch process dies after its lane made a few requests (with the lane off: a plain run)."""
        self.crash_at = self.requests + crash
        self.start_run("plain", pick=0)
        self.crash_at = None

    @precondition(lambda self: len(self.runs) < 6)
    @rule(sent=st.integers(0, 4))
    def fetch_killed_mid_lane_and_retried(self, sent: int) -> None:
        """A run's fetch process dies while its lane sends request ``sent + 1``; Airflow retries the fetch at
        once, and the retry's lane and delivery tasks send the rest (with the lane off: a plain run, then
        a second try of its fetch)."""
        self.crash_at = self.requests + sent + 1
        self.start_run("plain", pick=0)
        self.crash_at = None
        run = self.runs[-1]
        settled = self._delivered_in_ledgers(run)
        arrived = len(self.receiver.arrivals)
        run.info = RunInfo(run.info.dag_id, run.info.run_id, run.info.window, run.info.try_number + 1)
        self._fetch(run)
        for chunk in run.chunks:
            self._deliver(run, chunk)
        again = [a.webhook_id for a in self.receiver.arrivals[arrived:] if 200 <= a.status < 300]
        self.resent_by_retries += [webhook_id for webhook_id in again if webhook_id in settled]
        event(f"a retried fetch found {'some' if settled else 'no'} batches its earlier try delivered")

    def _delivered_in_ledgers(self, run: ModelRun) -> set[str]:
        """The webhook-ids of the messages the run's ledgers settle as delivered (of every try so far)."""
        staging = staging_of(PIPELINE, run.info, self.variables)
        outcomes = staging.with_generation(run.info.try_number + 1).earlier_outcomes()
        return {m["webhook_id"] for o in outcomes for m in o.get("messages", []) if m["status"] == "delivered"}

    @precondition(lambda self: self.runs)
    @rule(which=st.integers(0, 100), crash=st.none() | st.integers(1, 4))
    def clear_fetch(self, which: int, crash: int | None) -> None:
        """A person clears the fetch: a new try cuts a new generation while the old tasks may still run
        (and the new try's process may die while its lane sends)."""
        self.crash_at = None if crash is None else self.requests + crash
        try:
            self._clear_fetch(which)
        finally:
            self.crash_at = None

    def _clear_fetch(self, which: int) -> None:
        run = self.runs[which % len(self.runs)]
        with contextlib.suppress(NothingStagedError):
            plan = staging_of(PIPELINE, run.info, self.variables).read_plan()
            run.stale_batches = list(plan["batches"])
        run.stale, run.committed = run.chunks, False
        info = run.info
        run.info = RunInfo(info.dag_id, info.run_id, info.window, info.try_number + 1)
        self._fetch(run)

    def _deliver(self, run: ModelRun, chunk: Chunk) -> None:
        try:
            plan = staging_of(PIPELINE, run.info, self.variables).read_plan()
        except NothingStagedError:
            return
        sender = sender_for(self.receiver, PipelineConfig.model_validate(plan["config"]))
        with contextlib.suppress(CircuitOpenError, StaleChunkError, NothingStagedError, Crash):
            deliver_chunk(PIPELINE, run.info, chunk, sender=sender)

    @precondition(lambda self: any(run.chunks for run in self.runs))
    @rule(which=st.integers(0, 100), chunk=st.integers(0, 100), crash=st.none() | st.integers(1, 4))
    def deliver(self, which: int, chunk: int, crash: int | None) -> None:
        """A mapped delivery task runs (or is killed after a few requests)."""
        runs = [run for run in self.runs if run.chunks]
        run = runs[which % len(runs)]
        self.crash_at = None if crash is None else self.requests + crash
        self._deliver(run, run.chunks[chunk % len(run.chunks)])
        self.crash_at = None

    @precondition(lambda self: any(run.chunks for run in self.runs))
    @rule(which=st.integers(0, 100))
    def deliver_every_chunk(self, which: int) -> None:
        """Every mapped delivery task of a run runs to its end."""
        runs = [run for run in self.runs if run.chunks]
        run = runs[which % len(runs)]
        for chunk in run.chunks:
            self._deliver(run, chunk)

    @precondition(lambda self: any(run.stale for run in self.runs))
    @rule(which=st.integers(0, 100), chunk=st.integers(0, 100))
    def stale_task_delivers(self, which: int, chunk: int) -> None:
        """A delivery task of an earlier fetch try is still running."""
        runs = [run for run in self.runs if run.stale]
        run = runs[which % len(runs)]
        self._deliver(run, run.stale[chunk % len(run.stale)])

    @precondition(lambda self: any(run.info.try_number > 1 for run in self.runs))
    @rule(which=st.integers(0, 100))
    def orphaned_fetch_writes_late(self, which: int) -> None:
        """The fetch try before the run's newest, which Airflow gave up on but whose process ran on, writes after
        the newer try reset the run: a batch, then a plan that read every log and selected none (which, taken,
        would let the commit pass logs nobody sent). Its claim is gone, so it writes neither."""
        runs = [run for run in self.runs if run.info.try_number > 1]
        run = runs[which % len(runs)]
        staging = staging_of(PIPELINE, run.info, self.variables)
        try:
            plan = staging.read_plan()
        except NothingStagedError:  # the newest try died before its plan (reading again is its retry's)
            return
        if plan["generation"] != run.info.try_number:  # the newest try failed before it reset the run
            return
        orphan = staging.with_generation(run.info.try_number - 1)
        with pytest.raises(SupersededTryError):
            orphan.write_batch(0, [self.tenant.logs[-1]])
        forged = {**plan, "generation": orphan.generation, "batches": [], "selected": 0}
        with pytest.raises(SupersededTryError):
            orphan.write_plan(cast(Plan, {**forged, "end_cursor": self.tenant.logs[-1]["log_id"]}))
        assert staging.read_plan() == plan
        event(f"an orphaned fetch try was stopped ({'committed' if run.committed else 'newer try owns'} run)")

    @precondition(lambda self: any(run.stale_batches for run in self.runs))
    @rule(which=st.integers(0, 100), index=st.integers(0, 100))
    def stale_marker_lands(self, which: int, index: int) -> None:
        """A stale task passed its checks before the re-run and writes its ledger marker late."""
        runs = [run for run in self.runs if run.stale_batches]
        run = runs[which % len(runs)]
        index = max(0, len(run.stale_batches) - 1 - index % 2)  # the last batches are the ones a re-run re-cuts
        batch = run.stale_batches[index]
        generation, count, first, last = marker_for(batch, run.info.try_number - 1)
        staging = staging_of(PIPELINE, run.info, self.variables).with_generation(run.info.try_number)
        with contextlib.suppress(OSError):
            staging.mark(
                index,
                {
                    "status": "delivered",
                    "generation": generation,
                    "count": count,
                    "first": first,
                    "last": last,
                    "delivered_logs": count,
                    "dead_lettered_logs": 0,
                    "dead_letters": [],
                },
            )

    @precondition(lambda self: self.runs)
    @rule(which=st.integers(0, 100))
    def commit(self, which: int) -> None:
        """The commit task runs (after its deliveries, or again after it succeeded)."""
        run = self.runs[which % len(self.runs)]
        before = self.variables.get(CHECKPOINT)
        try:
            plan = staging_of(PIPELINE, run.info, self.variables).read_plan()
        except NothingStagedError:
            return
        succeeded = False
        with contextlib.suppress(DeliveryIncompleteError, CircuitOpenError, CheckpointChangedError, NothingStagedError):
            with contextlib.suppress(DeadLettersKeptError):
                commit_checkpoint(
                    PIPELINE, run.info, staging_url_of(PIPELINE, self.variables), variables=self.variables
                )
            succeeded = True
        self._committed(run, plan, before, succeeded)

    def _committed(self, run: ModelRun, plan: Any, before: str | None, succeeded: bool) -> None:
        """Check what a commit (the commit task's, or the fetch's) did to the checkpoint and the run's window."""
        after = self.variables.get(CHECKPOINT)
        event(f"commit of a {plan['mode']} run: {'moved' if after != before else 'stayed'}")
        if after != before:
            assert plan["mode"] == "checkpoint", f"a {plan['mode']} run moved the checkpoint"
            assert plan["checkpoint_at_fetch"] == before, "a commit moved a checkpoint its fetch did not start from"
        if succeeded and run.info.window and not run.committed:
            self._check_window(run.info.window, run.known)
        run.committed = run.committed or succeeded

    def _check_window(self, window: Any, known: int) -> None:
        kept = self._dead_lettered()
        delivered = self.receiver.delivered()
        for log in self.tenant.logs[self.tenant.purged : known]:
            if window[0] <= log_time(log) < window[1] and log["type"] not in UNSELECTED:
                assert log["log_id"] in delivered | kept, f"backfill window left {log['log_id']} undelivered"

    @precondition(lambda self: not self.answers)
    @rule()
    def replay_dead_letters(self) -> None:
        """The replay DAG re-sends every dead letter through the same receiver (once it answers)."""
        config = PipelineConfig.model_validate(json.loads(self.variables.get(PIPELINE.config_variable) or "{}"))
        replay_run = RunInfo(dag_id="auth0_webhooks_replay", run_id=f"replay_{self.serial}")
        for chunk in replay.plan_replay(PIPELINE.dag_id, None, 1000, 2, variables=self.variables):
            with contextlib.suppress(Crash):
                replay.replay_chunk(chunk, replay_run, sender=sender_for(self.receiver, config))

    @precondition(lambda self: self.variables.get(CHECKPOINT) is not None)
    @rule(back=st.integers(1, 5))
    def person_rewinds_the_checkpoint(self, back: int) -> None:
        """A person sets the checkpoint back to re-deliver some logs."""
        current = self.variables.get(CHECKPOINT)
        earlier = [log["log_id"] for log in self.tenant.retained() if log["log_id"] < str(current)]
        if len(earlier) >= back:
            self.variables.set(CHECKPOINT, earlier[-back])
            self.highest = earlier[-back]

    # -- invariants ----------------------------------------------------------------------------

    def _dead_lettered(self) -> set[str]:
        folder = self.folder / "dead" / PIPELINE.dag_id
        if not folder.exists():
            return set()
        return {i for path in folder.glob("*.json") for i in json.loads(path.read_text())["log_ids"]}

    @invariant()
    def nothing_selected_before_the_checkpoint_is_lost(self) -> None:
        checkpoint = self.variables.get(CHECKPOINT)
        if checkpoint is None:
            return
        settled = self.receiver.delivered() | self._dead_lettered() | self.excused
        lost = [
            log["log_id"]
            for log in self.tenant.logs
            if log.get("log_id") and log["log_id"] <= checkpoint and log["type"] not in UNSELECTED
            if log["log_id"] not in settled
        ]
        assert not lost, f"{len(lost)} selected logs at or before the checkpoint {checkpoint} are lost: {lost[:3]}"

    @invariant()
    def the_checkpoint_never_moves_backwards(self) -> None:
        checkpoint = self.variables.get(CHECKPOINT)
        if checkpoint is None:
            return
        assert self.highest is None or checkpoint >= self.highest
        self.highest = checkpoint

    @invariant()
    def a_webhook_id_always_carries_the_same_logs(self) -> None:
        for arrival in self.receiver.arrivals:
            known = self.ids_by_webhook.setdefault(arrival.webhook_id, arrival.log_ids)
            assert known == arrival.log_ids, f"webhook-id {arrival.webhook_id} carried two different sets of logs"

    @invariant()
    def a_retried_fetch_does_not_deliver_again_what_an_earlier_try_settled(self) -> None:
        # Other duplicates the model allows: a delivery retry resends the batch it was sending when it died,
        # a stale task of a cleared fetch races its new try, a person rewinds the checkpoint.
        assert not self.resent_by_retries, (
            f"a retried fetch delivered {len(self.resent_by_retries)} messages again that an earlier try of it had "
            f"settled: {self.resent_by_retries[:3]}"
        )

    @invariant()
    def dead_letters_were_tried_and_none_holds_a_stop_answer(self) -> None:
        folder = self.folder / "dead" / PIPELINE.dag_id
        if not folder.exists():
            return
        tried = {arrival.webhook_id for arrival in self.receiver.arrivals}
        for path in folder.glob("*.json"):
            letter = json.loads(path.read_text())
            assert letter["webhook_id"] in tried, "a dead letter was kept for a message never sent"
            assert letter["last_status"] not in STOP_STATUSES, f"HTTP {letter['last_status']} was dead-lettered"


CheckpointModel.TestCase.settings = settings.get_profile("model")
TestCheckpointModel = CheckpointModel.TestCase
