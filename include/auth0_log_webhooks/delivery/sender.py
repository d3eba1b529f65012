"""Deliver webhook messages: sign, POST, classify the answer, retry, split on 413.

Response classes (Standard Webhooks, OTLP and the best senders agree on these):

* 2xx: delivered.
* network errors, timeouts, 408, 500, 502, 503, 504 (and other 5xx but 501/505): retried with
  exponential backoff and jitter, honouring ``Retry-After`` (seconds or an HTTP date) up to a bound.
* 429: the receiver asks us to slow down, which is not a failure: the sender waits what
  ``Retry-After`` says (or the backoff, without one; at most ``retry_after_max_seconds``), pauses the
  connection's shared rate cap for as long so every sender to that receiver slows down, and sends
  again without spending an attempt. A message may wait so in all ``rate_limited_max_seconds``; after
  that each further 429 counts as a failed attempt, so a receiver answering 429 forever turns the
  message into a dead letter after ``max_attempts`` more, and the run's circuit stops the rest.
* 413: the message is split in halves, each sent on its own (a single log that is too large fails).
* 3xx (redirects are not followed), 410 and every other 4xx: permanent for that message.

A message that fails permanently or exhausts its attempts is returned as a :class:`Failure` for the
caller to keep as a dead letter; nothing is dropped here.

Every attempt, whatever its answer, is recorded in the sender's ``journal`` when it has one (the
delivery log, :mod:`auth0_log_webhooks.run.delivery_log`): this is the one place every send goes
through, from a run's delivery tasks and from a replay alike.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from auth0_log_webhooks.delivery.payloads import Message, messages_for, split
from auth0_log_webhooks.hooks.webhook import WebhookHook
from auth0_log_webhooks.http.attempt_deadlines import Deadline, sending_gate
from auth0_log_webhooks.http.oauth2 import TokenError
from auth0_log_webhooks.http.rate_cap import PauseBeganError, RateCap
from auth0_log_webhooks.http.redaction import excerpt
from auth0_log_webhooks.http.retrying import USER_AGENT, backoff_seconds, parse_retry_after
from auth0_log_webhooks.http.signing import signature_headers
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.run.delivery_log import Journal
from auth0_log_webhooks.wording import plural

log = logging.getLogger(__name__)

RESPONSE_EXCERPT_BYTES = 2048
RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
NOT_RETRIED_5XX = frozenset({501, 505})


class Verdict(StrEnum):
    """What a response means for the message."""

    DELIVERED = "delivered"
    RETRY = "retry"
    SPLIT = "split"
    PERMANENT = "permanent"


def classify(status: int) -> Verdict:
    """Classify an HTTP status (see the module docstring)."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 413:
        return Verdict.SPLIT
    if status in RETRIED_STATUSES or (500 <= status < 600 and status not in NOT_RETRIED_5XX):
        return Verdict.RETRY
    return Verdict.PERMANENT


@dataclass(frozen=True)
class DeliveryPolicy:
    """How a pipeline's messages are shaped and retried (its defaults live in :class:`PipelineConfig`)."""

    max_attempts: int
    backoff_initial_seconds: float
    backoff_max_seconds: float
    retry_after_max_seconds: float
    timeout_seconds: float
    fmt: str
    envelope: bool
    gzip: bool
    send_as_batch: bool
    event_source: str = ""
    """The CloudEvents ``source`` (``format: cloudevents`` only)."""
    omit_log_id: bool = False
    rate_limited_max_seconds: float = 600.0
    """The most one message waits in all for 429 answers that do not count as failed attempts."""

    @classmethod
    def from_config(
        cls, config: PipelineConfig, timeout_seconds: float, kind: str = "authentication"
    ) -> DeliveryPolicy:
        """Return the policy of a run's settings and the webhook connection's timeout.

        A ``management`` pipeline sends the original's ``{date, request, response}``, without
        ``log_id`` unless ``add_log_id`` is set; an authentication log is sent as Auth0 returned it.
        """
        return cls(
            max_attempts=config.max_attempts,
            backoff_initial_seconds=config.backoff_initial_seconds,
            backoff_max_seconds=config.backoff_max_seconds,
            retry_after_max_seconds=config.retry_after_max_seconds,
            timeout_seconds=timeout_seconds,
            rate_limited_max_seconds=config.rate_limited_max_seconds,
            fmt=config.format,
            envelope=config.log_streams_envelope,
            gzip=config.gzip,
            send_as_batch=config.send_as_batch,
            omit_log_id=kind == "management" and not config.add_log_id,
            event_source=config.cloudevents_source or "",
        )

    def messages(self, logs: Sequence[Mapping[str, Any]]) -> list[Message]:
        """Return the messages that deliver a batch, shaped as this policy says."""
        return messages_for(
            logs,
            send_as_batch=self.send_as_batch,
            fmt=self.fmt,
            envelope=self.envelope,
            source=self.event_source,
            omit_log_id=self.omit_log_id,
        )


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt got back: a status and the start of the body, or a network error."""

    status: int | None
    error: str | None
    body_excerpt: str
    attempts: int = 1

    def describe(self) -> str:
        """Return a short, stable description (for logs, errors and dead letters)."""
        if self.status is None:
            return f"{self.error} after {plural(self.attempts, 'attempt')}"
        return f"HTTP {self.status} after {plural(self.attempts, 'attempt')}"


@dataclass(frozen=True)
class Failure:
    """A message that could not be delivered, with the reason and its last response."""

    message: Message
    reason: str
    last: AttemptRecord


class _RetryableFailure(Exception):
    def __init__(self, record: AttemptRecord, retry_after: float | None = None) -> None:
        super().__init__(record.describe())
        self.record = record
        self.retry_after = retry_after
        self.wait: float | None = None  # set once decided (a 429's), so the retry waits what the cap was told


@dataclass
class _RateLimited:
    """One message's 429 answers so far: how many, how long it waited for them, whether its patience ran out."""

    answers: int = 0
    waited: float = 0.0
    spent: bool = False


