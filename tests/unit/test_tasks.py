"""The run's steps without Airflow: where to start, how logs are staged, how far to commit."""

from datetime import UTC, datetime, timedelta

import pytest
from airflow.sdk.api.datamodels._generated import DagRunType

from auth0_log_webhooks.checkpoints import InvalidCheckpointError, cursor_for_time, time_of
from auth0_log_webhooks.config import PipelineConfig
from auth0_log_webhooks.filters import TypeLevelFilter
from auth0_log_webhooks.pipelines import Pipeline
from auth0_log_webhooks.staging import Manifest, RunStaging
from auth0_log_webhooks.tasks import MalformedLogError, Stager, backfill_window, decide, start_cursor

pytestmark = pytest.mark.unit

BASE = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)


def log_id(n: int, at: datetime = BASE) -> str:
    return "900" + at.strftime("%Y%m%d%H%M%S") + f"{n:039d}"


def log(n: int, code: str = "s", at: datetime = BASE) -> dict:
    return {"log_id": log_id(n, at), "type": code, "date": at.isoformat().replace("+00:00", "Z")}


# -- decide ------------------------------------------------------------------------------------

MANIFEST = Manifest(
    batches=[[2, log_id(1), log_id(2)], [2, log_id(4), log_id(5)], [1, log_id(7), log_id(7)]],
    start_cursor=log_id(0),
    end_cursor=log_id(9),  # logs 8 and 9 were read but not selected
)
DELIVERED = {"status": "delivered", "delivered_logs": 2, "dead_letters": []}


def test_the_checkpoint_passes_unselected_logs_when_every_batch_is_settled():
    decision = decide(MANIFEST, {0: DELIVERED, 1: DELIVERED, 2: {**DELIVERED, "delivered_logs": 1}})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (3, log_id(9), 0)
    assert (decision.delivered_logs, decision.dead_letters) == (5, ())


