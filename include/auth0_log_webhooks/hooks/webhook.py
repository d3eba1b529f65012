"""The customer's webhook: an ``auth0_webhook`` connection (or, as before, ``http``; default ``auth0_webhook_default``).

The ``auth0_webhook`` type ("Webhook endpoint (Standard Webhooks)") gives the UI a form with labelled
fields and a Test button (:meth:`WebhookHook.test_connection`); an ``http`` connection with the same
fields works the same way.

* host: the full webhook URL (``https://example.com/auth0/logs``), as HttpHook allows;
* password alone: sent verbatim as the ``Authorization`` header (the original's AUTHORIZATION);
  login and password: HTTP Basic auth;
* extra: ``signing_secret`` (``whsec_...``; several, space separated, while rotating), ``timeout``
  (seconds, default 30), ``verify`` (TLS verification, default on), ``allow_private_network`` and
  ``allow_insecure_http`` (default false; see :mod:`auth0_log_webhooks.http.egress`), any other key is a header;
* OAuth2 client credentials instead of a static header: extras ``oauth2_token_url``,
  ``oauth2_client_id``, ``oauth2_client_secret`` and optionally ``oauth2_scope`` and ``oauth2_audience``
  (see :mod:`auth0_log_webhooks.http.oauth2`); the token URL obeys the same egress policy.

Redirects are never followed: a 3xx is a failed delivery, as Standard Webhooks asks. The URL must be
https (http only for a loopback host, or with ``allow_insecure_http``); every address the host
resolves to is checked when the connection opens, and private or metadata addresses are refused.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from requests import Session

from auth0_log_webhooks.http.attempt_deadlines import ActionDeadlineError, finish_within
from auth0_log_webhooks.http.egress import POLICY_EXTRAS, EgressPolicy, EgressRefusedError, GuardedAdapter
from auth0_log_webhooks.http.oauth2 import ClientCredentials, ClientCredentialsAuth
from auth0_log_webhooks.http.rate_cap import RateCap, open_rate_cap
from auth0_log_webhooks.http.retrying import USER_AGENT
from auth0_log_webhooks.http.signing import signature_headers

SIGNING_EXTRAS = ("signing_secret", "signing_secrets")
RATE_CAP_EXTRAS = ("rate_limit_per_second", "rate_limit_store")
OAUTH2_EXTRAS = ("oauth2_token_url", "oauth2_client_id", "oauth2_client_secret", "oauth2_scope", "oauth2_audience")
DEFAULT_TIMEOUT_SECONDS = 30.0
TEST_SECONDS = 30.0
"""The whole of a connection's Test (the UI button): name lookup, connect and answer together."""
TEST_HEADER = "x-auth0-log-webhooks-test"  # marks the Test button's request: an empty batch, not logs
log = logging.getLogger(__name__)
_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")


