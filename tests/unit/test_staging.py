"""Run staging in a local folder: batches, manifest and ledger round trips; chunking of batches."""

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from auth0_log_webhooks.staging import Manifest, RunStaging, chunk_ranges, prune, run_key

pytestmark = pytest.mark.unit

RUN_ID = "manual__2026-11-26T05:00:00+00:00"


def log_id(n: int) -> str:
    return "900" + "20261126050000" + f"{n:039d}"


@pytest.fixture
def staging(tmp_path) -> RunStaging:
    """A run's staging in a temporary folder, reset as the fetch task does."""
    run = RunStaging(f"file://{tmp_path}", "dag", RUN_ID)
    run.reset()
    return run


def test_the_run_folder_is_a_safe_single_segment_when_the_run_id_has_colons_and_plus(staging, tmp_path):
    staging.write_batch(0, [])
    assert (tmp_path / "dag" / run_key(RUN_ID) / "batches" / "000000.jsonl").exists()
    assert run_key(RUN_ID) == "manual__2026-11-26T05_00_00_00_00"


def test_a_batch_reads_back_as_the_logs_written(staging):
    batch = [
        {"log_id": log_id(1), "type": "s", "details": {"ip": "203.0.113.7", "tags": [1, None]}},
        {"log_id": log_id(2), "type": "f", "description": "Zoë\nline two", "user_id": None},
    ]
    staging.write_batch(3, batch)
    assert staging.read_batch(3) == batch


def test_a_reopened_staging_reads_the_same_batches_when_given_its_path(staging):
    staging.write_batch(0, [{"log_id": log_id(1)}])
    assert RunStaging.at(str(staging.path)).read_batch(0) == [{"log_id": log_id(1)}]


def test_the_manifest_reads_back_as_written(staging):
    manifest = Manifest(
        batches=[[2, log_id(1), log_id(2)], [1, log_id(5), log_id(5)]],
        start_cursor=log_id(0),
        end_cursor=log_id(9),
        fetched=9,
        selected=3,
        note="stopped at max_logs_per_run=9",
    )
    staging.write_manifest(manifest)
    assert staging.read_manifest() == manifest
    assert staging.read_manifest().last_log_id(1) == log_id(5)


def test_the_ledger_records_each_settled_batch(staging):
    assert staging.outcomes() == {}
    staging.mark(0, {"status": "delivered", "logs": 3, "dead_letters": []})
    staging.mark(12, {"status": "dead_lettered", "logs": 1, "dead_letters": ["p/msg_1"]})
    assert staging.outcome(0) == {"status": "delivered", "logs": 3, "dead_letters": []}
    assert staging.outcome(1) is None
    assert staging.outcomes() == {
        0: {"status": "delivered", "logs": 3, "dead_letters": []},
        12: {"status": "dead_lettered", "logs": 1, "dead_letters": ["p/msg_1"]},
    }


def test_reset_removes_what_an_earlier_try_left(staging):
    staging.write_batch(0, [{"log_id": log_id(1)}])
    staging.write_manifest(Manifest(batches=[[1, log_id(1), log_id(1)]]))
    staging.mark(0, {"status": "delivered", "logs": 1})
    staging.reset()
    assert staging.outcomes() == {}
    assert not (staging.path / "batches" / "000000.jsonl").exists()
    assert not (staging.path / "manifest.json").exists()
    staging.write_batch(0, [{"log_id": log_id(2)}])  # and the folders are ready for the new try
    assert staging.read_batch(0) == [{"log_id": log_id(2)}]


def test_remove_deletes_the_run_folder(staging):
    staging.write_batch(0, [{"log_id": log_id(1)}])
    staging.remove()
    assert not staging.path.exists()
    assert staging.outcomes() == {}


@pytest.mark.parametrize(
    ("count", "max_tasks"),
    [(1, 16), (16, 16), (17, 16), (31, 16), (1000, 16), (5, 1), (3, 1024)],
    ids=lambda value: str(value),
)
def test_chunk_ranges_cover_every_batch_once_in_at_most_max_tasks_near_equal_ranges(count, max_tasks):
    ranges = list(chunk_ranges(count, max_tasks))
    assert len(ranges) == min(count, max_tasks)
    assert ranges[0][0] == 0
    assert ranges[-1][1] == count
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(ranges))
    sizes = [stop - start for start, stop in ranges]
    assert min(sizes) >= 1
    assert max(sizes) - min(sizes) <= 1


def test_chunk_ranges_are_empty_when_there_is_no_batch():
    assert list(chunk_ranges(0, 16)) == []


def test_prune_removes_only_staging_older_than_the_retention(tmp_path):
    root = f"file://{tmp_path}"
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    for run_id, age in (("old", timedelta(days=8)), ("recent", timedelta(days=1))):
        staging = RunStaging(root, "dag", run_id)
        staging.reset()
        staging.write_manifest(Manifest(created_at=(now - age).isoformat()))
    RunStaging(root, "dag", "fetch_crashed").reset()  # no manifest: left alone

    assert prune(root, "dag", timedelta(days=7), now=now) == 1
    assert sorted(p.name for p in (tmp_path / "dag").iterdir()) == ["fetch_crashed", "recent"]
    assert prune(root, "other_dag", timedelta(days=7), now=now) == 0
