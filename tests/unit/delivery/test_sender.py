"""WebhookSender against a scripted transport: signing, retries, Retry-After, 413 splits, failures."""

import base64
import gzip
import io
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from standardwebhooks.webhooks import Webhook
from typing_extensions import Buffer

from auth0_log_webhooks.delivery.payloads import encode, webhook_id_for
from auth0_log_webhooks.delivery.sender import RESPONSE_EXCERPT_BYTES, DeliveryPolicy, Verdict, WebhookSender, classify
from auth0_log_webhooks.http.oauth2 import ClientCredentials, ClientCredentialsAuth, forget_tokens
from auth0_log_webhooks.http.rate_cap import PauseBeganError, RateCap
from auth0_log_webhooks.http.retrying import USER_AGENT
from auth0_log_webhooks.pipelines.config import PipelineConfig
from tests.builders import log_id
from tests.fakes import Answer, ScriptedAdapter, body_text, mount

pytestmark = pytest.mark.unit

URL = "https://hooks.example.com/auth0"
TOKEN_URL = "https://login.example.com/oauth/token"
SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def policy(**settings: Any) -> DeliveryPolicy:
    """A delivery policy from pipeline settings (the defaults are PipelineConfig's) and a 30 s timeout."""
    return DeliveryPolicy.from_config(PipelineConfig(**settings), timeout_seconds=30)


POLICY = policy(max_attempts=4, backoff_initial_seconds=1, backoff_max_seconds=8, retry_after_max_seconds=30)
OK = Answer(204)


def logs(*numbers: int) -> list[dict[str, Any]]:
    return [{"log_id": log_id(n), "type": "s", "user_name": "zoë@example.com"} for n in numbers]


class Clock:
    """Real time that ticks a second per reading, so each attempt gets its own timestamp."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC)
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        return self.start + timedelta(seconds=self.readings)


@pytest.fixture
def waits() -> list[float]:
    """The sender's waits, recorded instead of slept, so no test ever waits."""
    return []


MakeSender = Callable[..., tuple[WebhookSender, ScriptedAdapter]]


@pytest.fixture
def make_sender(waits: list[float]) -> MakeSender:
    """Build a sender whose requests go to a scripted adapter; returns the sender and the adapter."""

    def make(
        *answers: Answer,
        respond: Callable[[requests.PreparedRequest], Answer] | None = None,
        policy: DeliveryPolicy = POLICY,
        secrets: Sequence[str] = (SECRET,),
        now: Callable[[], datetime] | None = None,
        rate_cap: RateCap | None = None,
    ) -> tuple[WebhookSender, ScriptedAdapter]:
        session = requests.Session()
        adapter = mount(session, ScriptedAdapter(*answers, respond=respond))
        sender = WebhookSender(session, URL, secrets, policy, sleep=waits.append, now=now or Clock(), rate_cap=rate_cap)
        return sender, adapter

    return make


def sent_log_ids(request: requests.PreparedRequest) -> list[str]:
    return [log["log_id"] for log in json.loads(body_text(request))]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DELIVERED),
        (204, Verdict.DELIVERED),
        (299, Verdict.DELIVERED),
        (301, Verdict.PERMANENT),
        (307, Verdict.PERMANENT),
        (408, Verdict.RETRY),
        (410, Verdict.PERMANENT),
        (413, Verdict.SPLIT),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (501, Verdict.PERMANENT),
        (502, Verdict.RETRY),
        (503, Verdict.RETRY),
        (504, Verdict.RETRY),
        (505, Verdict.PERMANENT),
        (507, Verdict.RETRY),
        (400, Verdict.PERMANENT),
        (401, Verdict.PERMANENT),
        (404, Verdict.PERMANENT),
        (422, Verdict.PERMANENT),
    ],
    ids=lambda value: str(value),
)
def test_classify_gives_each_status_class_its_verdict(status: int, verdict: Any) -> None:
    assert classify(status) is verdict


NOW = datetime(2026, 11, 26, 5, 0, 0, tzinfo=UTC)