class WebhookHook(HttpHook):
    """HttpHook with the original extension's Authorization semantics and Standard Webhooks secrets.

    :param http_conn_id: the ``http`` connection holding the webhook URL and credentials.
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = "auth0_webhook_default"
    conn_type = "auth0_webhook"
    hook_name = "Webhook endpoint (Standard Webhooks)"

    def __init__(self, http_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(method="POST", http_conn_id=http_conn_id, **kwargs)

    def _extract_auth(self, connection: Any) -> Any | None:
        # Password without login is a verbatim Authorization header, set in _configure_session_from_auth.
        return super()._extract_auth(connection) if connection.login else None

    def _configure_session_from_auth(self, session: Session, connection: Any) -> Session:
        session = super()._configure_session_from_auth(session, connection)
        if not connection.login and connection.password:
            session.headers["Authorization"] = connection.password
        return session

    def _configure_session_from_extra(
        self, session: Session, connection: Any, extra_options: dict[str, Any]
    ) -> Session:
        session = super()._configure_session_from_extra(session, connection, extra_options)
        for key in (
            *SIGNING_EXTRAS,
            *POLICY_EXTRAS,
            *OAUTH2_EXTRAS,
            *RATE_CAP_EXTRAS,
        ):  # HttpHook turns unknown extras into headers
            session.headers.pop(key, None)
        return session

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None) -> Session:
        """Return a session whose connections obey the connection's egress policy and per-attempt deadlines."""
        session = super().get_conn(headers, extra_options)
        keep_alive = getattr(self.keep_alive_adapter, "socket_options", None)
        adapter = GuardedAdapter(self.egress_policy(), socket_options=keep_alive)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        credentials = self.oauth2_credentials()
        if credentials is not None:
            from airflow.sdk.log import mask_secret

            session.auth = ClientCredentialsAuth(credentials, session, timeout=self.timeout(), on_token=mask_secret)
        return session

    def rate_cap(self) -> RateCap | None:
        """Return the connection's cap on requests a second (extra ``rate_limit_per_second``), or None.

        Every sender to this connection, in any task, run or pipeline, shares it through the store of
        extra ``rate_limit_store`` (empty: a folder under ``$AIRFLOW_HOME``, shared by the processes of
        one machine; ``redis://...``: shared across machines).

        :raises ValueError: naming the connection and the extra if the rate is not a positive number.
        """
        extra = self.connection.extra_dejson or {}
        raw = extra.get("rate_limit_per_second")
        if raw is None or raw == "":
            return None
        try:
            per_second = float(raw)
        except (TypeError, ValueError):
            per_second = 0.0
        if not per_second > 0:
            raise ValueError(
                f"Connection {self.http_conn_id!r}: extra rate_limit_per_second must be a number of requests a "
                f"second above 0 (got {raw!r}); leave it empty for no cap"
            )
        home = os.environ.get("AIRFLOW_HOME") or os.path.expanduser("~/airflow")
        return open_rate_cap(
            str(extra.get("rate_limit_store") or ""),
            self.http_conn_id,
            per_second,
            default_folder=Path(home) / "auth0_log_webhooks" / "rate_caps",
        )

    def oauth2_credentials(self) -> ClientCredentials | None:
        """Return the connection's OAuth2 client credentials, or None when it has no token URL.

        :raises ValueError: naming the connection and the missing or conflicting field (never a secret).
        """
        extra = self.connection.extra_dejson or {}
        token_url = str(extra.get("oauth2_token_url") or "").strip()
        if not token_url:
            return None
        conn = self.http_conn_id
        client_id = str(extra.get("oauth2_client_id") or "").strip()
        secret = str(extra.get("oauth2_client_secret") or "")
        if not client_id or not secret:
            raise ValueError(
                f"Connection {conn!r} has an OAuth2 token URL but no "
                f"{'client id' if not client_id else 'client secret'}; set both, or clear the token URL"
            )
        if self.connection.password:
            raise ValueError(
                f"Connection {conn!r} has both an Authorization header (or Basic auth) and OAuth2; keep one: with "
                "OAuth2 the header is the token's"
            )
        from airflow.sdk.log import mask_secret

        mask_secret(secret)
        self.egress_policy().check_url(token_url)
        return ClientCredentials(
            token_url=token_url,
            client_id=client_id,
            client_secret=secret,
            scope=str(extra.get("oauth2_scope") or "").strip() or None,
            audience=str(extra.get("oauth2_audience") or "").strip() or None,
        )

    def egress_policy(self) -> EgressPolicy:
        """Return the destinations this connection allows (extras allow_private_network, allow_insecure_http)."""
        return EgressPolicy.from_extra(self.connection.extra_dejson or {}, self.http_conn_id)

    @cached_property
    def connection(self) -> Any:
        """The webhook connection, fetched once (each fetch is a call to Airflow's API in a task)."""
        return self.get_connection(self.http_conn_id)

    def url(self) -> str:
        """Return the webhook URL (the connection's host, or scheme://host:port/schema), checked by the policy.

        :raises InvalidTargetError: if the URL or its host is malformed.
        :raises EgressRefusedError: naming the URL and the rule, if the policy refuses it.
        """
        if not getattr(self, "base_url", None):
            self._set_base_url(self.connection)
        self.egress_policy().check_url(self.base_url)
        return self.base_url

    def timeout(self) -> float:
        """Return the request timeout in seconds (extra ``timeout``, default 30)."""
        extra = self.connection.extra_dejson or {}
        try:
            return float(extra.get("timeout", DEFAULT_TIMEOUT_SECONDS))
        except (TypeError, ValueError):
            raise ValueError(f"Connection {self.http_conn_id!r}: extra timeout must be a number of seconds") from None

    def signing_secrets(self) -> list[str]:
        """Return the Standard Webhooks secrets (none: requests go unsigned), masked in logs.

        :raises ValueError: naming the connection if a secret is not ``whsec_`` + base64.
        """
        extra = self.connection.extra_dejson or {}
        raw = extra.get("signing_secrets", extra.get("signing_secret")) or []
        secrets = raw.replace(",", " ").split() if isinstance(raw, str) else [str(s) for s in raw]
        from airflow.sdk.log import mask_secret

        for secret in secrets:
            mask_secret(secret)
            if not _SECRET.match(secret):
                raise ValueError(
                    f"Connection {self.http_conn_id!r}: a signing secret is not 'whsec_' followed by base64 "
                    "(the value is not shown)"
                )
        return secrets

    def post_signed(self, body: str, webhook_id: str, headers: dict[str, str] | None = None) -> requests.Response:
        """POST one JSON body, signed with the connection's secrets, without following redirects.

        :raises ValueError: if the connection's URL, timeout or secrets are invalid (naming the field).
        :raises requests.RequestException: if the webhook cannot be reached.
        """
        sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
        sent.update(signature_headers(self.signing_secrets(), webhook_id, datetime.now(UTC), body))
        return self.get_conn().post(
            self.url(), data=body.encode(), headers=sent, timeout=self.timeout(), allow_redirects=False
        )

    def test_connection(self) -> tuple[bool, str]:
        """Send a signed test request, an empty batch marked with ``x-auth0-log-webhooks-test: true`` (the Test button).

        The test has :data:`TEST_SECONDS` in total (name lookup, connect, answer), and every way it can
        fail is answered with a sentence, never an exception (the UI would show a bare 500).

        :return: whether the webhook answered 2xx, and a sentence saying what it answered.
        """
        conn = self.http_conn_id
        try:
            secrets = self.signing_secrets()
            self.url()
            response = finish_within(
                TEST_SECONDS, lambda: self.post_signed("[]", f"msg_test_{uuid.uuid4().hex}", {TEST_HEADER: "true"})
            )
        except ValueError as exc:  # a bad secret, timeout or URL: the message names the field, never the secret
            return False, str(exc)
        except EgressRefusedError as exc:  # the message says which rule and which extra would allow it
            return False, f"Connection {conn!r}: {exc}"
        except ActionDeadlineError:
            return False, (
                f"The webhook of connection {conn!r} gave no complete answer within {TEST_SECONDS:g} seconds; check "
                "the URL and that the receiver answers an empty batch quickly."
            )
        except requests.RequestException as exc:
            return False, (
                f"No answer from the webhook of connection {conn!r} ({type(exc).__name__}); check the URL and that "
                "the host is reachable from Airflow."
            )
        except Exception as exc:  # the Test button must answer with a sentence whatever happened
            log.warning("Testing connection %r failed", conn, exc_info=True)
            return False, (
                f"Testing connection {conn!r} failed unexpectedly ({type(exc).__name__}); the API server's log has "
                "the details."
            )
        signed = f"signed with {len(secrets)} secret{'s' if len(secrets) != 1 else ''}" if secrets else "unsigned"
        what = f"The webhook answered HTTP {response.status_code} to a test request ({signed}, an empty batch)"
        if 200 <= response.status_code < 300:
            return True, f"{what}."
        return False, f"{what}; it must answer 2xx. Check the URL and the Authorization header."
