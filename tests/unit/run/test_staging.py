"""Run staging in a local folder: batches, plan and ledger round trips; cutting batches; chunking them."""

import errno
import itertools
import re
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from auth0_log_webhooks.contracts import BatchOutcome, BatchRange, Plan, RunSummary
from auth0_log_webhooks.log_ids import cursor_for_time
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.pipelines.filters import TypeLevelFilter
from auth0_log_webhooks.run import staging as staging_module
from auth0_log_webhooks.run import store_io
from auth0_log_webhooks.run.staging import (
    FETCH,
    EarlierTryStillEndingError,
    MalformedLogError,
    NothingStagedError,
    RunStaging,
    Stager,
    SupersededTryError,
    chunk_ranges,
    plan_chunks,
    prune,
    run_key,
)
from tests.builders import BASE, batch, log, log_id, settled

pytestmark = pytest.mark.unit

STAGING_URL = "file:///staging"  # chunks only carry it

RUN_ID = "manual__2026-11-26T05:00:00+00:00"


def plan(**fields: Any) -> Plan:
    defaults = Plan(
        mode="checkpoint",
        start_cursor=log_id(0),
        end_cursor=None,
        fetched=0,
        selected=0,
        batches=[],
        note="",
        created_at=BASE.isoformat(),
        generation=1,
        checkpoint_at_fetch=None,
        repaired=0,
        config={},
    )
    return Plan(**{**defaults, **fields})  # type: ignore[typeddict-item]


def delivered(logs: int) -> BatchOutcome:
    return settled("delivered", logs, [])


@pytest.fixture
def staging(tmp_path: Path) -> RunStaging:
    """A run's staging in a temporary folder, reset as the fetch task does."""
    run = RunStaging.for_run(f"file://{tmp_path}", "dag", RUN_ID)
    run.reset()
    return run


def test_the_run_folder_is_a_safe_single_segment_when_the_run_id_has_colons_and_plus(
    staging: RunStaging, tmp_path: Path
) -> None:
    staging.write_batch(0, [])
    assert (tmp_path / "dag" / run_key(RUN_ID) / "g001" / "batches" / "000000.jsonl").exists()
    assert re.fullmatch(r"manual__2026-11-26T05_00_00_00_00-[0-9a-f]{16}", run_key(RUN_ID))


@pytest.mark.parametrize("run_id", ["", ".", "..", " . "])
def test_a_run_id_that_names_no_folder_is_refused_and_other_runs_keep_their_batches(
    tmp_path: Path, run_id: str
) -> None:
    other = RunStaging.for_run(f"file://{tmp_path}", "dag", RUN_ID)
    other.reset()
    other.write_batch(0, [{"log_id": log_id(1)}])
    with pytest.raises(ValueError, match="cannot name a staging folder"):
        RunStaging.for_run(f"file://{tmp_path}", "dag", run_id).reset()
    assert other.read_batch(0) == [{"log_id": log_id(1)}]


def test_run_ids_that_differ_only_in_replaced_characters_get_different_folders() -> None:
    keys = {run_key(f"manual__2026-11-26T05{sep}00") for sep in (":", "+", "_", "/", " ")}
    assert len(keys) == 5


@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_run_keys_are_one_short_safe_segment_and_distinct_for_distinct_run_ids(first: str, second: str) -> None:
    assume(first.strip() not in ("", ".", "..") and second.strip() not in ("", ".", ".."))
    for run_id in (first, second):
        key = run_key(run_id)
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,65}", key)
        assert key not in (".", "..")
    assert (run_key(first) == run_key(second)) == (first == second)


def test_a_batch_reads_back_as_the_logs_written(staging: RunStaging) -> None:
    batch: list[Mapping[str, Any]] = [
        {"log_id": log_id(1), "type": "s", "details": {"ip": "203.0.113.7", "tags": [1, None]}},
        {"log_id": log_id(2), "type": "f", "description": "Zoë\nline two", "user_id": None},
    ]
    staging.write_batch(3, batch)
    assert staging.read_batch(3) == batch