def test_a_2xx_delivers_the_exact_body_signed(make_sender: MakeSender) -> None:
    message = encode(logs(1, 2))
    sender, adapter = make_sender(OK)
    assert sender.send(message) == []
    (request,) = adapter.requests
    assert (request.method, request.url) == ("POST", URL)
    assert request.body == message.body.encode()
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert "Content-Encoding" not in request.headers
    assert request.headers["webhook-id"] == message.webhook_id
    assert Webhook(SECRET).verify(request.body, dict(request.headers)) == logs(1, 2)


def test_the_body_is_gzipped_and_the_signature_covers_the_uncompressed_text_when_gzip_is_on(
    make_sender: MakeSender,
) -> None:
    message = encode(logs(1, 2), "json_lines")
    sender, adapter = make_sender(OK, policy=policy(gzip=True, format="json_lines"))
    assert sender.send(message) == []
    (request,) = adapter.requests
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/x-ndjson"
    assert isinstance(request.body, bytes)
    text = gzip.decompress(request.body)
    assert text == message.body.encode()
    Webhook(SECRET).verify(text, dict(request.headers), json_parse=False)


def test_requests_are_unsigned_when_no_secret_is_set(make_sender: MakeSender) -> None:
    message = encode(logs(1))
    sender, adapter = make_sender(OK, secrets=())
    assert sender.send(message) == []
    (request,) = adapter.requests
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == message.webhook_id


def test_a_503_is_retried_with_the_same_id_and_a_fresh_signature_until_delivered(
    make_sender: MakeSender, waits: list[float]
) -> None:
    message = encode(logs(1, 2))
    down = Answer(503, "busy")
    sender, adapter = make_sender(down, down, OK)
    assert sender.send(message) == []
    assert len(adapter.requests) == 3
    assert {r.headers["webhook-id"] for r in adapter.requests} == {message.webhook_id}
    assert {r.body for r in adapter.requests} == {message.body.encode()}
    timestamps = [int(r.headers["webhook-timestamp"]) for r in adapter.requests]
    assert timestamps == sorted(set(timestamps))
    for request in adapter.requests:
        Webhook(SECRET).verify(body_text(request), dict(request.headers))
    assert len(waits) == 2
    assert 0.5 <= waits[0] <= 1
    assert 1 <= waits[1] <= 2


def test_backoff_never_exceeds_its_maximum_when_many_attempts_fail(make_sender: MakeSender, waits: list[float]) -> None:
    sender, _ = make_sender(
        respond=lambda request: Answer(500),
        policy=policy(max_attempts=8, backoff_initial_seconds=1, backoff_max_seconds=3),
    )
    sender.send(encode(logs(1)))
    assert len(waits) == 7
    assert max(waits) <= 3


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        ("7", 7, 7),
        (format_datetime(NOW + timedelta(seconds=12), usegmt=True), 12, 12),
        ("3600", 30, 30),
        ("0", 0.25, 0.5),
    ],
    ids=["seconds", "http-date", "bounded-by-retry-after-max", "zero-still-backs-off-a-little"],
)
def test_retry_after_is_honoured_within_bounds_when_the_server_asks_to_wait(
    make_sender: MakeSender, waits: list[float], retry_after: Any, low: float, high: float
) -> None:
    limited = Answer(429, {"error": "slow down"}, {"Retry-After": retry_after})
    sender, adapter = make_sender(limited, OK, now=lambda: NOW)
    assert sender.send(encode(logs(1))) == []
    assert len(adapter.requests) == 2
    assert len(waits) == 1
    assert low <= waits[0] <= high


def test_the_sender_counts_the_429_answers_it_waited_out_for_the_webhook_429_metric(make_sender: MakeSender) -> None:
    limited = Answer(429, {"error": "slow down"}, {"Retry-After": "1"})
    sender, _ = make_sender(limited, Answer(503), limited, OK, now=lambda: NOW)
    assert sender.send(encode(logs(1))) == []
    assert (sender.requests_sent, sender.answers_429) == (4, 2)


