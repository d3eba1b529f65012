"""The sink's one state object: faults, tallies, the in-flight counter and the record file.

Handlers in :mod:`dev.webhook_sink.app` stay thin and call into :class:`SinkState`. One lock
guards everything mutable, so counters are exact even though the record file may be written from
worker threads (when fsync is on, so that the event loop never waits on the disk).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from auth0_log_webhooks.receiver_kit.manifest import KIND_HEADER, MANIFEST_KIND
from auth0_log_webhooks.receiver_kit.receiving import MessageStore, SignatureChecker
from dev.webhook_sink.config import SinkConfig
from dev.webhook_sink.faults import FaultBook, FaultRule, parse_rule
from dev.webhook_sink.payload import Logs, PayloadError, decode_body, parse_logs
from dev.webhook_sink.tally import UNEXPECTED, Tally, read_records


@dataclass
class Incoming:
    """A delivery as received: headers are lower-cased, the body is raw (maybe gzipped)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    in_flight: int


@dataclass
class Outcome:
    """What the sink answers, and why; ``action`` is ``respond``, ``hang`` or ``reset``."""

    status: int | None
    why: str
    action: str = "respond"
    detail: str | None = None
    delay: float = 0.0
    hang_seconds: float = 0.0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    text: bytes = b""
    logs: Logs = field(default_factory=lambda: Logs(0, []))
    store: bool = True
    """False for a delivery a ``drop`` fault hit: answered as usual, never stored."""


class SinkState:
    """Everything the sink knows. Thread-safe; create one per server."""

    def __init__(self, config: SinkConfig) -> None:
        self.config = config
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._signatures = SignatureChecker(config.secrets)  # the receiver kit's, as a receiver would use it
        self._store = MessageStore(config.store_dir) if config.store_dir is not None else None
        self._faults = FaultBook()
        self._tally = Tally()
        self._in_flight = 0
        self._max_in_flight = 0
        self._seq = 0
        # (method, path) of every request the sink does not serve; kept across reset() so that the
        # test fixtures can still name them at teardown (the summary's count restarts at 0).
        self._unexpected: list[tuple[str, str]] = []
        config.record_path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(config.record_path, "ab")  # noqa: SIM115 - open for the sink's lifetime
        self._session_offset = 0
        self._tokens: dict[str, float] = {}  # OAuth2 tokens issued: their expiry (time.time())
        self._token_requests = 0
        with self._lock:
            self._write_marker("start")

    # -- OAuth2 token endpoint -------------------------------------------------------------------

    def issue_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a client credentials token request (RFC 6749 section 4.4): a new token, or an error."""
        with self._lock:
            self._token_requests += 1
        if self.config.oauth2_client is None:
            return 404, {"error": "no token endpoint: start the sink with oauth2_client"}
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if (form.get("client_id"), form.get("client_secret")) != self.config.oauth2_client:
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        lifetime = self.config.oauth2_token_seconds
        with self._lock:
            self._tokens[token] = time.time() + lifetime
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": lifetime}

    def token_requests(self) -> int:
        """Return how many token requests the token endpoint got since the sink started."""
        with self._lock:
            return self._token_requests

    def rotate_key(self) -> None:
        """Revoke every token issued so far, as a receiver that rotated its signing key would."""
        with self._lock:
            self._tokens.clear()

    def _token_problem(self, authorization: str | None) -> str | None:
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            expires = self._tokens.get(token)
        if expires is None:
            return "unknown or revoked token"
        return "expired token" if time.time() >= expires else None

    # -- in flight -------------------------------------------------------------------------------

    def enter(self) -> int:
        """Count a delivery as in flight; return how many are in flight now."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            return self._in_flight

    def leave(self) -> None:
        """Count a delivery as answered (or abandoned)."""
        with self._lock:
            self._in_flight -= 1

    # -- deliveries ------------------------------------------------------------------------------

    def assess(self, request: Incoming) -> Outcome:
        """Decide the answer to a delivery: scripted faults first, then auth, signature and body."""
        text, logs, problem = _read_payload(request)
        with self._lock:
            rule = self._faults.pick(len(request.body), request.headers.get("webhook-id"))
        outcome = _fault_outcome(rule) if rule is not None else None
        if outcome is None:
            outcome = self._verdict(request, text, logs, problem)
            outcome.delay = rule.delay_seconds if rule is not None else 0.0
            if rule is not None and rule.drop and outcome.why == "ok":
                outcome.why, outcome.store = "dropped", False
        outcome.text = text if text is not None else request.body
        outcome.logs = logs or Logs(0, [])
        return outcome

    def _verdict(self, request: Incoming, text: bytes | None, logs: Logs | None, problem: str | None) -> Outcome:
        if request.method != "POST":
            return Outcome(405, "method not allowed", headers=[(b"allow", b"POST")])
        expected_auth = self.config.authorization
        if expected_auth is not None and request.headers.get("authorization") != expected_auth:
            return Outcome(401, "bad authorization")
        if self.config.oauth2_client is not None:
            complaint = self._token_problem(request.headers.get("authorization"))
            if complaint is not None:
                return Outcome(401, "bad token", detail=complaint)
        if text is None:
            return Outcome(400, "malformed", detail=problem)
        if self._signatures.enabled:
            complaint = self._signatures.problem(text, request.headers)
            if complaint is not None:
                return Outcome(401, "bad signature", detail=complaint)
        if logs is None:
            return Outcome(400, "malformed", detail=problem)
        return Outcome(200, "ok")

    def record(self, request: Incoming, outcome: Outcome) -> dict[str, Any]:
        """Store an accepted delivery with the receiver kit (when the sink has a ``store_dir``), then append it
        to the record file (fsync if configured) and count it; return the record."""
        if self._store is not None and outcome.why == "ok" and outcome.store:
            with contextlib.suppress(ValueError):  # no webhook-id (an unsigned sender), or not UTF-8: not storable
                self._store.put(request.headers, outcome.text, received_at=request.received_at)
        entry = _entry(request, outcome)
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._file.write(_line(entry))
            self._file.flush()
            self._tally.add(entry)
            if entry["why"] in UNEXPECTED:
                self._unexpected.append((entry["method"], entry["path"]))
        if self.config.fsync:
            os.fsync(self._file.fileno())  # outside the lock: concurrent writers share the flush
        return entry

    # -- control ---------------------------------------------------------------------------------

    def add_faults(self, raw: Any) -> int:
        """Validate and append fault rules (one object or a list); return how many are active.

        :raises ValueError: for an invalid rule (nothing is added then).
        """
        rules: list[FaultRule] = [parse_rule(item) for item in (raw if isinstance(raw, list) else [raw])]
        with self._lock:
            self._faults.add(rules)
            return len(self._faults.describe())

    def faults(self) -> list[dict[str, Any]]:
        """Return the active fault rules."""
        with self._lock:
            return self._faults.describe()

    def clear_faults(self) -> None:
        """Drop every fault rule."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        """Forget counters and faults; the file keeps its history after a ``reset`` marker."""
        with self._lock:
            self._faults.clear()
            self._tally = Tally()
            self._max_in_flight = self._in_flight
            self._write_marker("reset")

    def summary(self) -> dict[str, Any]:
        """Return the summary of the session, with exact in-flight numbers."""
        with self._lock:
            summary = self._tally.summary()
            summary["max_in_flight"] = self._max_in_flight
            summary["in_flight"] = self._in_flight
        return summary

    def log_ids(self) -> list[str]:
        """Return the unique delivered log ids in arrival order."""
        with self._lock:
            return self._tally.log_ids()

    def check(self, expected_log_ids: list[str]) -> dict[str, Any]:
        """Compare delivered log ids with ``expected_log_ids``."""
        with self._lock:
            return self._tally.check(expected_log_ids)

    def unexpected_requests(self) -> list[tuple[str, str]]:
        """Return (method, path) of every request the sink does not serve since start-up, resets included."""
        with self._lock:
            return list(self._unexpected)

    def requests(self, since: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Return up to ``limit`` request records of this session with ``seq > since``, from the file."""
        found = []
        for record in read_records(self.config.record_path, self._session_offset):
            if record.get("type") == "request" and record["seq"] > since:
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def close(self) -> None:
        """Close the record file (after the server stopped)."""
        self.closing.set()
        with self._lock:
            self._file.close()

    def _write_marker(self, kind: str) -> None:
        self._file.write(_line({"type": kind, "seq": self._seq, "at": time.time()}))
        self._file.flush()
        if self.config.fsync:
            os.fsync(self._file.fileno())
        self._session_offset = self._file.tell()