def test_a_reopened_staging_reads_the_same_batches_when_given_its_path(staging: RunStaging) -> None:
    staging.write_batch(0, [{"log_id": log_id(1)}])
    assert RunStaging.at(str(staging.path)).read_batch(0) == [{"log_id": log_id(1)}]


def test_the_plan_reads_back_as_written(staging: RunStaging) -> None:
    written = plan(
        batches=[batch(2, 1, 2), batch(1, 5, 5)],
        end_cursor=log_id(9),
        fetched=9,
        selected=3,
        note="stopped at max_logs_per_run=9",
        config={"batch_size": 2},
    )
    staging.write_plan(written)
    assert staging.read_plan() == written


def test_a_missing_plan_is_an_error_that_names_the_folder_and_the_next_step(staging: RunStaging) -> None:
    with pytest.raises(NothingStagedError, match=r"No plan in .*Clear the run's fetch task"):
        staging.read_plan()


def test_the_ledger_records_each_settled_batch(staging: RunStaging) -> None:
    assert staging.outcomes() == {}
    letters = settled("dead_lettered", 0, ["p/msg_1"])
    staging.mark(0, delivered(3))
    staging.mark(12, letters)
    assert staging.outcome(0) == delivered(3)
    assert staging.outcome(1) is None
    assert staging.outcomes() == {0: delivered(3), 12: letters}


def test_a_delivery_task_lists_the_settled_batches_once_by_their_markers_names(staging: RunStaging) -> None:
    assert staging.settled_indexes() == set()
    staging.mark(0, delivered(3))
    staging.mark(12, delivered(1))
    (staging.generation_path / "done" / "notes.txt").write_bytes(b"not a marker")
    assert staging.settled_indexes() == {0, 12}


def test_the_commit_takes_markers_from_the_senders_copies_and_reads_only_the_markers_without_one(
    staging: RunStaging, monkeypatch: pytest.MonkeyPatch
) -> None:
    letters = settled("dead_lettered", 0, ["p/msg_1"])
    for index, outcome in ((0, delivered(3)), (1, letters), (2, delivered(2))):
        staging.mark(index, outcome)
    staging.keep_copies("0000-001", {0: delivered(3), 1: letters})
    staging.keep_copies("0001-001", {})  # a sender that wrote no marker keeps no copy
    staging.keep_copies("0002-001", {7: delivered(9)})  # a copy of a marker not listed is not taken
    read: list[str] = []
    real_read_many = store_io.read_many

    def counted(paths: list[Any]) -> list[bytes | None]:
        read.extend(path.name for path in paths)
        return real_read_many(paths)

    monkeypatch.setattr(staging_module, "read_many", counted)

    assert staging.outcomes() == {0: delivered(3), 1: letters, 2: delivered(2)}
    assert sorted(read) == sorted(["000002.json", "0000-001.json", "0002-001.json"])


def test_a_batch_the_fetch_staged_is_handed_to_its_lane_from_memory_once_within_the_bound(
    staging: RunStaging,
) -> None:
    logs: list[Mapping[str, Any]] = [{"log_id": log_id(1), "description": "Zoë"}]
    staging.hold_bytes = 2 * len(b'{"log_id":"%s","description":"Zo\xc3\xab"}\n' % log_id(1).encode())
    for index in range(3):  # the third does not fit the bound: it is read from staging
        staging.write_batch(index, logs)
    for index in range(3):
        (staging.generation_path / "batches" / f"{index:06d}.jsonl").unlink()

    assert staging.read_batch(0) == logs  # the bytes staged, not read back
    assert staging.read_batch(1) == logs
    with pytest.raises(FileNotFoundError):
        staging.read_batch(2)
    with pytest.raises(FileNotFoundError):
        staging.read_batch(0)  # handed over once