def test_429s_the_receiver_asks_us_to_wait_out_are_not_failed_attempts(
    make_sender: MakeSender, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    limited = Answer(429, {"error": "slow down"}, {"Retry-After": "2"})
    patient = policy(max_attempts=2, backoff_initial_seconds=0.1, backoff_max_seconds=1)
    sender, adapter = make_sender(*[limited] * 5, Answer(503), OK, policy=patient, now=lambda: NOW)
    caplog.set_level("INFO", logger="auth0_log_webhooks.delivery.sender")

    assert sender.send(encode(logs(1))) == []

    assert len(adapter.requests) == 7  # five 429s waited out, then the 503 is attempt 1 of 2 and the 200 attempt 2
    assert waits[:5] == [2, 2, 2, 2, 2]
    assert "the receiver asked us to wait 2 s (429); waiting; this does not count as a failed attempt" in caplog.text
    assert "(10 s of the 600 s this message may wait for 429 answers)" in caplog.text


def test_a_429_without_retry_after_waits_a_growing_backoff_and_is_not_a_failed_attempt(
    make_sender: MakeSender, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    sender, adapter = make_sender(Answer(429), Answer(429), Answer(429), OK, policy=policy(max_attempts=1))
    caplog.set_level("INFO", logger="auth0_log_webhooks.delivery.sender")

    assert sender.send(encode(logs(1))) == []

    assert len(adapter.requests) == 4
    assert [0.5 <= waits[0] <= 1, 1 <= waits[1] <= 2, 2 <= waits[2] <= 4] == [True] * 3
    assert "the receiver answered 429 without Retry-After; waiting" in caplog.text


def test_a_receiver_answering_429_forever_holds_a_message_only_rate_limited_max_seconds_then_attempts_count(
    make_sender: MakeSender, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    limited = Answer(429, {"error": "slow down"}, {"Retry-After": "4"})
    capped = policy(max_attempts=3, rate_limited_max_seconds=10, retry_after_max_seconds=30)
    sender, adapter = make_sender(respond=lambda request: limited, policy=capped, now=lambda: NOW)

    (failure,) = sender.send(encode(logs(1)))

    assert len(adapter.requests) == 2 + 3  # two waits of 4 s fit in 10 s; then 3 counted attempts
    assert waits == [4, 4, 4, 4]
    assert failure.reason == "gave up: HTTP 429 after 3 attempts"
    assert caplog.text.count("from now on each 429 counts as a failed attempt") == 1
    assert "this message waited 8 s for it (rate_limited_max_seconds is 10 s)" in caplog.text


class RecordingCap:
    """A rate cap that records what the sender asks of it and never waits; ``pauses`` of its starts find a
    pause begun after the slot was reserved."""

    per_second = 20.0

    def __init__(self, calls: list[tuple[str, float]] | None = None, pauses: int = 0) -> None:
        self.calls = [] if calls is None else calls
        self.pauses = pauses

    def pace(self) -> float:
        self.calls.append(("pace", 0.0))
        return 0.0

    def start(self) -> float:
        self.calls.append(("start", 0.0))
        if self.pauses:
            self.pauses -= 1
            raise PauseBeganError("paused")
        return 0.0

    def hold_off(self, seconds: float) -> None:
        self.calls.append(("hold_off", seconds))


def test_a_429_pauses_the_connections_shared_cap_which_then_does_the_waiting(
    make_sender: MakeSender, waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    cap = RecordingCap()
    limited = Answer(429, {"error": "slow down"}, {"Retry-After": "3"})
    sender, _ = make_sender(limited, Answer(429), OK, policy=policy(max_attempts=1), now=lambda: NOW, rate_cap=cap)
    caplog.set_level("INFO", logger="auth0_log_webhooks.delivery.sender")

    assert sender.send(encode(logs(1))) == []

    names = [name for name, _ in cap.calls]
    assert names == ["pace", "start", "hold_off", "pace", "start", "hold_off", "pace", "start"]
    assert cap.calls[2] == ("hold_off", 3.0)
    assert 0.5 <= cap.calls[5][1] <= 2  # no Retry-After: the backoff after a second 429
    assert waits == []  # the cap's next slot comes after the pause; the sender does not sleep on top
    assert "waiting, and so does every sender to this connection; this does not count" in caplog.text


def test_a_capped_request_starts_after_it_is_signed_just_before_it_is_sent(make_sender: MakeSender) -> None:
    """The cap records a request's start as late as the sender can: after the attempt is built and signed
    (the signature's timestamp is read then), in the connection, so the sender's own work never stands
    between the recorded start and what the receiver sees."""
    calls: list[tuple[str, float]] = []
    cap = RecordingCap(calls)

    def signing_clock() -> datetime:
        calls.append(("sign", 0.0))
        return NOW

    sender, adapter = make_sender(OK, OK, now=signing_clock, rate_cap=cap)
    assert sender.send(encode(logs(1))) == []
    assert sender.send(encode(logs(2))) == []

    assert [name for name, _ in calls] == ["pace", "sign", "start", "pace", "sign", "start"]
    assert len(adapter.requests) == 2


def test_a_pause_that_began_after_the_slot_was_taken_sends_nothing_and_paces_again(
    make_sender: MakeSender, waits: list[float]
) -> None:
    """Another sender's 429 paused the receiver while this one built its request: nothing goes out, no
    attempt is spent, and the sender takes a new slot (after the pause) before it sends."""
    cap = RecordingCap(pauses=1)
    sender, adapter = make_sender(OK, policy=policy(max_attempts=1), rate_cap=cap)

    assert sender.send(encode(logs(1))) == []

    assert [name for name, _ in cap.calls] == ["pace", "start", "pace", "start"]
    assert len(adapter.requests) == 1  # the first try stopped before its first byte
    assert sender.requests_sent == 1
    assert waits == []


def test_an_oauth2_token_request_takes_no_turn_of_the_receivers_cap(make_sender: MakeSender) -> None:
    """The token endpoint is not the receiver: fetching a token is not one of the receiver's requests."""
    cap = RecordingCap()

    def respond(request: requests.PreparedRequest) -> Answer:
        if request.url == TOKEN_URL:
            return Answer(200, {"access_token": "token-0123456789", "expires_in": 3600})
        return OK

    sender, adapter = make_sender(respond=respond, rate_cap=cap)
    credentials = ClientCredentials(TOKEN_URL, "receiver-client", "receiver-client-secret-0123456789")
    sender.session.auth = ClientCredentialsAuth(credentials, sender.session)
    forget_tokens()
    try:
        assert sender.send(encode(logs(1))) == []
    finally:
        forget_tokens()

    assert [request.url for request in adapter.requests] == [TOKEN_URL, URL]
    assert [name for name, _ in cap.calls] == ["pace", "start"]


def test_a_failure_reports_the_last_answer_when_attempts_are_exhausted(
    make_sender: MakeSender, waits: list[float]
) -> None:
    message = encode(logs(1, 2))
    sender, adapter = make_sender(Answer(502, "bad gateway"), Answer(502, "bad gateway"), Answer(503), Answer(503, "x"))
    (failure,) = sender.send(message)
    assert len(adapter.requests) == POLICY.max_attempts == 4
    assert len(waits) == 3
    assert failure.message == message
    assert (failure.last.status, failure.last.body_excerpt, failure.last.attempts) == (503, "x", 4)
    assert failure.reason == "gave up: HTTP 503 after 4 attempts"


def test_a_redirect_is_not_followed_and_fails_permanently(make_sender: MakeSender, waits: list[float]) -> None:
    moved = Answer(301, "moved", {"Location": "https://elsewhere.example.com/hook"})
    sender, adapter = make_sender(moved)  # a followed redirect would be an unexpected second request
    (failure,) = sender.send(encode(logs(1)))
    assert [r.url for r in adapter.requests] == [URL]
    assert failure.reason == "permanent: HTTP 301 after 1 attempt"
    assert waits == []


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422, 501], ids=lambda status: str(status))
def test_a_permanent_status_fails_after_one_request(make_sender: MakeSender, waits: list[float], status: int) -> None:
    sender, adapter = make_sender(Answer(status, {"error": "no"}))
    (failure,) = sender.send(encode(logs(1, 2)))
    assert len(adapter.requests) == 1
    assert waits == []
    assert (failure.last.status, failure.last.attempts) == (status, 1)
    assert json.loads(failure.last.body_excerpt) == {"error": "no"}
    assert failure.reason == f"permanent: HTTP {status} after 1 attempt"


def test_a_413_splits_the_message_in_halves_until_each_is_accepted(make_sender: MakeSender) -> None:
    lines = policy(format="json_lines", log_streams_envelope=True)
    original = encode(logs(*range(1, 8)), "json_lines", envelope=True)

    def ids_in(request: requests.PreparedRequest) -> list[str]:
        return [json.loads(line)["log_id"] for line in body_text(request).split("\n")]

    def respond(request: requests.PreparedRequest) -> Answer:
        return Answer(413, "too large") if len(ids_in(request)) > 2 else OK

    sender, adapter = make_sender(respond=respond, policy=lines)
    assert sender.send(original) == []
    sizes = [len(ids_in(r)) for r in adapter.requests]
    assert sizes == [7, 3, 1, 2, 4, 2, 2]  # depth first: 7 -> 3 + 4, 3 -> 1 + 2, 4 -> 2 + 2
    accepted = [ids_in(r) for r in adapter.requests if len(ids_in(r)) <= 2]
    assert [i for ids in accepted for i in ids] == list(original.log_ids)  # every log exactly once, in order
    for request in adapter.requests:
        assert request.headers["webhook-id"] == webhook_id_for(ids_in(request))
        Webhook(SECRET).verify(body_text(request), dict(request.headers), json_parse=False)
    assert len({r.headers["webhook-id"] for r in adapter.requests}) == len(adapter.requests)


def test_only_the_too_large_log_fails_when_a_413_persists_down_to_one_log(make_sender: MakeSender) -> None:
    def respond(request: requests.PreparedRequest) -> Answer:
        return Answer(413) if log_id(3) in sent_log_ids(request) else OK

    sender, adapter = make_sender(respond=respond)
    (failure,) = sender.send(encode(logs(1, 2, 3, 4)))
    assert failure.message.log_ids == (log_id(3),)
    assert failure.reason == "payload too large for a single log: HTTP 413 after 1 attempt"
    delivered = [sent_log_ids(r) for r in adapter.requests if log_id(3) not in sent_log_ids(r)]
    assert delivered == [[log_id(1), log_id(2)], [log_id(4)]]


def test_a_413_on_a_single_log_fails_without_retrying(make_sender: MakeSender, waits: list[float]) -> None:
    message = encode(logs(1))
    sender, adapter = make_sender(Answer(413, "too large"))
    (failure,) = sender.send(message)
    assert len(adapter.requests) == 1
    assert waits == []
    assert (failure.message, failure.last.status) == (message, 413)


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectionError("connection reset by peer"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
    ],
    ids=["network", "read-timeout", "connect-timeout"],
)
def test_a_network_error_or_timeout_is_retried_until_delivered(
    make_sender: MakeSender, waits: list[float], error: Any
) -> None:
    sender, adapter = make_sender(Answer(raises=error), OK)
    assert sender.send(encode(logs(1))) == []
    assert len(adapter.requests) == 2
    assert len(waits) == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (requests.exceptions.ConnectionError("reset"), "gave up: network error: ConnectionError after 4 attempts"),
        (requests.exceptions.ReadTimeout("slow"), "gave up: no answer within 30s after 4 attempts"),
    ],
    ids=["network", "timeout"],
)
def test_a_failure_says_what_went_wrong_when_no_answer_ever_came(
    make_sender: MakeSender, error: Any, reason: str
) -> None:
    sender, adapter = make_sender(respond=lambda request: Answer(raises=error))
    (failure,) = sender.send(encode(logs(1)))
    assert len(adapter.requests) == 4
    assert (failure.reason, failure.last.status, failure.last.body_excerpt) == (reason, None, "")


