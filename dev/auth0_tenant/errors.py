"""Auth0-shaped error bodies, raised as :class:`Auth0Error` and rendered by one exception handler."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
DEFAULT_MESSAGES = {
    429: ("Global limit has been reached", "too_many_requests"),
    500: ("Internal error", None),
    502: ("Bad gateway", None),
    503: ("Service temporarily unavailable, please retry", None),
    504: ("Gateway timeout", None),
}
CHECKPOINT_DOCS = "https://auth0.com/docs/logs/retrieve-log-events-using-mgmt-api#retrieve-logs-by-checkpoint"


class Auth0Error(Exception):
    """An HTTP error with the exact JSON body (and extra headers) Auth0 would send."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def api_error(
    status: int, message: str, error_code: str | None = None, attributes: dict[str, Any] | None = None
) -> Auth0Error:
    """A Management API error: ``{statusCode, error, message, errorCode?, attributes?}``."""
    body: dict[str, Any] = {"statusCode": status, "error": REASONS.get(status, "Error"), "message": message}
    if error_code is not None:
        body["errorCode"] = error_code
    if attributes is not None:
        body["attributes"] = attributes
    return Auth0Error(status, body)


def default_api_error(status: int) -> Auth0Error:
    """The body Auth0 sends for ``status`` when nothing more specific applies (used by faults)."""
    message, code = DEFAULT_MESSAGES.get(status, (REASONS.get(status, "Error"), None))
    return api_error(status, message, code)


def fault_error(status: int, path: str) -> Auth0Error:
    """The body of an injected fault: Authentication API shape under /oauth, else Management API."""
    if path.startswith("/oauth"):
        if status == 429:
            return oauth_error(429, "too_many_requests", "Rate limit exceeded. Please retry after some time.")
        return oauth_error(status, "server_error", REASONS.get(status, "Error"))
    return default_api_error(status)


def oauth_error(status: int, error: str, description: str) -> Auth0Error:
    """An Authentication API error: ``{error, error_description}``."""
    return Auth0Error(status, {"error": error, "error_description": description})


def query_validation_error(parameter: str, problem: str, meaning: str) -> Auth0Error:
    """Auth0's 400 for a bad query-string parameter, naming the parameter."""
    message = f"Query validation error: '{problem}' on property {parameter} ({meaning})."
    return api_error(400, message, "invalid_query_string")


def paging_limit_error(page: int) -> Auth0Error:
    """The 400 for a search page past the first 1,000 results (``page`` is 0-based)."""
    message = (
        f"Requesting page {page + 1} exceeds the allowed maximum of 1000 records: "
        f"please consider searching by checkpoint {CHECKPOINT_DOCS}"
    )
    return api_error(400, message, "invalid_paging")
