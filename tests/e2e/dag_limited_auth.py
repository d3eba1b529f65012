"""A test double of Airflow's auth manager: the simple one, except that a viewer may not read one DAG.

Airflow's simple auth manager lets every role read every DAG; per-DAG permissions need an auth
manager that has them (FAB, Keycloak, a company's own). This one stands for such a manager in the
browser test of the health page's permissions (tests/e2e/test_health_permissions.py): the role
``viewer`` may not read :data:`HIDDEN_FROM_VIEWERS`. Airflow imports it by its path
(``AIRFLOW__CORE__AUTH_MANAGER``), as it would a real one.
"""

from __future__ import annotations

from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager
from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

from auth0_log_webhooks.pipelines.definition import MANAGEMENT_API

HIDDEN_FROM_VIEWERS = MANAGEMENT_API.dag_id


class DagLimitedAuthManager(SimpleAuthManager):
    """The simple auth manager, but a viewer may not read (or do anything with) :data:`HIDDEN_FROM_VIEWERS`."""

    def is_authorized_dag(
        self,
        *,
        method: str,  # ResourceMethod, a Literal of HTTP methods
        user: SimpleAuthManagerUser,
        access_entity: DagAccessEntity | None = None,
        details: DagDetails | None = None,
    ) -> bool:
        """What the simple auth manager answers, except no for a viewer on the hidden DAG."""
        if (user.role or "").lower() == "viewer" and details is not None and details.id == HIDDEN_FROM_VIEWERS:
            return False
        return bool(
            super().is_authorized_dag(
                method=method,  # type: ignore[arg-type]
                user=user,
                access_entity=access_entity,
                details=details,
            )
        )
