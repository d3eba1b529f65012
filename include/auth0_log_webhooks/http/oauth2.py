"""OAuth2 client credentials towards the receiver: a token per worker process, renewed before expiry and on a 401.

:class:`ClientCredentialsAuth` is a ``requests`` auth: each request gets ``Authorization: Bearer
<token>``. The token comes from the token URL (``grant_type=client_credentials`` with the client id,
secret, and the scope and audience when set, in the form body) and is kept in this process, shared
by every sender of the same client, until ``refresh_margin`` before it expires (a tenth of its
lifetime, at most 60 seconds). A 401 from the receiver (its key was rotated, the token revoked)
gets one new token and one resend of the same request; a second 401 is the receiver's answer, so a
refused client never loops. Tokens and secrets are never logged: errors name the token URL (without
its query) and the status only.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from auth0_log_webhooks.http.attempt_deadlines import sending_gate

DEFAULT_LIFETIME_SECONDS = 300.0
"""A token answer without ``expires_in`` is trusted this long."""
MAX_REFRESH_MARGIN_SECONDS = 60.0


class TokenError(requests.RequestException):
    """The token endpoint gave no token; the message names the endpoint and the answer, never a secret."""


@dataclass(frozen=True)
class ClientCredentials:
    """Where and as whom to ask for a token (the webhook connection's OAuth2 fields)."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    audience: str | None = None

    def cache_key(self) -> tuple[str, ...]:
        """Return what tells tokens apart: endpoint, client, scope, audience and a digest of the secret."""
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.token_url, self.client_id, self.scope or "", self.audience or "", digest)


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float
    refresh_at: float


_TOKENS: dict[tuple[str, ...], _Token] = {}
_LOCK = threading.Lock()


def forget_tokens() -> None:
    """Drop every cached token of this process (tests; a worker normally keeps them until they expire)."""
    with _LOCK:
        _TOKENS.clear()


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}"


class ClientCredentialsAuth(requests.auth.AuthBase):
    """Bearer tokens from an OAuth2 client credentials grant, cached per process (see the module docstring).

    :param token_session: the session that asks for tokens (the webhook's, so its egress policy applies).
    :param on_token: called with each new token, e.g. to mask it in task logs.
    """

    def __init__(
        self,
        credentials: ClientCredentials,
        token_session: requests.Session,
        *,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[str], None] = lambda token: None,
    ) -> None:
        self.credentials = credentials
        self.token_session = token_session
        self.timeout = timeout
        self.clock = clock
        self.on_token = on_token

    def secrets(self) -> list[str]:
        """Return what must never be shown: the client secret and the current token."""
        with _LOCK:
            cached = _TOKENS.get(self.credentials.cache_key())
        return [self.credentials.client_secret, *([cached.value] if cached else [])]

    def token(self, *, stale: str | None = None) -> str:
        """Return a token that is not about to expire; a new one if the cached one is ``stale`` (refused).

        :raises TokenError: naming the token URL and what it answered.
        """
        key = self.credentials.cache_key()
        with _LOCK:  # one request per lifetime even when several threads need a token at once
            cached = _TOKENS.get(key)
            if cached is not None and cached.value != stale and self.clock() < cached.refresh_at:
                return cached.value
            fresh = self._request_token()
            _TOKENS[key] = fresh
        self.on_token(fresh.value)
        return fresh.value

    def _request_token(self) -> _Token:
        creds = self.credentials
        form = {"grant_type": "client_credentials", "client_id": creds.client_id, "client_secret": creds.client_secret}
        if creds.scope:
            form["scope"] = creds.scope
        if creds.audience:
            form["audience"] = creds.audience
        asked_at = self.clock()
        where = _shown(creds.token_url)
        try:
            with sending_gate(None):  # a token request goes to the token endpoint: it takes no rate cap turn
                answer = self.token_session.post(
                    creds.token_url,
                    data=form,
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                    allow_redirects=False,
                    auth=_NoAuth(),
                )
        except requests.RequestException as exc:
            raise TokenError(f"token endpoint {where} could not be reached ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise TokenError(
                f"token endpoint {where} answered HTTP {answer.status_code} for client {creds.client_id!r}; "
                "check the token URL, client id, secret, scope and audience of the webhook connection"
            )
        try:
            body: Any = answer.json()
        except ValueError:
            body = None
        value = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(value, str) or not value:
            raise TokenError(f"token endpoint {where} answered 200 without an access_token")
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_LIFETIME_SECONDS
        margin = min(MAX_REFRESH_MARGIN_SECONDS, seconds / 10)
        return _Token(value, asked_at + seconds, asked_at + seconds - margin)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Sign a request with the current token and resend it once with a new token on a 401."""
        request.headers["Authorization"] = f"Bearer {self.token()}"
        request.register_hook("response", self._renew_once_on_401)  # type: ignore[no-untyped-call]
        return request

    def _renew_once_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        # The resend goes through the adapter, not the session, so this hook never runs on its answer:
        # a second 401 is returned as it is.
        sent = response.request
        if response.status_code != 401 or response.connection is None:
            return response
        used = str(sent.headers.get("Authorization", "")).removeprefix("Bearer ")
        token = self.token(stale=used)
        response.close()
        again = sent.copy()
        again.headers["Authorization"] = f"Bearer {token}"
        resent: requests.Response = response.connection.send(again, **kwargs)
        resent.history.append(response)
        resent.request = again
        return resent


class _NoAuth(requests.auth.AuthBase):
    """No credentials: the token request carries the client's own, not the receiver's Authorization."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        return request
