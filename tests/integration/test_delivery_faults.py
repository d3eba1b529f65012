"""Fault injection: the webhook sink misbehaves and no selected log may be lost.

Every case checks the two delivery invariants on top of what is specific to it:

* nothing is lost: every selected log of the fetched range reached the sink or sits in a dead
  letter under ``tmp_path/dead``;
* duplicates are recognisable: every log delivered more than once came with one webhook-id.

``run_pipeline`` runs the DAG's steps in this process and the sender's waits are not taken (they
are recorded where a case asserts them), so only the sink's own small delays cost real time.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from standardwebhooks.webhooks import Webhook

from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.run.variables import InMemoryVariables
from auth0_log_webhooks.steps.commit import DeadLettersKeptError
from dev.auth0_tenant.testing import FIXED_SET, EmulatorHandle
from dev.runner import RunOutcome
from dev.webhook_sink.testing import SinkHandle
from tests.fixture_types import (
    Configure,
    ReadDeadLetters,
    ReplayDeadLetters,
    RunPipeline,
    SinkFactory,
    TenantFactory,
    WireConnections,
)

pytestmark = pytest.mark.integration

CHECKPOINT = AUTHENTICATION_API.checkpoint_variable
UNSELECTED_TYPES = ("sapi", "fapi")
DEFAULT_MAX_ATTEMPTS = 6


def selected(tenant: EmulatorHandle, ids: list[str] | None = None) -> list[str]:
    """Return the log ids (of ``ids``, default all) the default filter selects: all but sapi/fapi."""
    ids = tenant.all_log_ids() if ids is None else ids
    return [i for i in ids if tenant.log(i)["type"] not in UNSELECTED_TYPES]


def fetched_ids(tenant: EmulatorHandle, outcome: RunOutcome) -> list[str]:
    """Return the log ids a run fetched (its start cursor excluded, its end cursor included)."""
    plan = outcome.plan
    end = plan["end_cursor"]
    assert end is not None, "the run read no log"
    return [i for i in tenant.all_log_ids(plan["start_cursor"]) if i <= end]


def assert_nothing_lost(sink: SinkHandle, letters: list[dict[str, Any]], expected: list[str]) -> None:
    """Every expected log reached the sink or a dead letter; every duplicate has one webhook-id."""
    delivered = set(sink.log_ids())
    kept = {log_id for letter in letters for log_id in letter["log_ids"]}
    lost = [log_id for log_id in expected if log_id not in delivered and log_id not in kept]
    assert not lost, f"{len(lost)} selected logs were neither delivered nor dead-lettered, e.g. {lost[:3]}"
    summary = sink.summary()
    assert summary["duplicates_with_same_webhook_id"] is True, "a log arrived twice under different webhook-ids"
    assert summary["logs_without_id"] == 0


def attempts_by_webhook_id(sink: SinkHandle) -> dict[str, list[dict[str, Any]]]:
    """Group the recorded requests by webhook-id, in arrival order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in sink.requests():
        groups[record["headers"].get("webhook-id")].append(record)
    return groups


@pytest.fixture
def tenant(auth0_tenant_factory: TenantFactory) -> EmulatorHandle:
    """An emulated tenant with 300 logs (286 selected: three batches of at most 100) and no rate limit."""
    return auth0_tenant_factory(logs=300, seed=11, rate_limit_per_minute=0, **FIXED_SET)


# -- transient errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504], ids=lambda status: f"http{status}")
def test_every_log_is_delivered_when_the_sink_answers_a_burst_of_5xx(
    status: int,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    """A burst one shorter than max_attempts is absorbed by the first batch's retries."""
    burst = DEFAULT_MAX_ATTEMPTS - 1
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=status, count=burst)

    outcome = run_pipeline()

    assert outcome.error is None
    expected = selected(tenant)
    assert webhook_sink.log_ids() == expected
    assert dead_letters() == []
    summary = webhook_sink.summary()
    assert summary["statuses"] == {str(status): burst, "200": len(outcome.plan["batches"])}
    assert summary["duplicate_log_ids"] == 0
    assert sum(r["delivered_logs"] for r in outcome.reports) == len(expected)
    first_batch = attempts_by_webhook_id(webhook_sink)[webhook_sink.requests()[0]["headers"]["webhook-id"]]
    assert [r["status"] for r in first_batch] == [status] * burst + [200]
    assert_nothing_lost(webhook_sink, [], expected)