def _read_payload(request: Incoming) -> tuple[bytes | None, Logs | None, str | None]:
    """Return (decoded body or None, logs or None, problem or None)."""
    try:
        text = decode_body(request.body, request.headers.get("content-encoding", ""))
    except PayloadError as exc:
        return None, None, str(exc)
    if request.headers.get(KIND_HEADER, "").strip().lower() == MANIFEST_KIND:
        return text, Logs(0, []), None  # a completeness manifest carries no logs; the receiver kit reads it
    try:
        logs = parse_logs(text, request.headers.get("content-type", ""))
    except PayloadError as exc:
        return text, None, str(exc)
    return text, logs, None


def _fault_outcome(rule: FaultRule) -> Outcome | None:
    """Return the outcome a rule imposes, or None for a delay-only rule."""
    retry_after = [(b"retry-after", rule.retry_after.encode())] if rule.retry_after else []
    if rule.reset:
        outcome = Outcome(None, "fault:reset", action="reset")
    elif rule.hang:
        outcome = Outcome(None, "fault:hang", action="hang", hang_seconds=rule.hang_seconds)
    elif rule.max_body_bytes is not None:
        outcome = Outcome(413, "too large", detail=f"limit {rule.max_body_bytes} bytes", headers=retry_after)
    elif rule.status is not None:
        outcome = Outcome(rule.status, f"fault:{rule.status}", headers=retry_after)
    else:
        return None
    outcome.delay = rule.delay_seconds
    return outcome


def _entry(request: Incoming, outcome: Outcome) -> dict[str, Any]:
    try:
        body, encoding = outcome.text.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(outcome.text).decode("ascii"), "base64"
    return {
        "type": "request",
        "seq": 0,
        "received_at": request.received_at,
        "method": request.method,
        "path": request.path,
        "query": request.query,
        "headers": request.headers,
        "body": body,
        "body_encoding": encoding,
        "body_bytes": len(request.body),
        "log_ids": outcome.logs.log_ids,
        "log_count": outcome.logs.count,
        "status": outcome.status,
        "why": outcome.why,
        "detail": outcome.detail,
        "in_flight": request.in_flight,
    }


def _line(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