def test_the_checkpoint_stops_before_the_first_unsettled_batch_when_there_is_a_gap():
    decision = decide(MANIFEST, {0: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (1, log_id(2), 2)


def test_there_is_no_checkpoint_when_the_first_batch_is_unsettled():
    decision = decide(MANIFEST, {1: DELIVERED, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, None, 3)


def test_dead_lettered_batches_count_as_settled_and_their_entries_are_listed():
    # A 413 split: one half of batch 1 was delivered, the other kept.
    letters = {"status": "dead_lettered", "delivered_logs": 1, "dead_letters": ["p/msg_a"]}
    decision = decide(MANIFEST, {0: DELIVERED, 1: letters, 2: DELIVERED})
    assert (decision.settled, decision.checkpoint) == (3, log_id(9))
    assert decision.dead_letters == ("p/msg_a",)
    assert decision.delivered_logs == 5


@pytest.mark.parametrize(
    ("end_cursor", "checkpoint"),
    [(log_id(9), log_id(9)), (None, log_id(0))],
    ids=["logs-read-none-selected", "nothing-read"],
)
def test_the_checkpoint_moves_past_what_was_read_when_nothing_was_staged(end_cursor, checkpoint):
    decision = decide(Manifest(start_cursor=log_id(0), end_cursor=end_cursor), {})
    assert (decision.settled, decision.checkpoint, decision.undelivered_batches) == (0, checkpoint, 0)


# -- Stager ------------------------------------------------------------------------------------


@pytest.fixture
def staging(tmp_path) -> RunStaging:
    """A run's staging in a temporary folder."""
    run = RunStaging(f"file://{tmp_path}", "dag", "manual__2026-11-26T05:00:00+00:00")
    run.reset()
    return run


def stager(staging: RunStaging, **overrides) -> Stager:
    settings = {"accept": TypeLevelFilter(), "transform": lambda x: x, "batch_size": 3, "max_logs": 1000}
    return Stager(staging, **{**settings, **overrides})


class Pages:
    """Pages served lazily, counting how many the stager asked for."""

    def __init__(self, *pages: list[dict]) -> None:
        self.pages = pages
        self.served = 0

    def __iter__(self):
        for page in self.pages:
            self.served += 1
            yield page


def test_batches_are_cut_at_batch_size_across_pages(staging):
    pages = Pages([log(1), log(2)], [log(3), log(4), log(5)], [log(6), log(7)])
    manifest = stager(staging).run(pages, log_id(0))
    assert manifest.batches == [[3, log_id(1), log_id(3)], [3, log_id(4), log_id(6)], [1, log_id(7), log_id(7)]]
    assert [staging.read_batch(i) for i in range(3)] == [[log(1), log(2), log(3)], [log(4), log(5), log(6)], [log(7)]]
    assert (manifest.fetched, manifest.selected, manifest.end_cursor) == (7, 7, log_id(7))
    assert staging.read_manifest() == manifest


def test_unselected_logs_are_not_staged_but_the_end_cursor_passes_them(staging):
    pages = Pages([log(1), log(2, "sapi"), log(3), log(4, "fapi"), log(5, "sapi")])
    manifest = stager(staging).run(pages, log_id(0))
    assert manifest.batches == [[2, log_id(1), log_id(3)]]
    assert staging.read_batch(0) == [log(1), log(3)]
    assert (manifest.fetched, manifest.selected, manifest.end_cursor) == (5, 2, log_id(5))


def test_logs_are_staged_as_the_pipeline_transforms_them(staging):
    manifest = stager(staging, transform=lambda item: {**item, "source": "auth0"}).run(Pages([log(1)]), log_id(0))
    assert manifest.selected == 1
    assert staging.read_batch(0) == [{**log(1), "source": "auth0"}]


@pytest.mark.parametrize(
    ("max_logs", "batches", "pages_served"),
    [
        (3, [[3, log_id(1), log_id(3)]], 2),
        (4, [[3, log_id(1), log_id(3)], [3, log_id(4), log_id(6)]], 3),
    ],
    ids=["on-a-batch-boundary", "finishing-the-batch"],
)
def test_the_fetch_stops_on_a_batch_boundary_with_a_note_when_max_logs_is_reached(
    staging, max_logs, batches, pages_served
):
    pages = Pages([log(1), log(2)], [log(3), log(4)], [log(5), log(6)], [log(7), log(8)])
    manifest = stager(staging, max_logs=max_logs).run(pages, log_id(0))
    assert manifest.batches == batches  # whole batches only, so the next run cuts the same ones
    assert (manifest.fetched, manifest.end_cursor) == (sum(b[0] for b in batches), batches[-1][2])
    assert f"max_logs_per_run={max_logs}" in manifest.note
    assert pages.served == pages_served  # later pages are never requested


def test_the_fetch_stops_after_twice_max_logs_when_selected_logs_are_rare(staging):
    pages = Pages([log(1), log(2, "sapi")], [log(3, "sapi"), log(4, "sapi")], [log(5, "sapi"), log(6)], [log(7)])
    manifest = stager(staging, max_logs=2).run(pages, log_id(0))
    assert manifest.fetched == 4  # the batch holding log 1 never fills; reading stops at 2 x max_logs
    assert manifest.batches == [[1, log_id(1), log_id(1)]]
    assert manifest.end_cursor == log_id(4)
    assert pages.served == 2


def test_an_empty_tenant_stages_nothing_and_keeps_the_start(staging):
    manifest = stager(staging).run(Pages([]), log_id(0))
    assert (manifest.batches, manifest.fetched, manifest.start_cursor, manifest.end_cursor) == ([], 0, log_id(0), None)
    assert staging.read_manifest() == manifest


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
def test_a_misplaced_log_is_refused_naming_the_previous_id(staging, page, start, message):
    with pytest.raises(MalformedLogError, match=message):
        stager(staging).run(Pages(page), start)


def test_the_underscore_id_is_accepted_when_a_log_has_no_log_id(staging):
    legacy = {"_id": log_id(1), "type": "s"}
    manifest = stager(staging).run(Pages([legacy]), log_id(0))
    assert (manifest.batches, manifest.end_cursor) == ([[1, log_id(1), log_id(1)]], log_id(1))


def test_a_window_keeps_only_its_logs_and_stops_after_the_margin(staging):
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
    assert manifest.batches == [[2, log_id(2, at[1]), log_id(3, at[2])]]
    assert (manifest.fetched, manifest.end_cursor) == (5, log_id(5, at[4]))
    assert pages.served == 2


# -- start_cursor ------------------------------------------------------------------------------

PIPELINE = Pipeline(dag_id="p", title="test")
CHECKPOINT = log_id(40)
PARAM = log_id(50)
CONFIGURED = "2026-11-01T00:00:00Z"


class FakeVariables:
    """Airflow Variables as a dict."""

    def __init__(self, **values: str) -> None:
        self.values = dict(values)

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        self.values[key] = value


class Oldest:
    """The tenant's oldest retained log, counting the lookups."""

    def __init__(self, item: dict | None) -> None:
        self.item = item
        self.calls = 0

    def __call__(self) -> dict | None:
        self.calls += 1
        return self.item


@pytest.mark.parametrize(
    ("params", "checkpoint", "configured", "expected", "reason"),
    [
        ({"start_from": PARAM}, CHECKPOINT, CONFIGURED, PARAM, "start_from param"),
        ({"start_from": "2026-11-20"}, CHECKPOINT, None, cursor_for_time(datetime(2026, 11, 20)), "start_from param"),
        ({"start_from": None}, CHECKPOINT, CONFIGURED, CHECKPOINT, "checkpoint"),
        (None, f" {CHECKPOINT}\n", CONFIGURED, CHECKPOINT, "checkpoint"),
        (None, None, CONFIGURED, cursor_for_time(datetime(2026, 11, 1)), "configured start_from"),
        (None, "", CONFIGURED, cursor_for_time(datetime(2026, 11, 1)), "configured start_from"),
    ],
    ids=["param-wins", "param-date", "empty-param", "checkpoint-trimmed", "configured", "empty-checkpoint"],
)
def test_start_cursor_follows_param_then_checkpoint_then_config(params, checkpoint, configured, expected, reason):
    variables = FakeVariables(**({PIPELINE.checkpoint_variable: checkpoint} if checkpoint is not None else {}))
    oldest = Oldest(log(1))
    config = PipelineConfig(start_from=configured)
    assert start_cursor(PIPELINE, config, params, variables, oldest) == (expected, reason)
    assert oldest.calls == 0  # no Auth0 request when a setting decides


def test_start_cursor_is_a_little_before_the_oldest_log_when_nothing_is_set():
    oldest = Oldest(log(1, at=BASE))
    cursor, reason = start_cursor(PIPELINE, PipelineConfig(), None, FakeVariables(), oldest)
    assert (cursor, reason) == (cursor_for_time(BASE - timedelta(minutes=5)), "oldest retained log")


def test_start_cursor_is_a_little_before_now_when_the_tenant_has_no_log():
    cursor, reason = start_cursor(PIPELINE, PipelineConfig(), None, FakeVariables(), Oldest(None))
    assert reason == "empty tenant"
    assert abs(time_of(cursor) - (datetime.now(UTC) - timedelta(minutes=5))) < timedelta(minutes=1)


@pytest.mark.parametrize("value", ["abc", log_id(1)[:-1], "800" + log_id(1)[3:]], ids=["text", "short", "prefix"])
def test_a_malformed_checkpoint_variable_is_refused_naming_it(value):
    variables = FakeVariables(p_checkpoint=value)
    with pytest.raises(InvalidCheckpointError, match=f"Variable p_checkpoint holds '{value}'"):
        start_cursor(PIPELINE, PipelineConfig(start_from=CONFIGURED), None, variables, Oldest(log(1)))


def test_a_malformed_start_from_param_is_refused_naming_the_param():
    with pytest.raises(InvalidCheckpointError, match="start_from param 'yesterday'"):
        start_cursor(PIPELINE, PipelineConfig(), {"start_from": "yesterday"}, FakeVariables(), Oldest(log(1)))


# -- backfill_window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_type", "expected"),
    [
        (DagRunType.BACKFILL, True),
        ("backfill", True),
        (DagRunType.SCHEDULED, False),
        (DagRunType.MANUAL, False),
    ],
    ids=["sdk-enum", "string", "scheduled", "manual"],
)
def test_only_backfill_runs_get_a_window(run_type, expected):
    start, end = datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)
    assert backfill_window(run_type, start, end) == ((start, end) if expected else None)


def test_a_backfill_run_without_a_data_interval_reads_from_the_checkpoint():
    assert backfill_window(DagRunType.BACKFILL, None, None) is None