@pytest.mark.parametrize(
    ("retry_after", "settings", "low", "high"),
    [
        pytest.param("7", {}, 7, 7, id="delta-seconds"),
        pytest.param("http-date+30s", {}, 25, 30, id="http-date"),
        pytest.param("600", {"retry_after_max_seconds": 20}, 20, 20, id="capped-by-retry_after_max_seconds"),
        pytest.param("1", {"max_attempts": 1, "backoff_initial_seconds": 0.1}, 1, 1, id="not-a-failed-attempt"),
    ],
)
def test_waits_honour_retry_after_when_the_sink_answers_429(
    retry_after: str,
    settings: dict[str, Any],
    low: int,
    high: int,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    dead_letters: ReadDeadLetters,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sender waits what Retry-After asks (seconds or an HTTP date), up to retry_after_max_seconds; a 429 is
    not a failed attempt, so even a single attempt (max_attempts 1) outlasts two of them."""
    if retry_after == "http-date+30s":
        retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    configure(**settings)
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=429, count=2, retry_after=retry_after)
    waits: list[float] = []
    caplog.set_level("INFO", logger="auth0_log_webhooks.delivery.sender")

    outcome = run_pipeline(sleep=waits.append)

    assert outcome.error is None
    assert len(waits) == 2
    assert all(low <= wait <= high for wait in waits), waits
    assert caplog.text.count("(429); waiting") == 2
    assert caplog.text.count("this does not count as a failed attempt") == 2
    summary = webhook_sink.summary()
    assert summary["statuses"] == {"429": 2, "200": len(outcome.plan["batches"])}
    expected = selected(tenant)
    assert webhook_sink.log_ids() == expected
    assert dead_letters() == []
    assert_nothing_lost(webhook_sink, [], expected)


def test_waits_back_off_exponentially_within_bounds_when_no_retry_after_is_given(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
) -> None:
    """Without Retry-After, attempt n waits a jittered [c/2, c] with c = min(max, initial * 2**(n-1))."""
    configure(backoff_initial_seconds=2, backoff_max_seconds=5)
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=503, count=4)
    waits: list[float] = []

    outcome = run_pipeline(sleep=waits.append)

    assert outcome.error is None
    ceilings = [2, 4, 5, 5]
    assert len(waits) == len(ceilings)
    for wait, ceiling in zip(waits, ceilings, strict=True):
        assert ceiling / 2 <= wait <= ceiling, (waits, ceilings)
    assert_nothing_lost(webhook_sink, [], selected(tenant))


# -- timeouts, hangs and resets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "duplicates"),
    [
        pytest.param({"delay_seconds": 1.5}, True, id="late-answer"),
        pytest.param({"hang": True}, False, id="hang"),
    ],
)
def test_a_batch_is_retried_and_delivered_when_the_sink_times_out_and_then_recovers(
    fault: dict[str, Any],
    duplicates: bool,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    """Two attempts get no answer within the 1 s timeout; the third is answered.

    A late answer is still a delivery for the sink (it recorded the request before answering), so
    the first batch arrives three times: always under the same webhook-id.
    """
    wire_connections(tenant, webhook_sink, timeout=1)
    webhook_sink.add_fault(count=2, **fault)

    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    expected = selected(tenant)
    assert webhook_sink.log_ids() == expected
    records = webhook_sink.requests()
    assert len({r["headers"]["webhook-id"] for r in records[:3]}) == 1, "the first message was retried as is"
    summary = webhook_sink.summary()
    if duplicates:
        assert summary["duplicate_log_ids"] == 2 * 100
        assert summary["statuses"] == {"200": len(outcome.plan["batches"]) + 2}
    else:
        assert summary["duplicate_log_ids"] == 0
        assert summary["statuses"] == {"no_response": 2, "200": len(outcome.plan["batches"])}
    assert_nothing_lost(webhook_sink, dead_letters(), expected)


def test_a_batch_is_dead_lettered_with_the_timeout_when_the_sink_never_answers_in_time(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """max_attempts hangs in a row exhaust the first batch: it is kept, the rest is delivered."""
    configure(max_attempts=2)
    wire_connections(tenant, webhook_sink, timeout=1)
    webhook_sink.add_fault(hang=True, count=2)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    expected = selected(tenant)
    (letter,) = dead_letters()
    assert letter["log_ids"] == expected[:100]
    assert letter["last_status"] is None
    assert letter["last_error"] == "no answer within 1s"
    assert letter["attempts"] == 2
    assert letter["reason"].startswith("gave up")
    assert webhook_sink.log_ids() == expected[100:]
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    assert_nothing_lost(webhook_sink, dead_letters(), expected)


@pytest.mark.parametrize("resets", [1, 5], ids=lambda n: f"{n}-resets")
def test_a_batch_is_retried_and_delivered_when_the_sink_resets_connections(
    resets: int,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(reset=True, count=resets)

    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    expected = selected(tenant)
    assert webhook_sink.log_ids() == expected
    summary = webhook_sink.summary()
    assert summary["statuses"] == {"no_response": resets, "200": len(outcome.plan["batches"])}
    assert summary["duplicate_log_ids"] == 0
    assert_nothing_lost(webhook_sink, [], expected)


# -- 413 ---------------------------------------------------------------------------------------------


def test_every_log_is_delivered_in_halves_when_the_sink_rejects_large_bodies(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    """A 30 KB limit (a batch is ~110 KB, a log ~1 KB): batches are halved until they fit."""
    limit = 30_000
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(max_body_bytes=limit)

    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    expected = selected(tenant)
    assert webhook_sink.log_ids() == expected  # the halves arrive in order
    records = webhook_sink.requests()
    accepted = [r for r in records if r["status"] == 200]
    too_large = [r for r in records if r["status"] == 413]
    assert too_large
    assert all(r["body_bytes"] > limit for r in too_large)
    assert all(r["body_bytes"] <= limit for r in accepted)
    summary = webhook_sink.summary()
    assert summary["webhook_ids"] == len(accepted), "every half carries its own webhook-id"
    assert summary["duplicate_log_ids"] == 0
    assert sum(r["delivered_logs"] for r in outcome.reports) == len(expected)
    assert_nothing_lost(webhook_sink, [], expected)


def test_a_single_log_is_dead_lettered_with_413_when_it_is_too_large_on_its_own(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """Two logs per batch, one batch per run, a 100-byte limit: each log ends up in its own dead letter."""
    configure(batch_size=2, max_logs_per_run=2)
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(max_body_bytes=100)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    assert "2 logs not delivered (HTTP 413); kept as 2 dead letters." in str(outcome.error)
    fetched = fetched_ids(tenant, outcome)
    expected = selected(tenant, fetched)
    assert len(expected) == 2
    letters = dead_letters()
    assert sorted(letter["log_ids"] for letter in letters) == [[expected[0]], [expected[1]]]
    for letter in letters:
        assert letter["last_status"] == 413
        assert letter["attempts"] == 1
        assert letter["reason"].startswith("payload too large for a single log")
    assert variables.get(CHECKPOINT) == fetched[-1]  # the checkpoint passes them
    assert webhook_sink.log_ids() == []
    assert webhook_sink.summary()["statuses"] == {"413": 3}  # the pair, then each log
    assert_nothing_lost(webhook_sink, letters, expected)


def test_only_the_oversized_log_is_dead_lettered_when_one_log_exceeds_the_limit(
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """A 60 KB log among ~1 KB ones, a 50 KB limit: the others are delivered in halves, it is kept."""
    big = tenant.add_raw_logs([{"type": "f", "description": "x" * 60_000}])
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(max_body_bytes=50_000)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    (letter,) = dead_letters()
    assert letter["log_ids"] == big
    assert letter["last_status"] == 413
    expected = selected(tenant)
    assert webhook_sink.log_ids() == [i for i in expected if i not in big]
    assert variables.get(CHECKPOINT) == big[-1]
    assert_nothing_lost(webhook_sink, [letter], expected)


# -- permanent errors, then replay -------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 422], ids=lambda status: f"http{status}")
def test_batches_are_dead_lettered_and_replayed_when_the_sink_rejects_them_permanently(
    status: int,
    tenant: EmulatorHandle,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """A permanent answer is not retried; the batches are kept, passed, and replayed once the sink is fixed."""
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_fault(status=status)

    outcome = run_pipeline()

    assert isinstance(outcome.error, DeadLettersKeptError)
    batches = len(outcome.plan["batches"])
    assert f"kept as {batches} dead letters." in str(outcome.error).splitlines()[0]
    assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
    expected = selected(tenant)
    letters = dead_letters()
    assert len(letters) == batches
    assert all(letter["last_status"] == status and letter["attempts"] == 1 for letter in letters)
    assert sorted(i for letter in letters for i in letter["log_ids"]) == sorted(expected)
    assert webhook_sink.summary()["statuses"] == {str(status): batches}
    assert_nothing_lost(webhook_sink, letters, expected)

    webhook_sink.clear_faults()
    replayed = replay_dead_letters()

    assert replayed.error is None
    assert replayed.summary == {"delivered": batches, "still_failing": 0, "logs_delivered": len(expected)}
    assert dead_letters() == []
    assert webhook_sink.log_ids() == expected
    accepted_ids = {r["headers"]["webhook-id"] for r in webhook_sink.requests() if r["status"] == 200}
    assert accepted_ids == {letter["webhook_id"] for letter in letters}, "a replay keeps the webhook-id"
    assert_nothing_lost(webhook_sink, [], expected)


# -- a flapping sink over several runs ---------------------------------------------------------------


def test_every_log_is_delivered_after_replays_when_the_sink_flaps_over_several_runs(
    auth0_tenant_factory: TenantFactory,
    webhook_sink: SinkHandle,
    wire_connections: WireConnections,
    run_pipeline: RunPipeline,
    configure: Configure,
    replay_dead_letters: ReplayDeadLetters,
    dead_letters: ReadDeadLetters,
    variables: InMemoryVariables,
) -> None:
    """Random 500s and 503s (about 40% of requests, seeded), three attempts per message.

    Some batches exhaust their attempts and are dead-lettered; each run still passes them. Replays,
    under the same flapping, deliver them in the end.
    """
    tenant = auth0_tenant_factory(logs=600, seed=5, rate_limit_per_minute=0)
    configure(max_attempts=3)
    wire_connections(tenant, webhook_sink)
    webhook_sink.add_faults(
        [
            {"status": 500, "probability": 0.2, "seed": 41},
            {"status": 503, "probability": 0.25, "seed": 42},  # 0.2 + 0.8 * 0.25 = 0.4 of requests
        ]
    )

    kept_during_runs = 0
    for run in range(4):
        if run:
            tenant.add_logs(200)
        outcome = run_pipeline()
        assert outcome.error is None or isinstance(outcome.error, DeadLettersKeptError), outcome.error
        kept_during_runs += len(dead_letters())
        assert variables.get(CHECKPOINT) == tenant.all_log_ids()[-1]
        assert_nothing_lost(webhook_sink, dead_letters(), selected(tenant))
    assert kept_during_runs > 0, "the seeds were chosen so that some batches exhaust their attempts"

    for _ in range(10):
        if not dead_letters():
            break
        replay_dead_letters()
        assert_nothing_lost(webhook_sink, dead_letters(), selected(tenant))
    assert dead_letters() == []

    expected = selected(tenant)
    assert webhook_sink.check(expected)["ok"]
    assert set(webhook_sink.log_ids()) == set(expected)
    summary = webhook_sink.summary()
    assert {"500", "503"} <= set(summary["statuses"])
    assert_nothing_lost(webhook_sink, [], expected)


# -- signatures under faults -------------------------------------------------------------------------


def test_every_attempt_is_freshly_signed_when_the_sink_fails_in_various_ways(
    tenant: EmulatorHandle,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    run_pipeline: RunPipeline,
    dead_letters: ReadDeadLetters,
) -> None:
    """A late 503, a reset, a 429 and a 500 in a row: every attempt carries a valid, fresh signature."""
    sink = webhook_sink_factory(secrets=(signing_secret,))
    wire_connections(tenant, sink, secret=signing_secret)
    sink.add_faults(
        [
            {"status": 503, "count": 1, "delay_seconds": 1.1},
            {"reset": True, "count": 1},
            {"status": 429, "count": 1, "retry_after": "0"},
            {"status": 500, "count": 1},
        ]
    )

    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    summary = sink.summary()
    assert summary["bad_signatures"] == 0
    assert summary["statuses"] == {
        "503": 1,
        "no_response": 1,
        "429": 1,
        "500": 1,
        "200": len(outcome.plan["batches"]),
    }
    records = sink.requests()
    first = records[:5]
    assert len({r["headers"]["webhook-id"] for r in first}) == 1
    timestamps = [int(r["headers"]["webhook-timestamp"]) for r in first]
    assert timestamps == sorted(timestamps)
    assert timestamps[1] > timestamps[0], "an attempt after the late answer is signed with a newer timestamp"
    assert first[1]["headers"]["webhook-signature"] != first[0]["headers"]["webhook-signature"]
    verifier = Webhook(signing_secret)
    for record in records:  # the sink checks only answered requests; check the faulted ones too
        headers = {k: record["headers"][k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
        verifier.verify(record["body"], headers)
    assert_nothing_lost(sink, [], selected(tenant))


# -- formats -----------------------------------------------------------------------------------------


def _json_lines(record: dict[str, Any]) -> None:
    assert record["headers"]["content-type"] == "application/x-ndjson"
    assert all(json.loads(line)["log_id"] for line in record["body"].splitlines())


def _one_object(record: dict[str, Any]) -> None:
    assert record["headers"]["content-type"] == "application/json"
    assert record["log_count"] == 1
    assert isinstance(json.loads(record["body"]), dict)


def _envelope(record: dict[str, Any]) -> None:
    items = json.loads(record["body"])
    assert all(set(item) == {"log_id", "data"} and item["data"]["log_id"] == item["log_id"] for item in items)


def _gzip(record: dict[str, Any]) -> None:
    assert record["headers"]["content-encoding"] == "gzip"
    assert record["body_bytes"] < len(record["body"].encode()) / 2  # compressed on the wire


def _assert_event_of_its_log(event: Any, tenant_domain: str) -> None:
    log = event.get_data()
    assert event.get_id() == log["log_id"]
    assert event.get_source() == f"urn:auth0:{tenant_domain}"
    assert event.get_type() == f"com.auth0.log.{log['type']}"
    assert event.get_time() == datetime.fromisoformat(log["date"])


def _cloudevents_batch(record: dict[str, Any], tenant_domain: str) -> None:
    # The SDK reads single events; a batch is a JSON array of them (CloudEvents JSON format, section 4).
    assert record["headers"]["content-type"] == "application/cloudevents-batch+json"
    items = json.loads(record["body"])
    assert len(items) == record["log_count"] > 1
    for item in items:
        _assert_event_of_its_log(JSONFormat().read(None, json.dumps(item)), tenant_domain)


def _cloudevent(record: dict[str, Any], tenant_domain: str) -> None:
    assert record["headers"]["content-type"] == "application/cloudevents+json"
    event = from_http(HTTPMessage(record["headers"], record["body"].encode()), JSONFormat())
    _assert_event_of_its_log(event, tenant_domain)


def _everything(record: dict[str, Any]) -> None:
    assert record["headers"]["content-encoding"] == "gzip"
    lines = [json.loads(line) for line in record["body"].splitlines()]
    assert all(set(item) == {"log_id", "data"} for item in lines)


@pytest.mark.parametrize(
    ("settings", "check_request"),
    [
        pytest.param({"format": "json_lines"}, _json_lines, id="json_lines"),
        pytest.param({"send_as_batch": False}, _one_object, id="one-object-per-request"),
        pytest.param({"log_streams_envelope": True}, _envelope, id="log_streams_envelope"),
        pytest.param({"gzip": True}, _gzip, id="gzip"),
        pytest.param(
            {"format": "json_lines", "log_streams_envelope": True, "gzip": True},
            _everything,
            id="gzip-json_lines-envelope",
        ),
        pytest.param({"format": "cloudevents"}, _cloudevents_batch, id="cloudevents-batch"),
        pytest.param({"format": "cloudevents", "send_as_batch": False}, _cloudevent, id="cloudevents-one-per-log"),
    ],
)
def test_every_log_is_delivered_and_verified_when_the_format_is_changed(
    settings: dict[str, Any],
    check_request: Any,
    auth0_tenant_factory: TenantFactory,
    webhook_sink_factory: SinkFactory,
    wire_connections: WireConnections,
    signing_secret: str,
    run_pipeline: RunPipeline,
    configure: Configure,
    dead_letters: ReadDeadLetters,
) -> None:
    """Each format arrives complete and signed (over the uncompressed body with gzip), even after a 503."""
    tenant = auth0_tenant_factory(logs=120, seed=13, rate_limit_per_minute=0)
    sink = webhook_sink_factory(secrets=(signing_secret,))
    configure(**settings)
    wire_connections(tenant, sink, secret=signing_secret)
    sink.add_fault(status=503, count=1)

    outcome = run_pipeline()

    assert outcome.error is None
    assert dead_letters() == []
    expected = selected(tenant)
    check = sink.check(expected)
    assert check["ok"], check
    assert check["unexpected_count"] == 0
    assert sink.log_ids() == expected
    summary = sink.summary()
    assert summary["bad_signatures"] == 0
    assert summary["duplicate_log_ids"] == 0
    messages = len(expected) if settings.get("send_as_batch") is False else len(outcome.plan["batches"])
    assert summary["statuses"] == {"503": 1, "200": messages}
    assert summary["webhook_ids"] == messages
    for record in sink.requests():
        if record["status"] == 200:
            if settings.get("format") == "cloudevents":  # parsed by the CloudEvents SDK, exactly as sent
                check_request(record, tenant.domain)
            else:
                check_request(record)
    assert_nothing_lost(sink, [], expected)
