"""The original extensions' setting names: which are config Variable aliases, and where the others live here.

Auth0's "Authentication API Webhooks" and "Management API Webhooks" extensions were configured with
upper-case names (``BATCH_SIZE``, ``LOG_TYPES``, ...). The config Variable accepts the names of the
settings it holds as aliases (:data:`VARIABLE_ALIASES`); the others belong to a connection, the pool
or the alerts Variable (:data:`ELSEWHERE`), and :func:`suggestion` says so, or guesses the name meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

VARIABLE_ALIASES = {
    "BATCH_SIZE": "batch_size",
    "SEND_AS_BATCH": "send_as_batch",
    "START_FROM": "start_from",
    "LOG_TYPES": "log_types",
    "LOG_LEVEL": "log_level",
    "AUTH0_API_ENDPOINTS": "api_endpoints",
}
"""The original's name of each setting the config Variable holds."""

ELSEWHERE = {
    "WEBHOOK_URL": "the Webhook URL (host) of the pipeline's webhook connection, auth0_webhook_default by default",
    "AUTHORIZATION": "the Authorization header (password) of the pipeline's webhook connection",
    "WEBHOOK_CONCURRENT_CALLS": "the slots of the pool auth0_webhooks",
    "AUTH0_DOMAIN": "the host of connection auth0_default",
    "AUTH0_CLIENT_ID": "the login of connection auth0_default",
    "AUTH0_CLIENT_SECRET": "the password of connection auth0_default",
    "SLACK_INCOMING_WEBHOOK_URL": "the Webhook URL of connection auth0_alerts_default",
    "SLACK_SEND_SUCCESS": '"notify_success" in Variable auth0_log_webhooks_alerts',
    "DAILY_REPORT_TIME": "the schedule of the DAG auth0_log_webhooks_daily_report",
}
"""The original's settings that are not in the config Variable, and where each lives here."""

NOT_NEEDED = (
    "EXTENSION_SECRET",
    "AUTH0_RTA",
    "WT_URL",
    "PUBLIC_WT_URL",
    "EXTENSION_CLIENT_ID",
    "AUTH0_MANAGE_URL",
    "TITLE",
    "CUSTOM_CSS",
    "AUTH0_GLOBAL_CLIENT_ID",
    "AUTH0_GLOBAL_CLIENT_SECRET",
)
"""Settings the Webtask platform injected for the extension's own admin pages: nothing here needs them."""

ORIGINAL_NAMES = (*VARIABLE_ALIASES, *ELSEWHERE, *NOT_NEEDED)


def suggestion(key: str, fields: Iterable[str]) -> str:
    """Say what an unknown key of the config Variable is: an original setting that lives elsewhere here, the
    extension platform's own setting, or a near miss of a setting name (``fields``, or an original alias)."""
    upper = key.strip().upper()
    if upper in ELSEWHERE:
        return (
            f"not a setting of this Variable but {ELSEWHERE[upper]} (`python -m auth0_log_webhooks migrate` puts "
            "each of the extension's settings in its place)"
        )
    if upper in NOT_NEEDED:
        return "the extension platform's own setting, which nothing here needs: remove it"
    names = [*fields, *VARIABLE_ALIASES]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.6) or difflib.get_close_matches(
        key.lower(), names, n=1, cutoff=0.6
    )
    if not close:
        return "not a setting (docs/configuration.md lists them)"
    return f"not a setting; did you mean {VARIABLE_ALIASES.get(close[0], close[0])!r}?"
