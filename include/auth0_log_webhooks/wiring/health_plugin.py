"""The health page inside the Airflow UI: an Airflow 3 plugin (a FastAPI app and a nav entry) the package registers.

Airflow loads it through the package's ``airflow.plugins`` entry point, so installing the package is
enough: no file goes into the plugins folder. The page is served by the API server at
``/log-webhooks-health/`` and shown in the UI's navigation as "Auth0 log webhooks" through an
external view; what it serves is :mod:`~auth0_log_webhooks.wiring.health_app`.

Airflow loads every plugin in every process, each task's included (for macros and listeners), but
only the API server mounts a FastAPI app. So this module imports nothing heavy: the app is
:class:`HealthApp`, which imports the FastAPI app on the page's first request. Importing it here
instead cost every task process about 1.3 s of CPU at its start (FastAPI and Airflow's API security
modules), 4 Dec 2026.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.plugins_manager import AirflowPlugin

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

URL_PREFIX = "/log-webhooks-health"  # not /auth0-...: Airflow reserves every prefix starting with /auth


class HealthApp:
    """The health page's ASGI app: :mod:`~auth0_log_webhooks.wiring.health_app`'s FastAPI app, imported when the
    API server first passes it a request (or a lifespan event)."""

    def __init__(self) -> None:
        self._app: ASGIApp | None = None

    @property
    def app(self) -> ASGIApp:
        """The FastAPI app, imported on first use."""
        if self._app is None:
            from auth0_log_webhooks.wiring.health_app import app

            self._app = app
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Auth0HealthPlugin(AirflowPlugin):
    """Registers the health page and its entry in the UI's navigation."""

    name = "auth0_log_webhooks_health"
    fastapi_apps = [{"app": HealthApp(), "url_prefix": URL_PREFIX, "name": "Auth0 log webhooks health"}]
    external_views = [
        {
            "name": "Auth0 log webhooks",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "url_route": "log-webhooks-health",
        }
    ]