class EndlessBody(io.RawIOBase):
    """A response body that never ends, counting the bytes read from it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        buffer = memoryview(buffer).cast("B")
        buffer[:] = b"\xc3\xa9" * (len(buffer) // 2) + b"x" * (len(buffer) % 2)
        self.read_bytes += len(buffer)
        return len(buffer)


class StreamingAdapter(ScriptedAdapter):
    """Answer with a body that is streamed, as a real connection's is, rather than preloaded."""

    def __init__(self, status: int, body: EndlessBody) -> None:
        super().__init__(Answer(status))
        self.body = body

    def reply(self, request: requests.PreparedRequest) -> requests.Response:
        response = super().reply(request)
        response._content, response.raw = False, self.body  # type: ignore[assignment]  # requests' "not read yet"
        response._content_consumed = False  # type: ignore[attr-defined]  # requests' own flag, missing from its stubs
        return response


def test_a_hostile_endless_response_body_is_read_only_up_to_the_excerpt_size(waits: list[float]) -> None:
    body = EndlessBody()
    session = requests.Session()
    mount(session, StreamingAdapter(500, body))
    sender = WebhookSender(session, URL, (SECRET,), policy(max_attempts=1), sleep=waits.append)
    (failure,) = sender.send(encode(logs(1)))
    assert body.read_bytes <= 2 * RESPONSE_EXCERPT_BYTES
    assert failure.last.body_excerpt == "é" * (RESPONSE_EXCERPT_BYTES // 2)


def test_only_a_management_pipeline_leaves_log_id_out_and_add_log_id_puts_it_back() -> None:
    assert DeliveryPolicy.from_config(PipelineConfig(), 30, "management").omit_log_id
    assert not DeliveryPolicy.from_config(PipelineConfig(add_log_id=True), 30, "management").omit_log_id
    assert not DeliveryPolicy.from_config(PipelineConfig(), 30, "authentication").omit_log_id  # Auth0's own log


def test_every_attempt_goes_to_the_journal_with_its_answer(make_sender: MakeSender, tmp_path: Path) -> None:
    from auth0_log_webhooks.run.delivery_log import Attempt, DeliveryLog, Journal

    log = DeliveryLog(f"file://{tmp_path}", "pipeline", 30)
    journal = Journal(log, "manual__1")
    sender, _ = make_sender(
        Answer(raises=requests.ConnectionError("refused")),
        Answer(503, "busy; Authorization: Bearer abcdefgh12345"),
        OK,
    )
    sender.journal = journal
    message = encode(logs(1, 2, 3), "json_array", envelope=False)

    assert sender.send(message) == []
    journal.flush()

    found = [entry for entry in log.find(log_id(2)) if isinstance(entry, Attempt)]
    assert [(a.attempt, a.status, a.verdict) for a in found] == [
        (1, None, "retry"),
        (2, 503, "retry"),
        (3, 204, "delivered"),
    ]
    assert all(a.message_id == message.webhook_id and a.count == 3 for a in found)
    assert (found[0].first, found[0].last) == (log_id(1), log_id(3))
    assert found[0].error == "network error: ConnectionError"
    assert "abcdefgh12345" not in found[1].excerpt
    assert "busy" in found[1].excerpt
    assert all(a.run_id == "manual__1" and a.pipeline == "pipeline" for a in found)


def test_each_half_of_a_413_split_is_journalled_as_its_own_message(make_sender: MakeSender, tmp_path: Path) -> None:
    from auth0_log_webhooks.run.delivery_log import Attempt, DeliveryLog, Journal

    log = DeliveryLog(f"file://{tmp_path}", "pipeline", 30)
    journal = Journal(log, "manual__1")
    sender, _ = make_sender(Answer(413, "too large"), OK, OK)
    sender.journal = journal

    assert sender.send(encode(logs(1, 2), "json_array", envelope=False)) == []
    journal.flush()

    verdicts = [(a.count, a.status, a.verdict) for a in log.find(log_id(1)) if isinstance(a, Attempt)]
    assert verdicts == [(2, 413, "split"), (1, 204, "delivered")]