def test_the_lanes_claim_check_is_skipped_only_when_the_fetch_found_the_claim_since_the_lanes_last_batch(
    staging: RunStaging,
) -> None:
    before = time.monotonic()
    staging.write_batch(0, [{"log_id": log_id(1)}])  # the fetch checks its claim first
    (staging.generation_path / "claims" / "fetch.json").unlink()  # a newer try took the run over since

    staging.stop_if_superseded(FETCH, 1, "sending batch 1", unless_confirmed_after=before)
    with pytest.raises(SupersededTryError, match=r"before sending batch 2"):
        staging.stop_if_superseded(FETCH, 1, "sending batch 2", unless_confirmed_after=time.monotonic())


def test_reset_removes_what_an_earlier_try_left(staging: RunStaging) -> None:
    staging.write_batch(0, [{"log_id": log_id(1)}])
    staging.write_plan(plan(batches=[batch(1, 1, 1)]))
    staging.mark(0, delivered(1))
    staging.reset()
    assert staging.outcomes() == {}
    assert not (staging.generation_path / "batches" / "000000.jsonl").exists()
    assert not (staging.path / "plan.json").exists()
    staging.write_batch(0, [{"log_id": log_id(2)}])  # and the folders are ready for the new try
    assert staging.read_batch(0) == [{"log_id": log_id(2)}]


def test_a_new_try_keeps_only_the_ledgers_of_earlier_tries_and_reads_them_back(staging: RunStaging) -> None:
    staging.write_batch(0, [{"log_id": log_id(1)}])
    staging.write_plan(plan(batches=[batch(1, 1, 1)]))
    staging.mark(0, delivered(1))
    staging.mark(1, delivered(2))
    (staging.generation_path / "done" / "000002.json").write_bytes(b'{"status": "deliv')  # still being written
    retry = staging.with_generation(3)
    assert sorted(o["delivered_logs"] for o in retry.earlier_outcomes()) == [1, 2]  # the torn marker left out

    retry.reset()

    assert sorted(o["delivered_logs"] for o in retry.earlier_outcomes()) == [1, 2]
    assert retry.outcomes() == {}
    assert not (staging.generation_path / "batches").exists()
    assert not (staging.path / "plan.json").exists()
    assert retry.with_generation(4).earlier_outcomes() == retry.earlier_outcomes()


class Racing:
    """An earlier try still ending: removing its folders meets "Directory not empty" ``times`` times."""

    def __init__(self, times: int) -> None:
        self.times, self.now, self.slept = times, 0.0, 0

    def remove(self) -> None:
        if self.times:
            self.times -= 1
            raise OSError(errno.ENOTEMPTY, "Directory not empty", "batches")

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += 1


def test_a_new_try_waits_while_an_earlier_try_still_writes_to_its_staging(
    staging: RunStaging, monkeypatch: pytest.MonkeyPatch
) -> None:
    racing = Racing(times=3)
    retry = staging.with_generation(2)
    monkeypatch.setattr(retry, "_remove_all_but_earlier_ledgers", racing.remove)

    retry.reset(clock=lambda: racing.now, sleep=racing.sleep)

    assert racing.slept == 3
    assert (retry.generation_path / "batches").exists()


def test_a_new_try_gives_up_after_the_wait_saying_an_earlier_try_is_still_ending(
    staging: RunStaging, monkeypatch: pytest.MonkeyPatch
) -> None:
    racing = Racing(times=10**6)
    retry = staging.with_generation(2)
    monkeypatch.setattr(retry, "_remove_all_but_earlier_ledgers", racing.remove)

    with pytest.raises(EarlierTryStillEndingError) as raised:
        retry.reset(wait_seconds=30, clock=lambda: racing.now, sleep=racing.sleep)

    assert racing.now == 30
    message = str(raised.value)
    assert message.startswith(f"Another process wrote into {retry.path} while this task removed it (Directory not ")
    assert "empty, for 30 s): most likely an earlier try of this task that Airflow reset as orphaned" in message
    assert "still ending. Try 2 of the fetch sent nothing; Airflow retries the task (if this was its last" in message
    assert "could not be used" not in message
    assert "Check the setting" not in message