class _FinalAnswer(Exception):
    def __init__(self, record: AttemptRecord, verdict: Verdict) -> None:
        super().__init__(record.describe())
        self.record = record
        self.verdict = verdict


def _excerpt(response: requests.Response, known_secrets: Sequence[str]) -> str:
    """Read at most RESPONSE_EXCERPT_BYTES of a (possibly hostile, endless) response body, redacted."""
    data = b""
    try:
        for chunk in response.iter_content(chunk_size=RESPONSE_EXCERPT_BYTES):
            data += chunk
            if len(data) >= RESPONSE_EXCERPT_BYTES:
                break
    except requests.RequestException:
        pass
    finally:
        response.close()
    return excerpt(data[:RESPONSE_EXCERPT_BYTES], known_secrets, limit=RESPONSE_EXCERPT_BYTES)


def session_secrets(session: requests.Session) -> list[str]:
    """Return the credentials a session sends (its Authorization header, Basic auth), to redact them."""
    found = [str(session.headers.get("Authorization") or "")]
    auth = session.auth
    password = getattr(auth, "password", None) or (auth[1] if isinstance(auth, tuple) and len(auth) == 2 else None)
    if password:
        found.append(str(password))
    oauth2_secrets = getattr(auth, "secrets", None)
    if callable(oauth2_secrets):  # OAuth2: the client secret and the current token
        found += [str(value) for value in oauth2_secrets()]
    found += [value.split(" ", 1)[1] for value in found if " " in value]  # the token without "Bearer "
    return [value for value in found if value]


