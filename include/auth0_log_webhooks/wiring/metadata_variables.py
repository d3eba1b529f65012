"""Airflow Variables read from the metadata DB: the view of the API server (the health page) and of the commands.

Task code never uses this (a task reads Variables through the Task SDK,
:class:`~auth0_log_webhooks.run.variables.AirflowVariables`); processes that are not tasks and that
Airflow lets read its metadata do: the API server, and a command run where Airflow is installed.
Airflow's secrets backends come first, so ``AIRFLOW_VAR_<NAME>`` environment variables win. The only
write is a delete: resuming a paused pipeline deletes its auto-pause Variable (the health page's
Resume button and ``python -m auth0_log_webhooks resume``).
"""

from __future__ import annotations


class MetadataVariables:
    """Airflow Variables read from the metadata DB (the API server's view)."""

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None."""
        from airflow.models.variable import Variable

        value = Variable.get(key, default_var=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        """Not used: these readers never write Variables (they only delete the auto-pause one to resume)."""
        raise NotImplementedError("the health page and the commands never write Variables")

    def delete(self, key: str) -> None:
        """Delete a Variable (resuming a paused pipeline deletes its auto-pause Variable)."""
        from airflow.models.variable import Variable

        Variable.delete(key)
