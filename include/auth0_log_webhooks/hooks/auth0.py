"""Read an Auth0 tenant's logs through the Management API, within its rate limits.

Connection ``auth0`` (default ``auth0_default``): host = tenant domain (``host:port`` allowed),
login = client id, password = client secret; extra ``audience`` (default
``https://<domain>/api/v2/``) and ``scheme`` (``http`` only for loopback hosts, i.e. the emulator).

The bearer token only ever goes to the tenant: ``Link: rel="next"`` is followed only when it points at
the same scheme, host, port and path as the tenant's logs endpoint, and redirects are never followed.
Each attempt has a total deadline (connect, headers and body) and bodies are read up to
:data:`MAX_RESPONSE_BYTES`.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from auth0_log_webhooks.hooks.read_progress import WaitTally
from auth0_log_webhooks.http.attempt_deadlines import ActionDeadlineError, Deadline, finish_within
from auth0_log_webhooks.http.egress import GuardedAdapter, InvalidTargetError, parse_target
from auth0_log_webhooks.http.headers import header_int, header_number, next_link
from auth0_log_webhooks.http.retrying import USER_AGENT, backoff_seconds, parse_retry_after
from auth0_log_webhooks.log_ids import InvalidCheckpointError, is_log_id

log = logging.getLogger(__name__)

PAGE_SIZE = 100
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
DEFAULT_TOKEN_LIFETIME_SECONDS = 86400.0
TEST_SECONDS = 30.0
"""The whole of a connection's Test (the UI button): token, request and retries together."""


class Auth0Error(Exception):
    """Base class of the hook's errors; messages never carry secrets."""


class Auth0AuthenticationError(Auth0Error):
    """The tenant refused the client credentials or the token."""


class Auth0PermissionError(Auth0Error):
    """The token lacks a scope, or the client is not granted the Management API."""


class Auth0UnreachableError(Auth0Error):
    """The tenant could not be reached or kept failing until the retry budget ran out."""


class Auth0RateLimitError(Auth0Error):
    """The rate limit did not let a request through within the retry budget."""


class Auth0RequestError(Auth0Error):
    """The API rejected a request as malformed (4xx other than auth and rate limits)."""


class _Transient(Exception):
    """A failure worth retrying; ``wait`` is what the server asked for, if anything."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass
class RateLimit:
    """The last X-RateLimit-* headers seen."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None

    def update(self, headers: requests.structures.CaseInsensitiveDict[str]) -> None:
        """Take the values present in a response's headers."""
        for attr, name in (("limit", "x-ratelimit-limit"), ("remaining", "x-ratelimit-remaining")):
            value = header_int(headers, name)
            if value is not None:
                setattr(self, attr, value)
        reset = header_number(headers, "x-ratelimit-reset")
        if reset is not None:
            self.reset = reset


@dataclass(frozen=True)
class RetryPolicy:
    """How long the hook keeps trying before it gives up with a clear error."""

    give_up_after_seconds: float = 300.0
    backoff_initial_seconds: float = 0.5
    backoff_max_seconds: float = 30.0
    max_wait_seconds: float = 120.0
    timeout_seconds: float = 30.0


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.reason}"
    if not isinstance(body, dict):
        return f"{response.status_code} {response.reason}"
    code = body.get("errorCode") or body.get("error") or response.reason
    message = body.get("message") or body.get("error_description") or ""
    return f"{response.status_code} {code}: {message}".rstrip(": ")


