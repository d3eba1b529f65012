"""The customer's webhook, as an Airflow ``http`` connection (default ``auth0_webhook_default``).

* host: the full webhook URL (``https://example.com/auth0/logs``), as HttpHook allows;
* password alone: sent verbatim as the ``Authorization`` header (the original's AUTHORIZATION);
  login and password: HTTP Basic auth;
* extra: ``signing_secret`` (``whsec_...``; several, space separated, while rotating), ``timeout``
  (seconds, default 30), ``verify`` (TLS verification, default on), ``allow_private_network`` and
  ``allow_insecure_http`` (default false; see :mod:`auth0_log_webhooks.egress`), any other key is a header.

Redirects are never followed: a 3xx is a failed delivery, as Standard Webhooks asks. The URL must be
https (http only for a loopback host, or with ``allow_insecure_http``); every address the host
resolves to is checked when the connection opens, and private or metadata addresses are refused.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any

from airflow.providers.http.hooks.http import HttpHook
from requests import Session

from auth0_log_webhooks.egress import POLICY_EXTRAS, EgressPolicy, GuardedAdapter

SIGNING_EXTRAS = ("signing_secret", "signing_secrets")
DEFAULT_TIMEOUT_SECONDS = 30.0
_SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{16,}$")


class WebhookHook(HttpHook):
    """HttpHook with the original extension's Authorization semantics and Standard Webhooks secrets.

    :param http_conn_id: the ``http`` connection holding the webhook URL and credentials.
    """

    conn_name_attr = "http_conn_id"
    default_conn_name = "auth0_webhook_default"
    conn_type = "http"
    hook_name = "Auth0 log webhook"

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
        for key in (*SIGNING_EXTRAS, *POLICY_EXTRAS):  # HttpHook turns unknown extras into headers
            session.headers.pop(key, None)
        return session

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None) -> Session:
        """Return a session whose connections obey the connection's egress policy and per-attempt deadlines."""
        session = super().get_conn(headers, extra_options)
        keep_alive = getattr(self.keep_alive_adapter, "socket_options", None)
        adapter = GuardedAdapter(self.egress_policy(), socket_options=keep_alive)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

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