def safe_url(url: str) -> str:
    """Return the URL without credentials or query, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class WebhookSender:
    """Send messages to one webhook URL, one request at a time.

    :param session: a configured session (auth, headers, TLS) from :class:`WebhookHook`.
    :param url: the webhook URL.
    :param secrets: Standard Webhooks secrets; empty means unsigned.
    :param sleep: injected so tests never wait.
    :param journal: where each attempt is recorded (the delivery log); None records nothing.
    """

    def __init__(
        self,
        session: requests.Session,
        url: str,
        secrets: Sequence[str],
        policy: DeliveryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate_cap: RateCap | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.rate_cap = rate_cap
        self.journal = journal
        self.session = session
        self.url = url
        self.secrets = tuple(secrets)
        self.policy = policy
        self._sleep = sleep
        self._now = now
        self.requests_sent = 0
        self.answers_429 = 0  # for the webhook_429 metric
        self._attempts = 0
        self._limited = _RateLimited()

    def deliver_batch(self, logs: Sequence[Mapping[str, Any]]) -> list[Failure]:
        """Deliver a batch as the policy shapes it (one message, or one per log); return what failed."""
        return [failure for message in self.policy.messages(logs) for failure in self.send(message)]

    def send(self, message: Message, delivered: list[Message] | None = None) -> list[Failure]:
        """Deliver a message (splitting it on 413); return what could not be delivered.

        :param delivered: given, each message the receiver took is appended to it (the halves of a split one).
        """
        self._attempts = 0
        self._limited = _RateLimited()
        try:
            self._send_with_retries(message)
            if delivered is not None:
                delivered.append(message)
            return []
        except _FinalAnswer as final:
            if final.verdict is Verdict.SPLIT and len(message.logs) > 1:
                first, second = split(
                    message,
                    self.policy.fmt,
                    self.policy.envelope,
                    source=self.policy.event_source,
                    omit_log_id=self.policy.omit_log_id,
                )
                log.warning(
                    "413 for %d logs (webhook-id %s); sending them as two halves", len(message.logs), message.webhook_id
                )
                return self.send(first, delivered) + self.send(second, delivered)
            record = replace(final.record, attempts=self._attempts)
            reason = "payload too large for a single log" if final.verdict is Verdict.SPLIT else "permanent"
            return [Failure(message, f"{reason}: {record.describe()}", record)]
        except _RetryableFailure as exhausted:
            record = replace(exhausted.record, attempts=self._attempts)
            return [Failure(message, f"gave up: {record.describe()}", record)]

    def _send_with_retries(self, message: Message) -> AttemptRecord:
        retrying = Retrying(
            retry=retry_if_exception_type(_RetryableFailure),
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda state: log.info(
                "webhook-id %s: attempt %d failed (%s); retrying",
                message.webhook_id,
                state.attempt_number,
                state.outcome.exception() if state.outcome else "?",
            ),
        )
        return retrying(self._attempt_numbered, message)

    def _attempt_numbered(self, message: Message) -> AttemptRecord:
        """Make one attempt; a 429 the message may still wait out is waited out and sent again within it."""
        while True:
            if self.rate_cap is not None:  # the receiver's slot, shared with every task, run and pipeline
                self.rate_cap.pace()  # the request starts (rate_cap.start) in the connection, before its bytes
            self.requests_sent += 1
            self._attempts += 1
            started = time.monotonic()
            try:
                record = self.attempt(message)
            except PauseBeganError:  # another sender's 429 paused the receiver before a byte went out
                self.requests_sent -= 1
                self._attempts -= 1
                continue
            except _RetryableFailure as failure:
                self._journal(message, failure.record, Verdict.RETRY, started)
                if failure.record.status != 429:
                    raise
                self._limited.answers += 1
                failure.wait = wait = self._wait_after(self._limited.answers, failure.retry_after)
                if self.rate_cap is not None:  # every sender to this receiver pauses, not only this one
                    self.rate_cap.hold_off(wait)
                if not self._forgive_429(message, wait, failure.retry_after):
                    raise
                self._attempts -= 1  # the receiver asked us to slow down; nothing failed
                if self.rate_cap is None:  # with a cap, the next slot comes after the pause
                    self._sleep(wait)
                continue
            except _FinalAnswer as final:
                self._journal(message, final.record, final.verdict, started)
                raise
            self._journal(message, record, Verdict.DELIVERED, started)
            return record

    def _forgive_429(self, message: Message, wait: float, asked: float | None) -> bool:
        """Say in the task log that a 429 is waited out and not a failed attempt; False when the message
        has waited ``rate_limited_max_seconds`` already (this 429 counts, and the log says so once)."""
        limited, limit = self._limited, self.policy.rate_limited_max_seconds
        if limited.spent or limited.waited + wait > limit:
            if not limited.spent and limit > 0:
                log.warning(
                    "Webhook-id %s: the receiver still answers 429 after this message waited %s for it "
                    "(rate_limited_max_seconds is %s); from now on each 429 counts as a failed attempt, and when "
                    "%d attempts have failed the message is kept as a dead letter to replay.",
                    message.webhook_id,
                    _seconds(limited.waited),
                    _seconds(limit),
                    self.policy.max_attempts,
                )
            limited.spent = True
            return False
        limited.waited += wait
        if asked is None:
            asked_for = f"the receiver answered 429 without Retry-After; waiting {_seconds(wait)}"
        else:
            asked_for = f"the receiver asked us to wait {_seconds(asked)} (429); waiting"
            if _seconds(asked) != _seconds(wait):
                asked_for += f" {_seconds(wait)}" + (
                    ", as long as retry_after_max_seconds allows" if asked > wait else ""
                )
        shared = ", and so does every sender to this connection" if self.rate_cap is not None else ""
        log.info(
            "Webhook-id %s: %s%s; this does not count as a failed attempt (%s of the %s this message may wait for "
            "429 answers).",
            message.webhook_id,
            asked_for,
            shared,
            _seconds(limited.waited),
            _seconds(limit),
        )
        return True

    def _wait_after(self, attempt: int, retry_after: float | None) -> float:
        """Return the wait after failed attempt number ``attempt``: the backoff, or ``Retry-After`` (at least half
        the backoff), at most ``retry_after_max_seconds`` for a server-given wait."""
        policy = self.policy
        backoff = backoff_seconds(attempt, policy.backoff_initial_seconds, policy.backoff_max_seconds)
        if retry_after is not None:
            return min(max(retry_after, backoff / 2), policy.retry_after_max_seconds)
        return backoff

    def _journal(self, message: Message, record: AttemptRecord, verdict: Verdict, started: float) -> None:
        """Record this attempt in the delivery log (when the sender keeps one)."""
        if self.journal is None:
            return
        self.journal.record(
            message_id=message.webhook_id,
            log_ids=message.log_ids,
            attempt=self._attempts,
            status=record.status,
            verdict=verdict.value,
            error=record.error,
            latency_ms=(time.monotonic() - started) * 1000,
            excerpt=record.body_excerpt,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, _RetryableFailure):
            return self._wait_after(state.attempt_number, None)
        return exc.wait if exc.wait is not None else self._wait_after(state.attempt_number, exc.retry_after)

    def headers_for(self, message: Message) -> dict[str, str]:
        """Return this attempt's headers: content type, encoding and a fresh signature."""
        headers = {"Content-Type": message.content_type, "User-Agent": USER_AGENT}
        headers.update(message.headers)
        headers.update(signature_headers(self.secrets, message.webhook_id, self._now(), message.body))
        if self.policy.gzip:
            headers["Content-Encoding"] = "gzip"
        return headers

    def attempt(self, message: Message) -> AttemptRecord:
        """POST the message once.

        :raises _RetryableFailure: for a network error, a timeout or a retried status.
        :raises _FinalAnswer: for a 413 or a permanent status.
        """
        body = message.body.encode()
        if self.policy.gzip:
            body = gzip.compress(body, mtime=0)
        started = time.monotonic()
        timeout = self.policy.timeout_seconds
        gate = self.rate_cap.start if self.rate_cap is not None else None
        # connect, headers and the excerpt together; the rate cap's last check runs when the request is
        # built, signed and connected, just before its first byte (and its wait is not counted)
        with Deadline(timeout) as deadline, sending_gate(gate):
            try:
                response = self.session.post(
                    self.url,
                    data=body,
                    headers=self.headers_for(message),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except TokenError as exc:  # its message names the token endpoint and its answer, never a secret
                raise _RetryableFailure(AttemptRecord(None, f"no OAuth2 token: {exc}", "")) from None
            except requests.RequestException as exc:
                if deadline.expired or isinstance(exc, requests.Timeout):
                    raise _RetryableFailure(AttemptRecord(None, f"no answer within {timeout:g}s", "")) from None
                raise _RetryableFailure(AttemptRecord(None, f"network error: {type(exc).__name__}", "")) from None
            if deadline.expired:  # the headers were cut short by the deadline: the status means nothing
                response.close()
                raise _RetryableFailure(AttemptRecord(None, f"no answer within {timeout:g}s", ""))
            record = AttemptRecord(
                response.status_code, None, _excerpt(response, [*self.secrets, *session_secrets(self.session)])
            )
        elapsed_ms = (time.monotonic() - started) * 1000
        log.debug(
            "POST %s -> %s in %.0f ms (%s)", safe_url(self.url), response.status_code, elapsed_ms, message.webhook_id
        )
        verdict = classify(response.status_code)
        self.answers_429 += response.status_code == 429
        if verdict is Verdict.DELIVERED:
            return record
        if verdict is Verdict.RETRY:
            raise _RetryableFailure(record, parse_retry_after(response.headers.get("Retry-After"), self._now()))
        raise _FinalAnswer(record, verdict)


def _seconds(seconds: float) -> str:
    """Return a wait as a person reads it in a log line: ``2 s``, ``1.5 s``, ``600 s``."""
    return f"{seconds:.1f} s".replace(".0 s", " s") if seconds < 10 else f"{seconds:.0f} s"


def open_sender(
    webhook_conn_id: str,
    config: PipelineConfig,
    *,
    kind: str = "authentication",
    sleep: Callable[[float], None] = time.sleep,
    rate_capped: bool = True,
    journal: Journal | None = None,
) -> WebhookSender:
    """Return a sender for a webhook connection, shaped (for a pipeline of ``kind``) and retried as ``config`` says,
    recording each attempt in ``journal``.

    ``rate_capped=False`` leaves out the connection's rate cap (a preview sends nothing, so it takes no slot).
    """
    hook = WebhookHook(webhook_conn_id)
    policy = DeliveryPolicy.from_config(config, hook.timeout(), kind)
    rate_cap = hook.rate_cap() if rate_capped else None
    return WebhookSender(
        hook.get_conn(),
        hook.url(),
        hook.signing_secrets(),
        policy,
        sleep=sleep,
        rate_cap=rate_cap,
        journal=journal,
    )
