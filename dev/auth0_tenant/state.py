"""The one state object behind every route: logs, tokens, rate limit, faults, counters, clock."""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dev.auth0_tenant.config import TenantConfig
from dev.auth0_tenant.errors import api_error
from dev.auth0_tenant.generator import LogFactory
from dev.auth0_tenant.logstore import LOG_ID_PATTERN, LogStore
from dev.auth0_tenant.query import Bounds, Node, bounds_of
from dev.auth0_tenant.ratelimit import Decision, TokenBucket
from dev.auth0_tenant.traffic import api_limit_log, token_exchange_log

DAY_MS = 86_400_000
LOG_SCOPES = frozenset({"read:logs", "read:logs_users"})
EXPIRED_MESSAGE = "Expired token received for JSON Web Token validation"
DATE_MARGIN_MS = 1000  # a log's date may differ from its id-time by the generator's jitter


@dataclass
class Fault:
    """Fail (``status``) or delay (``latency``) the next ``remaining`` requests under ``path_prefix``."""

    remaining: int
    status: int
    latency: float
    path_prefix: str


@dataclass(frozen=True)
class Sort:
    """``field:1`` (ascending) or ``field:-1`` (descending)."""

    field: str
    descending: bool


@dataclass
class _Token:
    expires_at: float
    scope: str


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