def _json(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise Auth0RequestError(f"{what} answered {response.status_code} with a body that is not JSON") from None


def _lifetime(value: Any) -> float:
    """Return a token's ``expires_in`` in seconds if it is a sane number, else a day."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return min(float(value), 30 * DEFAULT_TOKEN_LIFETIME_SECONDS)
    return DEFAULT_TOKEN_LIFETIME_SECONDS


def _same_endpoint(link: str, endpoint: str) -> bool:
    try:
        return parse_target(link).endpoint() == parse_target(endpoint).endpoint()
    except InvalidTargetError:
        return False


def _read_capped(response: requests.Response, what: str) -> bytes:
    """Read a whole body, refusing one larger than MAX_RESPONSE_BYTES."""
    data = bytearray()
    try:
        for chunk in response.iter_content(chunk_size=65536):
            data += chunk
            if len(data) > MAX_RESPONSE_BYTES:
                raise Auth0RequestError(
                    f"{what} answered more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB; refusing to read it"
                )
    finally:
        response.close()
    return bytes(data)


class Auth0Hook(BaseHook):
    """Client-credentials access to ``GET /api/v2/logs``: token caching, rate limits, retries.

    :param auth0_conn_id: the ``auth0`` connection to use.
    :param retry: how long to keep trying on rate limits, 5xx and network errors.
    :param sleep: injected for tests, which must never wait.
    :param clock: epoch seconds, injected for tests.
    """

    conn_name_attr = "auth0_conn_id"
    default_conn_name = "auth0_default"
    conn_type = "auth0"
    hook_name = "Auth0 Management API"

    def __init__(
        self,
        auth0_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.auth0_conn_id = auth0_conn_id
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self.rate_limit = RateLimit()
        self.waits = WaitTally()  # summarised in progress lines, not logged one by one
        self._session: requests.Session | None = None
        self._settings: dict[str, str] | None = None
        self._token: str | None = None
        self._token_expires_at = 0.0

    # -- connection -------------------------------------------------------------------------

    def _connection_settings(self) -> dict[str, str]:
        if self._settings is None:
            conn = self.get_connection(self.auth0_conn_id)
            self._settings = _settings_from(conn, self.auth0_conn_id)
        return self._settings

    @property
    def client_id(self) -> str:
        """The connection's client id (what Auth0 puts in the logs of this client's own requests)."""
        return self._connection_settings()["client_id"]

    @property
    def domain(self) -> str:
        """The tenant's domain (``host[:port]``), as the connection names it."""
        return self._connection_settings()["domain"]

    @property
    def base_url(self) -> str:
        """``scheme://domain[:port]`` of the tenant."""
        return self._connection_settings()["base_url"]

    def get_conn(self) -> requests.Session:
        """Return the hook's HTTP session (one per hook, reused for every request)."""
        if self._session is None:
            session = requests.Session()
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            adapter = GuardedAdapter()  # no address policy (the tenant is the user's), but per-attempt deadlines
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            self._session = session
        return self._session

    # -- token --------------------------------------------------------------------------------

    def access_token(self, *, refresh: bool = False) -> str:
        """Return a Management API token, cached until a minute before it expires."""
        if not refresh and self._token and self._clock() < self._token_expires_at - 60:
            return self._token
        settings = self._connection_settings()
        body = {
            "grant_type": "client_credentials",
            "client_id": settings["client_id"],
            "client_secret": settings["client_secret"],
            "audience": settings["audience"],
        }
        response = self._send("POST", f"{self.base_url}/oauth/token", data=body, authenticated=False)
        if response.status_code in (401, 403):
            raise Auth0AuthenticationError(
                f"Auth0 tenant {settings['domain']} refused the client credentials of connection "
                f"{self.auth0_conn_id!r} (client id {settings['client_id']!r}): {_error_text(response)}"
            )
        self._raise_for_status(response, "POST /oauth/token")
        payload = _json(response, "POST /oauth/token")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise Auth0AuthenticationError(f"Auth0 tenant {settings['domain']} answered no access_token")
        _mask(token)
        self._token = token
        self._token_expires_at = self._clock() + _lifetime(payload.get("expires_in"))
        return token

    # -- requests -----------------------------------------------------------------------------

    def get(self, url: str, params: dict[str, Any] | None = None) -> requests.Response:
        """GET an API URL with a bearer token; refresh the token once on a 401.

        :raises Auth0PermissionError: on 403 (insufficient scope).
        :raises Auth0AuthenticationError: on a 401 that a fresh token does not cure.
        """
        response = self._send("GET", url, params=params)
        if response.status_code == 401:
            self.access_token(refresh=True)
            response = self._send("GET", url, params=params)
            if response.status_code == 401:
                raise Auth0AuthenticationError(
                    f"Auth0 rejected a fresh token of connection {self.auth0_conn_id!r}: {_error_text(response)}"
                )
        if response.status_code == 403:
            raise Auth0PermissionError(
                f"The client of connection {self.auth0_conn_id!r} may not read logs: "
                f"{_error_text(response)}. Grant it the read:logs scope on the Management API."
            )
        return response

    def _send(self, method: str, url: str, *, authenticated: bool = True, **kwargs: Any) -> requests.Response:
        """Send one request, waiting out rate limits and retrying 5xx and network errors."""
        retrying = Retrying(
            retry=retry_if_exception_type(_Transient),
            wait=self._wait,
            stop=self._out_of_time,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, authenticated, kwargs)
        except _Transient as exc:
            what = f"{method} {urlsplit(url).path}"
            budget = self.retry.give_up_after_seconds
            if exc.wait is not None:
                raise Auth0RateLimitError(f"{what}: still rate limited after {budget:.0f}s: {exc}") from None
            raise Auth0UnreachableError(f"{what}: gave up after {budget:.0f}s: {exc}") from None

    def _attempt(self, method: str, url: str, authenticated: bool, kwargs: dict[str, Any]) -> requests.Response:
        self._wait_for_rate_limit()
        headers = {"Authorization": f"Bearer {self.access_token()}"} if authenticated else {}
        timeout = self.retry.timeout_seconds
        late = _Transient(f"no complete answer within {timeout:g}s")
        with Deadline(timeout) as deadline:  # connect, headers and body together
            try:
                response = self.get_conn().request(
                    method, url, headers=headers, timeout=timeout, allow_redirects=False, stream=True, **kwargs
                )
                body = _read_capped(response, f"{method} {urlsplit(url).path}")
            except requests.exceptions.ConnectionError as exc:
                if "NameResolutionError" in repr(exc) or "Name or service not known" in repr(exc):
                    domain = self._connection_settings()["domain"]
                    raise Auth0UnreachableError(f"Unknown Auth0 tenant: cannot resolve {domain!r}") from None
                raise late if deadline.expired else _Transient(f"network error: {type(exc).__name__}") from None
            except requests.exceptions.RequestException as exc:
                raise late if deadline.expired else _Transient(f"network error: {type(exc).__name__}") from None
            if deadline.expired:  # the answer was cut short by the deadline
                raise late
        response._content = body  # iter_content marked it consumed; .json() and .text read this
        self.rate_limit.update(response.headers)
        if response.status_code == 429:
            raise _Transient("429 Too Many Requests", wait=self._rate_limit_wait(response))
        if response.status_code >= 500:
            raise _Transient(_error_text(response))
        return response

    def _rate_limit_wait(self, response: requests.Response) -> float:
        retry_after = parse_retry_after(response.headers.get("retry-after"), datetime.fromtimestamp(self._clock(), UTC))
        if retry_after is not None:
            return retry_after
        if self.rate_limit.reset is not None:
            return max(0.0, self.rate_limit.reset - self._clock())
        return 1.0

    def _out_of_time(self, state: RetryCallState) -> bool:
        # Time spent sleeping counts even when the clock is faked (tests); real time counts too.
        return max(state.idle_for, state.seconds_since_start or 0.0) >= self.retry.give_up_after_seconds

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.wait is not None:
            delay = min(exc.wait + random.uniform(0, 0.25), self.retry.max_wait_seconds)
            self.waits.add(delay, answered_429=True)
            return delay
        return backoff_seconds(state.attempt_number, self.retry.backoff_initial_seconds, self.retry.backoff_max_seconds)

    def _wait_for_rate_limit(self) -> None:
        """Spend no 429: when the last response left no requests, sleep until the reset."""
        if self.rate_limit.remaining != 0 or self.rate_limit.reset is None:
            return
        delay = self.rate_limit.reset - self._clock()
        if delay > 0:
            delay = min(delay, self.retry.max_wait_seconds)
            log.debug("Auth0 rate limit reached; waiting %.1fs for its reset", delay)
            self.waits.add(delay)
            self._sleep(delay)
        self.rate_limit.remaining = None

    def _raise_for_status(self, response: requests.Response, what: str) -> None:
        if response.status_code >= 400:
            raise Auth0RequestError(
                f"{what} on tenant {self._connection_settings()['domain']}: {_error_text(response)}"
            )

    # -- logs ---------------------------------------------------------------------------------

    def iter_log_pages(self, from_: str, take: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of logs after the ``from_`` cursor, in log_id order, until caught up.

        Follows the ``Link: rel="next"`` header as Auth0 asks. Only one page is held at a time.

        :raises InvalidCheckpointError: if ``from_`` is not a log id.
        """
        if not is_log_id(from_):
            raise InvalidCheckpointError(f"checkpoint {from_!r} is not an Auth0 log id (56 digits starting with 900)")
        endpoint = f"{self.base_url}/api/v2/logs"
        url: str | None = endpoint
        params: dict[str, Any] | None = {"from": from_, "take": take}
        while url:
            response = self.get(url, params)
            if response.status_code == 400:
                raise InvalidCheckpointError(f"Auth0 rejected the checkpoint {from_!r}: {_error_text(response)}")
            self._raise_for_status(response, "GET /api/v2/logs")
            page = _json(response, "GET /api/v2/logs")
            if not isinstance(page, list):
                raise Auth0RequestError(f"GET /api/v2/logs answered {type(page).__name__}, not a list of logs")
            if page:
                yield page
            if len(page) < take:
                return
            url, params = next_link(response.headers), None
            if url is not None and not _same_endpoint(url, endpoint):
                raise Auth0RequestError(
                    f"Auth0 answered a next page link {url[:200]!r} that is not the tenant's logs endpoint "
                    f"{endpoint} (same scheme, host, port and path); not following it, so the token stays with "
                    "the tenant. The logs read so far are kept; check the tenant domain of the connection."
                )

    def oldest_log(self) -> dict[str, Any] | None:
        """Return the oldest retained log by date (search mode), or None on an empty tenant."""
        logs = self._logs_by("date:1", 1)
        return logs[0] if logs else None

    def newest_logs(self, count: int = 10) -> list[dict[str, Any]]:
        """Return the ``count`` newest logs by date, newest first (search mode): what the lag alarm compares to."""
        return self._logs_by("date:-1", count)

    def log_by_id(self, log_id: str) -> dict[str, Any] | None:
        """Return one log by id (``GET /api/v2/logs/{id}``), or None when the tenant no longer has it (404).

        The id is checked to be a log id first, so nothing else reaches the URL's path.

        :raises ValueError: if ``log_id`` is not a log id.
        """
        if not is_log_id(log_id):
            raise ValueError("not an Auth0 log id (56 digits starting with 900)")
        response = self.get(f"{self.base_url}/api/v2/logs/{log_id}")
        if response.status_code == 404:
            return None
        self._raise_for_status(response, "GET /api/v2/logs/{id}")
        found = _json(response, "GET /api/v2/logs/{id}")
        return found if isinstance(found, dict) else None

    def _logs_by(self, sort: str, count: int) -> list[dict[str, Any]]:
        params = {"sort": sort, "per_page": count, "page": 0}
        response = self.get(f"{self.base_url}/api/v2/logs", params)
        self._raise_for_status(response, "GET /api/v2/logs (search)")
        logs = _json(response, "GET /api/v2/logs (search)")
        return [log for log in logs if isinstance(log, dict)] if isinstance(logs, list) else []

    def test_connection(self) -> tuple[bool, str]:
        """Check credentials and the read:logs scope with one small request (the UI's Test button).

        The whole check (token, request, retries) has :data:`TEST_SECONDS` in total, and every way it
        can fail is answered with a sentence, never an exception (the UI would show a bare 500).
        """
        try:
            domain = self._connection_settings()["domain"]
        except ValueError as exc:
            return False, str(exc)
        budget = TEST_SECONDS
        self.retry = replace(  # retries end well before the budget, so the thread does not linger after it
            self.retry,
            give_up_after_seconds=min(self.retry.give_up_after_seconds, budget / 2),
            max_wait_seconds=min(self.retry.max_wait_seconds, budget / 4),
            timeout_seconds=min(self.retry.timeout_seconds, budget / 3),
        )
        try:
            finish_within(budget, self.oldest_log)
        except ActionDeadlineError:
            return False, (
                f"Auth0 tenant {domain} gave no complete answer within {budget:g} seconds; check the domain and "
                "that the Airflow API server can reach it."
            )
        except (Auth0Error, ValueError) as exc:
            return False, f"{str(exc).rstrip('.')}."
        except Exception as exc:  # the Test button must answer with a sentence whatever happened
            log.warning("Testing connection %r failed", self.auth0_conn_id, exc_info=True)
            return False, (
                f"Testing connection {self.auth0_conn_id!r} failed unexpectedly ({type(exc).__name__}); the API "
                "server's log has the details."
            )
        return True, f"Read logs of {domain}."


def _settings_from(conn: Any, conn_id: str) -> dict[str, str]:
    """Validate an ``auth0`` connection and return what the hook needs from it."""
    host = (conn.host or "").strip().rstrip("/")
    if "://" in host:
        host = host.split("://", 1)[1].rstrip("/")
    if not host:
        raise ValueError(f"Connection {conn_id!r} has no host: set it to the tenant domain, e.g. acme.eu.auth0.com")
    domain = f"{host}:{conn.port}" if conn.port and ":" not in host.rsplit("]", 1)[-1] else host
    if not conn.login or not conn.password:
        raise ValueError(f"Connection {conn_id!r} needs the client id as login and the client secret as password")
    extra = conn.extra_dejson or {}
    scheme = str(extra.get("scheme") or "https").lower()
    if scheme not in ("https", "http"):
        raise ValueError(f"Connection {conn_id!r}: scheme must be https (or http for loopback), not {scheme!r}")
    target = _tenant_target(scheme, domain, conn_id)
    if scheme == "http" and not target.is_loopback_host:
        raise ValueError(
            f"Connection {conn_id!r}: scheme http is accepted only for loopback hosts (the local emulator), "
            f"not {target.host!r}"
        )
    return {
        "domain": domain,
        "base_url": f"{scheme}://{domain}",
        "client_id": conn.login,
        "client_secret": conn.password,
        "audience": str(extra.get("audience") or f"https://{domain}/api/v2/"),
    }


def _tenant_target(scheme: str, domain: str, conn_id: str) -> Any:
    """Parse ``scheme://domain`` as requests will connect to it; refuse anything but ``host[:port]``."""
    try:
        target = parse_target(f"{scheme}://{domain}")
    except InvalidTargetError as exc:
        raise ValueError(f"Connection {conn_id!r}: host {domain[:120]!r} is not a tenant domain: {exc}") from None
    if target.path not in ("", "/") or target.query or "@" in domain or "\\" in domain:
        raise ValueError(
            f"Connection {conn_id!r}: host {domain[:120]!r} must be only the tenant domain and an optional port, "
            "e.g. acme.eu.auth0.com"
        )
    return target


def _mask(secret: str) -> None:
    """Register a secret with Airflow's log masker."""
    from airflow.sdk.log import mask_secret

    mask_secret(secret)