def an_orphaned_fetch_try_stops_before_each_write_once_a_newer_try_reset_the_run(root: str) -> None:
    """Try 1 of a fetch that Airflow gave up on still runs after try 2 reset the run and wrote its plan: whatever
    try 1 writes next (a batch, its plan, a batch of its lane) stops it, and try 2's plan and batches stay.

    Shared by the local folder (below) and S3 (``tests/integration/test_object_store.py``).
    """
    orphan = RunStaging.for_run(root, "dag", RUN_ID)
    orphan.reset()
    orphan.write_batch(0, [{"log_id": log_id(1)}])
    newer = orphan.with_generation(2)
    newer.reset()
    newer.write_batch(0, [{"log_id": log_id(1)}, {"log_id": log_id(2)}])
    newer.write_plan(plan(generation=2, batches=[batch(2, 1, 2)]))

    with pytest.raises(SupersededTryError) as raised:
        orphan.write_plan(plan(generation=1, batches=[batch(1, 1, 1)]))
    assert str(raised.value) == (
        "Try 1 of this fetch stopped before writing its plan: try 2 took the run over (Airflow started the task "
        "again). Nothing is lost: try 2 owns the run: it reads the logs again and sends every batch not yet settled."
    )
    with pytest.raises(SupersededTryError, match=r"^Try 1 of this fetch stopped before staging batch 2: try 2 took"):
        orphan.write_batch(1, [{"log_id": log_id(3)}])
    with pytest.raises(SupersededTryError, match=r"^Try 1 of this fetch stopped before sending batch 1: try 2 took"):
        orphan.stop_if_superseded(FETCH, 1, "sending batch 1")  # what its delivery lane checks before each send

    assert orphan.read_plan()["generation"] == 2
    assert newer.read_batch(0) == [{"log_id": log_id(1)}, {"log_id": log_id(2)}]
    assert not (orphan.generation_path / "batches" / "000001.jsonl").exists()
    newer.stop_if_superseded(FETCH, 2, "anything")  # the owner goes on


def test_an_orphaned_fetch_try_cannot_write_over_the_plan_of_the_try_that_reset_the_run(tmp_path: Path) -> None:
    an_orphaned_fetch_try_stops_before_each_write_once_a_newer_try_reset_the_run(f"file://{tmp_path}")


def test_a_fetch_try_still_running_after_its_run_was_committed_writes_nothing(staging: RunStaging) -> None:
    staging.write_plan(plan())
    staging.write_committed(cast(RunSummary, {}), [])

    with pytest.raises(SupersededTryError) as raised:
        staging.write_batch(0, [{"log_id": log_id(1)}])
    assert str(raised.value) == (
        "Try 1 of this fetch stopped before staging batch 1: its claim on the run is gone (a newer try of the run's "
        "fetch ran, or the run was committed). Nothing is lost: the run's newest fetch try and its delivery tasks "
        "send every batch not yet settled."
    )


def test_a_delivery_task_claims_its_chunk_and_a_newer_try_of_it_takes_the_chunk_over(staging: RunStaging) -> None:
    assert staging.claim(3, 1) == 1
    staging.stop_if_superseded(3, 1, "batch 1")
    assert staging.claim(3, 2) == 2
    assert staging.claim(3, 1) == 2, "an older try never takes the chunk back"
    with pytest.raises(SupersededTryError, match=r"^Try 1 of this delivery task stopped before batch 4: try 2 took"):
        staging.stop_if_superseded(3, 1, "batch 4")
    staging.stop_if_superseded(FETCH, 1, "writing its plan")  # the fetch's claim is its own


def test_remove_deletes_the_run_folder(staging: RunStaging) -> None:
    staging.write_batch(0, [{"log_id": log_id(1)}])
    staging.remove()
    assert not staging.path.exists()
    assert staging.outcomes() == {}