class TenantState:
    """Mutable tenant state; every public method is thread-safe.

    :param wall: wall clock (epoch seconds); the tenant's own clock adds :attr:`clock_offset`.
    :param monotonic: clock of the rate-limit bucket.
    """

    def __init__(
        self,
        config: TenantConfig,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.factory = LogFactory(config.seed, config.tenant_name)
        self._wall = wall
        self.started_ms = wall() * 1000
        self.bucket = TokenBucket(config.rate_limit_burst, config.rate_limit_per_minute, monotonic)
        # (method, path) of every request no route matched; kept across reset() so that the test
        # fixtures can still name them at teardown (the "unmatched" counter restarts at 0).
        self.unmatched: list[tuple[str, str]] = []
        self.token_logs = config.token_logs
        self.api_limit_logs = config.api_limit_logs
        self.reset()

    # -- lifecycle and clock -------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the state right after start-up (same initial logs, no tokens, no faults)."""
        with self.lock:
            self.clock_offset = 0.0
            self.store = LogStore(self.factory)
            self._live_done = 0
            count = max(0, self.config.logs)
            span_ms = min(self.config.retention_days, self.config.history_days) * DAY_MS * 0.95
            spacing = span_ms / count if count else 0.0
            self.store.append(count, self.started_ms - spacing * count, spacing)
            self.tokens: dict[str, _Token] = {}
            self.faults: deque[Fault] = deque()
            self.counters = dict.fromkeys(
                ("requests", "log_requests", "rate_limited", "tokens_issued", "faults_served", "unmatched", "own_logs"),
                0,
            )
            self.bucket.configure(self.config.rate_limit_burst, self.config.rate_limit_per_minute)

    def now(self) -> float:
        """The tenant's clock in epoch seconds (wall clock plus :attr:`clock_offset`)."""
        return self._wall() + self.clock_offset

    def wall(self) -> float:
        """The real wall clock (what clients compare X-RateLimit-Reset with)."""
        return self._wall()

    def advance_clock(self, seconds: float) -> None:
        """Move the tenant's clock forward (ages logs and tokens; live traffic catches up)."""
        with self.lock:
            self.clock_offset += seconds
            self._catch_up()

    def _catch_up(self) -> None:
        rate = self.config.events_per_second
        if rate <= 0:
            return
        due = math.floor((self.now() * 1000 - self.started_ms) / 1000 * rate)
        if due > self._live_done:
            spacing = 1000 / rate
            self.store.append(due - self._live_done, self.started_ms + (self._live_done + 1) * spacing, spacing)
            self._live_done = due

    def _retained_start(self) -> int:
        return self.store.first_at_or_after(self.now() * 1000 - self.config.retention_days * DAY_MS)

    # -- counters, faults, rate limit ----------------------------------------------------------
    def count(self, name: str) -> None:
        """Increment counter ``name``."""
        with self.lock:
            self.counters[name] += 1

    def record_unmatched(self, method: str, path: str) -> None:
        """Count a request no route matched (unknown path or wrong method) and remember it."""
        with self.lock:
            self.counters["unmatched"] += 1
            self.unmatched.append((method, path))

    def unmatched_requests(self) -> list[tuple[str, str]]:
        """(method, path) of every unmatched request since start-up, resets included."""
        with self.lock:
            return list(self.unmatched)

    def counters_snapshot(self) -> dict[str, int]:
        """A copy of the counters."""
        with self.lock:
            return dict(self.counters)

    def add_fault(self, count: int, status: int, latency: float, path_prefix: str) -> None:
        """Queue a fault for the next ``count`` requests under ``path_prefix``."""
        with self.lock:
            self.faults.append(Fault(count, status, latency, path_prefix))

    def take_fault(self, path: str) -> Fault | None:
        """Consume one pending fault matching ``path``, if any."""
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.faults.remove(fault)
                    self.counters["faults_served"] += 1
                    return fault
        return None

    def set_rate_limit(self, burst: int, per_minute: float) -> None:
        """Reconfigure the bucket (it starts full)."""
        self.bucket.configure(burst, per_minute)

    def rate_limit(self, method: str = "GET", path: str = "/api/v2/logs") -> tuple[Decision, dict[str, str]]:
        """Take a token for one /api/v2 request; return the decision and its headers.

        With limiting off the headers show a full bucket (none if ``rate_limit_headers`` is off). A
        refused request writes an ``api_limit`` log when ``api_limit_logs`` is on.
        """
        decision = self.bucket.acquire()
        if not self.bucket.enabled:
            if not self.config.rate_limit_headers:
                return decision, {}
            full = max(1, self.bucket.burst)
            return decision, Decision(True, full, full, 0.0).headers(self.wall())
        if not decision.allowed:
            self.count("rate_limited")
            if self.api_limit_logs:
                self._own_log(api_limit_log(burst=self.bucket.burst, method=method, path=path, **self._who()))
        return decision, decision.headers(self.wall())

    # -- logs of the clients' own traffic ----------------------------------------------------------
    def set_own_traffic_logs(self, token_logs: bool, api_limit_logs: bool) -> None:
        """Turn the ``seccft``/``feccft`` and ``api_limit`` logs on or off (start-up: the config's)."""
        with self.lock:
            self.token_logs, self.api_limit_logs = token_logs, api_limit_logs

    def _who(self) -> dict[str, str]:
        return {
            "hostname": self.factory.hostname,
            "tenant_name": self.config.tenant_name,
            "client_id": self.config.client_id,
        }

    def _own_log(self, log: dict[str, Any]) -> None:
        with self.lock:
            self._catch_up()
            self.store.append_raw([log], self.now() * 1000)
            self.counters["own_logs"] += 1

    def record_token_exchange(
        self, succeeded: bool, audience: str, scope: str, ip: str, user_agent: str, error: str = ""
    ) -> None:
        """Write the ``seccft``/``feccft`` log of one client-credentials exchange (if ``token_logs``)."""
        if self.token_logs:
            log = token_exchange_log(
                succeeded=succeeded,
                audience=audience,
                scope=scope,
                ip=ip,
                user_agent=user_agent,
                error=error,
                **self._who(),
            )
            self._own_log(log)

    # -- tokens --------------------------------------------------------------------------------
    def issue_token(self, audience: str, scope: str) -> dict[str, Any]:
        """Mint an access token (a JWT-looking opaque string) valid for ``token_ttl`` seconds."""
        with self.lock:
            now = self.now()
            claims = {
                "iss": f"https://{self.factory.hostname}/",
                "sub": f"{self.config.client_id}@clients",
                "aud": audience,
                "iat": int(now),
                "exp": int(now + self.config.token_ttl),
                "scope": scope,
                "gty": "client-credentials",
                "azp": self.config.client_id,
                "jti": secrets.token_hex(16),
            }
            header = {"alg": "RS256", "typ": "JWT", "kid": "emulator"}
            token = f"{_b64(header)}.{_b64(claims)}.{secrets.token_urlsafe(32)}"
            self.tokens[token] = _Token(now + self.config.token_ttl, scope)
            self.counters["tokens_issued"] += 1
        return {"access_token": token, "expires_in": self.config.token_ttl, "scope": scope, "token_type": "Bearer"}

    def expire_tokens(self) -> int:
        """Make every issued token expired; return how many there were."""
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = -math.inf
            return len(self.tokens)

    def authorize(self, authorization: str | None) -> None:
        """Check a request's Authorization header for a live token with a logs scope.

        :raises Auth0Error: 401 missing/invalid/expired, 400 bad header, 403 insufficient scope.
        """
        if not authorization:
            raise api_error(401, "Missing authentication")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise api_error(400, "Bad HTTP authentication header format", "Bearer")
        with self.lock:
            token = self.tokens.get(value.strip())
            now = self.now()
        if token is None:
            raise api_error(401, "Invalid token", attributes={"error": "Invalid token"})
        if token.expires_at <= now:
            raise api_error(401, EXPIRED_MESSAGE, attributes={"error": EXPIRED_MESSAGE})
        if not LOG_SCOPES & set(token.scope.split()):
            message = "Insufficient scope, expected any of: read:logs,read:logs_users"
            raise api_error(403, message, "insufficient_scope")

    # -- logs ----------------------------------------------------------------------------------
    def add_logs(self, count: int) -> list[str]:
        """Append ``count`` generated logs dated now; return their ids."""
        with self.lock:
            self._catch_up()
            indexes = self.store.append(count, self.now() * 1000, 0.0)
            return [self.store.log_id(i) for i in indexes]

    def add_raw_logs(self, logs: list[dict[str, Any]]) -> list[str]:
        """Append raw log objects (ids assigned, date now unless given); return their ids."""
        with self.lock:
            self._catch_up()
            indexes = self.store.append_raw(logs, self.now() * 1000)
            return [self.store.log_id(i) for i in indexes]

    def checkpoint(self, from_id: str, take: int) -> list[dict[str, Any]]:
        """Logs with log_id > ``from_id`` in ascending id order, at most ``take``."""
        with self.lock:
            self._catch_up()
            start = max(self.store.first_after_id(from_id), self._retained_start())
            stop = min(start + take, self.store.total)
            return [self.store.get(i) for i in range(start, stop)]

    def get_log(self, log_id: str) -> dict[str, Any] | None:
        """The retained log with this id, or None."""
        if not LOG_ID_PATTERN.match(log_id):
            return None
        with self.lock:
            self._catch_up()
            index = self.store.index_of(log_id)
            if index is None or index < self._retained_start():
                return None
            return self.store.get(index)

    def id_range(self, after: str | None) -> tuple[int, int]:
        """Index range of retained logs (after ``after`` if given), for :meth:`iter_ids`."""
        with self.lock:
            self._catch_up()
            start = self._retained_start()
            if after:
                start = max(start, self.store.first_after_id(after))
            return start, self.store.total

    def iter_ids(self, start: int, stop: int) -> Iterator[str]:
        """Log ids of ``[start, stop)`` in order (cheap: no log bodies are built)."""
        return self.store.iter_ids(start, stop)

    def search(self, node: Node, page: int, per_page: int, sort: Sort | None) -> list[dict[str, Any]]:
        """Search-mode results for one page (default order: descending log_id)."""
        need = (page + 1) * per_page
        with self.lock:
            self._catch_up()
            start, stop = self._scan_range(bounds_of(node))
            if sort is None or sort.field == "log_id":
                descending = sort is None or sort.descending
                order = range(stop - 1, start - 1, -1) if descending else range(start, stop)
                return self._first_matches(node, order, need)[page * per_page : need]
            if sort.field == "date" and not self.store.raw_dates:
                matches = self._date_sorted(node, start, stop, need, sort.descending)
            else:
                matches = [log for i in range(start, stop) if node.match(log := self.store.get(i))]
            matches.sort(key=lambda log: (str(log.get(sort.field) or ""), log["log_id"]), reverse=sort.descending)
        return matches[page * per_page : need]

    def _date_sorted(self, node: Node, start: int, stop: int, need: int, descending: bool) -> list[dict[str, Any]]:
        """Scan in id order; once ``need`` matches are in, dates more than the jitter away can't rank."""
        order = range(stop - 1, start - 1, -1) if descending else range(start, stop)
        step = -1 if descending else 1
        matches: list[dict[str, Any]] = []
        cutoff: float | None = None
        for index in order:
            if cutoff is not None and (self.store.time_ms(index) - cutoff) * step > DATE_MARGIN_MS:
                break
            log = self.store.get(index)
            if node.match(log):
                matches.append(log)
                if cutoff is None and len(matches) >= need:
                    cutoff = self.store.time_ms(index)
        return matches

    def _first_matches(self, node: Node, order: range, need: int) -> list[dict[str, Any]]:
        matches: list[dict[str, Any]] = []
        for index in order:
            if len(matches) >= need:
                break
            log = self.store.get(index)
            if node.match(log):
                matches.append(log)
        return matches

    def _scan_range(self, bounds: Bounds) -> tuple[int, int]:
        start, stop = self._retained_start(), self.store.total
        if bounds.min_id is not None:
            start = max(start, self.store.first_after_id(bounds.min_id) - 1)
        if bounds.max_id is not None:
            stop = min(stop, self.store.first_after_id(bounds.max_id))
        if not self.store.raw_dates:
            if bounds.min_ms is not None:
                start = max(start, self.store.first_at_or_after(bounds.min_ms - DATE_MARGIN_MS))
            if bounds.max_ms is not None:
                stop = min(stop, self.store.first_at_or_after(bounds.max_ms + DATE_MARGIN_MS))
        return start, max(start, stop)
