"""The Management API webhooks pipeline: ``sapi``/``fapi`` logs, filtered by endpoint, reshaped.

It rebuilds Auth0's retired "Management API Webhooks" extension (MAW 2.1.0): only Management API
operations (``sapi`` success, ``fapi`` failure) are delivered, optionally only those whose
``details.request.path`` names one of the ``api_endpoints`` (the original's AUTH0_API_ENDPOINTS),
and each log is sent as the original's ``{date, request, response}`` (plus its ``log_id`` when the
setting ``add_log_id`` asks for it).

How the endpoint filter treats the original's quirks (docs/configuration.md, "Management API webhooks"):

* entries are trimmed and empty ones dropped, so ``"users, connections"`` selects both (the
  original kept the space and ``" connections"`` matched nothing); a leading ``/api/v2/`` or ``/``
  is accepted and ignored;
* ``endpoint_match: segment`` (default): ``users`` selects ``/api/v2/users`` and every path below it
  (``/api/v2/users/auth0|1/roles``), not ``/api/v2/users-by-email``;
* ``endpoint_match: substring``: the original's rule, ``/api/v2/<entry>`` anywhere in the path,
  so ``users`` also selects ``/api/v2/users-by-email``;
* no entries: every ``sapi``/``fapi`` log; a log without a request path is delivered then, and
  never when entries are set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from auth0_log_webhooks.log_ids import log_id_of
from auth0_log_webhooks.pipelines.log_types import MANAGEMENT_API_TYPES

API_PREFIX = "/api/v2/"
EndpointMatch = Literal["segment", "substring"]


def normalise_endpoints(entries: Iterable[str]) -> tuple[str, ...]:
    """Return the endpoint entries trimmed, without ``/api/v2/`` or slashes around them, empty ones dropped."""
    cleaned = []
    for entry in entries:
        name = entry.strip()
        name = name.removeprefix(API_PREFIX.rstrip("/")) if name.startswith(API_PREFIX) else name
        name = name.strip("/").strip()
        if name and name not in cleaned:
            cleaned.append(name)
    return tuple(cleaned)


def request_path(event: Mapping[str, Any]) -> str | None:
    """Return ``details.request.path`` without its query string, or None if the log has none."""
    details = event.get("details")
    request = details.get("request") if isinstance(details, Mapping) else None
    path = request.get("path") if isinstance(request, Mapping) else None
    return path.split("?", 1)[0] if isinstance(path, str) else None


def endpoint_matches(path: str, endpoint: str, match: EndpointMatch = "segment") -> bool:
    """Return True if ``path`` is a call to ``endpoint`` under the given rule (see the module docstring)."""
    target = API_PREFIX + endpoint
    if match == "substring":
        return target in path
    return path == target or path.startswith(target + "/")


class EndpointFilter:
    """Select ``sapi``/``fapi`` logs, and of those the calls to ``endpoints`` when any are given."""

    def __init__(self, endpoints: Iterable[str] = (), match: EndpointMatch = "segment") -> None:
        self.endpoints = normalise_endpoints(endpoints)
        self.match = match

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Return True if the event is a Management API operation on a selected endpoint."""
        if event.get("type") not in MANAGEMENT_API_TYPES:
            return False
        if not self.endpoints:
            return True
        path = request_path(event)
        return path is not None and any(endpoint_matches(path, e, self.match) for e in self.endpoints)


def reshape(event: Mapping[str, Any]) -> dict[str, Any]:
    """Return a log as staged: the original extension's ``{date, request, response}``, plus ``log_id``.

    The staged log keeps ``log_id`` so that delivery can derive the webhook-id and dead letters can
    name the log; the request sent leaves it out unless ``add_log_id`` is set (``DeliveryPolicy``).
    ``request``/``response`` are null when the log has none.
    """
    details = event.get("details")
    details = details if isinstance(details, Mapping) else {}
    return {
        "date": event.get("date"),
        "request": details.get("request"),
        "response": details.get("response"),
        "log_id": log_id_of(event),
    }