@pytest.mark.parametrize(
    ("count", "max_tasks"),
    [(1, 16), (16, 16), (17, 16), (31, 16), (1000, 16), (5, 1), (3, 1024)],
    ids=lambda value: str(value),
)
def test_chunk_ranges_cover_every_batch_once_in_at_most_max_tasks_near_equal_ranges(count: int, max_tasks: int) -> None:
    ranges = list(chunk_ranges(count, max_tasks))
    assert len(ranges) == min(count, max_tasks)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == count
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(ranges))
    sizes = [stop - start for start, stop in ranges]
    assert min(sizes) >= 1
    assert max(sizes) - min(sizes) <= 1


def test_chunk_ranges_are_empty_when_there_is_no_batch() -> None:
    assert list(chunk_ranges(0, 16)) == []


def test_prune_removes_only_staging_older_than_the_retention(tmp_path: Path) -> None:
    root = f"file://{tmp_path}"
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for run_id, age in (("old", timedelta(days=8)), ("recent", timedelta(days=1))):
        staging = RunStaging.for_run(root, "dag", run_id)
        staging.reset()
        staging.write_plan(plan(created_at=(now - age).isoformat()))
    RunStaging.for_run(root, "dag", "fetch_crashed").reset()  # no plan: left alone

    assert prune(root, "dag", timedelta(days=7), now=now) == 1
    assert sorted(p.name for p in (tmp_path / "dag").iterdir()) == sorted(map(run_key, ["fetch_crashed", "recent"]))
    assert prune(root, "other_dag", timedelta(days=7), now=now) == 0


# -- cutting batches -------------------------------------------------------------------------------------------


def stager(staging: RunStaging, **overrides: Any) -> Stager:
    settings: dict[str, Any] = {
        "accept": TypeLevelFilter(),
        "transform": lambda x: x,
        "batch_size": 3,
        "max_logs": 1000,
    }
    return Stager(staging, **{**settings, **overrides})


class Pages:
    """Pages served lazily, counting how many the stager asked for."""

    def __init__(self, *pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.served = 0

    def __iter__(self) -> Iterator[list[dict[str, Any]]]:
        for page in self.pages:
            self.served += 1
            yield page


def test_batches_are_cut_at_batch_size_across_pages(staging: RunStaging) -> None:
    pages = Pages([log(1), log(2)], [log(3), log(4), log(5)], [log(6), log(7)])
    manifest = stager(staging).run(pages, log_id(0))
    assert manifest.batches == [batch(3, 1, 3), batch(3, 4, 6), batch(1, 7, 7)]
    assert [staging.read_batch(i) for i in range(3)] == [[log(1), log(2), log(3)], [log(4), log(5), log(6)], [log(7)]]
    assert (manifest.fetched, manifest.selected, manifest.end_cursor) == (7, 7, log_id(7))


def test_unselected_logs_are_not_staged_but_the_end_cursor_passes_them(staging: RunStaging) -> None:
    pages = Pages([log(1), log(2, "sapi"), log(3), log(4, "fapi"), log(5, "sapi")])
    manifest = stager(staging).run(pages, log_id(0))
    assert manifest.batches == [batch(2, 1, 3)]
    assert staging.read_batch(0) == [log(1), log(3)]
    assert (manifest.fetched, manifest.selected, manifest.end_cursor) == (5, 2, log_id(5))


def test_logs_are_staged_as_the_pipeline_transforms_them(staging: RunStaging) -> None:
    manifest = stager(staging, transform=lambda item: {**item, "source": "auth0"}).run(Pages([log(1)]), log_id(0))
    assert manifest.selected == 1
    assert staging.read_batch(0) == [{**log(1), "source": "auth0"}]


@pytest.mark.parametrize(
    ("max_logs", "batches", "pages_served"),
    [
        (3, [batch(3, 1, 3)], 2),
        (4, [batch(3, 1, 3), batch(3, 4, 6)], 3),
    ],
    ids=["on-a-batch-boundary", "finishing-the-batch"],
)
def test_the_fetch_stops_on_a_batch_boundary_with_a_note_when_max_logs_is_reached(
    staging: RunStaging, max_logs: int, batches: list[Any], pages_served: int
) -> None:
    pages = Pages([log(1), log(2)], [log(3), log(4)], [log(5), log(6)], [log(7), log(8)])
    manifest = stager(staging, max_logs=max_logs).run(pages, log_id(0))
    assert manifest.batches == batches  # whole batches only, so the next run cuts the same ones
    assert (manifest.fetched, manifest.end_cursor) == (sum(b["count"] for b in batches), batches[-1]["last"])
    assert f"max_logs_per_run={max_logs}" in manifest.note
    assert pages.served == pages_served  # later pages are never requested


def test_the_fetch_stops_after_twice_max_logs_when_selected_logs_are_rare(staging: RunStaging) -> None:
    pages = Pages([log(1), log(2, "sapi")], [log(3, "sapi"), log(4, "sapi")], [log(5, "sapi"), log(6)], [log(7)])
    manifest = stager(staging, max_logs=2).run(pages, log_id(0))
    assert manifest.fetched == 4  # the batch holding log 1 never fills; reading stops at 2 x max_logs
    assert manifest.batches == [batch(1, 1, 1)]
    assert manifest.end_cursor == log_id(4)
    assert pages.served == 2


def test_an_empty_tenant_stages_nothing_and_keeps_the_start(staging: RunStaging) -> None:
    manifest = stager(staging).run(Pages([]), log_id(0))
    assert (manifest.batches, manifest.fetched, manifest.start_cursor, manifest.end_cursor) == ([], 0, log_id(0), None)


@pytest.mark.parametrize(
    ("page", "start", "message"),
    [
        ([log(1), {"type": "s"}, log(3)], log_id(0), f"without a valid log_id after {log_id(1)}"),
        ([log(1), {"log_id": "12345", "type": "s"}], log_id(0), f"without a valid log_id after {log_id(1)}"),
        ([log(1), log(3), log(2)], log_id(0), f"log {log_id(2)} out of order, after {log_id(3)}"),
        ([log(1), log(1)], log_id(0), f"log {log_id(1)} out of order, after {log_id(1)}"),
        ([log(3)], log_id(5), f"log {log_id(3)} out of order, after {log_id(5)}"),
    ],
    ids=["no-log-id", "not-a-log-id", "out-of-order", "repeated", "before-the-start"],
)
def test_a_misplaced_log_is_refused_naming_the_previous_id(
    staging: RunStaging, page: list[Any], start: Any, message: str
) -> None:
    with pytest.raises(MalformedLogError, match=message):
        stager(staging).run(Pages(page), start)


def test_the_underscore_id_is_accepted_when_a_log_has_no_log_id(staging: RunStaging) -> None:
    legacy = {"_id": log_id(1), "type": "s"}
    manifest = stager(staging).run(Pages([legacy]), log_id(0))
    assert (manifest.batches, manifest.end_cursor) == ([batch(1, 1, 1)], log_id(1))


def test_a_window_keeps_only_its_logs_and_stops_after_the_margin(staging: RunStaging) -> None:
    start, end = BASE + timedelta(minutes=10), BASE + timedelta(minutes=20)
    at = [
        start - timedelta(seconds=1),  # before the window: read, not staged
        start,
        end - timedelta(seconds=1),
        end,  # the end is excluded
        end + timedelta(minutes=5),  # still within the margin: read, not staged
        end + timedelta(minutes=5, seconds=1),  # past the margin: the fetch stops here
        end + timedelta(hours=1),
    ]
    pages = Pages(
        [log(n, at=moment) for n, moment in enumerate(at[:4], 1)],
        [log(5, at=at[4]), log(6, at=at[5])],
        [log(7, at=at[6])],
    )
    manifest = stager(staging, window=(start, end)).run(pages, cursor_for_time(start - timedelta(minutes=5)))
    assert manifest.batches == [BatchRange(count=2, first=log_id(2, at[1]), last=log_id(3, at[2]))]
    assert (manifest.fetched, manifest.end_cursor) == (5, log_id(5, at[4]))
    assert pages.served == 2


def test_a_log_whose_log_id_is_null_is_placed_by_its_underscore_id(staging: RunStaging) -> None:
    # Both the batch and the end cursor use the one rule (log_id, else _id), so commit can move past it.
    legacy = {"log_id": None, "_id": log_id(1), "type": "s"}
    manifest = stager(staging).run(Pages([legacy]), log_id(0))
    assert (manifest.batches, manifest.end_cursor) == ([batch(1, 1, 1)], log_id(1))


# -- chunking batches among delivery tasks -----------------------------------------------------


def test_chunks_label_their_batches_with_the_log_count_and_utc_times_not_log_ids() -> None:
    later = BASE + timedelta(minutes=5, seconds=29)
    batches = [
        batch(100, 1, 100),
        batch(100, 101, 200),
        BatchRange(count=40, first=log_id(201), last=log_id(240, later)),
    ]
    chunks = plan_chunks(batches, max_tasks=2, generation=1, staging_url=STAGING_URL)
    assert [(c["chunk"], c["start"], c["stop"]) for c in chunks] == [(0, 0, 1), (1, 1, 3)]
    assert chunks[0]["label"] == f"batch 1: 100 logs, {BASE:%Y-%m-%d %H:%M:%S}-{BASE:%H:%M:%S} UTC"
    assert chunks[1]["label"] == f"batches 2-3: 140 logs, {BASE:%Y-%m-%d %H:%M:%S}-{later:%H:%M:%S} UTC"


def test_no_batch_means_no_chunk() -> None:
    assert plan_chunks([], max_tasks=16, generation=1, staging_url=STAGING_URL) == []


@settings(max_examples=200)
@given(count=st.integers(0, 3000), max_tasks=st.integers(1, 1024), per_task=st.integers(1, 200))
def test_chunks_adapt_to_the_amount_covering_every_batch_once(count: int, max_tasks: int, per_task: int) -> None:
    """A small run pays for few tasks: one per ``min_batches_per_task`` batches, never over the cap."""
    batches = [batch(1, i + 1, i + 1) for i in range(count)]
    chunks = plan_chunks(
        batches, max_tasks=max_tasks, min_batches_per_task=per_task, generation=1, staging_url=STAGING_URL
    )
    assert len(chunks) == min(max_tasks, -(-count // per_task))
    assert [i for c in chunks for i in range(c["start"], c["stop"])] == list(range(count))


@pytest.mark.parametrize(("batches", "tasks"), [(1, 1), (9, 1), (10, 1), (11, 2), (45, 5), (58, 5), (5000, 5)])
def test_the_default_gives_one_task_per_ten_batches_up_to_the_pools_slots(batches: int, tasks: int) -> None:
    config = PipelineConfig()
    chunks = plan_chunks(
        [batch(1, i + 1, i + 1) for i in range(batches)],
        config.delivery_tasks(AUTHENTICATION_API.pool_slots),
        config.min_batches_per_task,
        generation=1,
        staging_url=STAGING_URL,
    )
    assert len(chunks) == tasks


def test_only_a_fetch_that_stops_at_max_logs_says_more_is_waiting(staging: RunStaging) -> None:
    stopped = stager(staging, max_logs=3).run(Pages([log(1), log(2)], [log(3), log(4)]), log_id(0))
    assert stopped.more_to_read
    staging.reset()
    done = stager(staging, max_logs=100).run(Pages([log(1), log(2)], [log(3), log(4)]), log_id(0))
    assert not done.more_to_read
