"""Where checkpoints and settings live: Airflow Variables through the Task SDK in a task, a dict elsewhere."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Variables(Protocol):
    """Where checkpoints and settings live (Airflow Variables in a task; a dict in tests)."""

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        ...

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        ...

    def delete(self, key: str) -> None:
        """Delete a Variable (nothing happens if it is not set)."""
        ...


class AirflowVariables:
    """Airflow Variables through the Task SDK (the Execution API; never the metadata DB)."""

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        from airflow.sdk import Variable

        value = Variable.get(key, default=None)
        return None if value is None else str(value)

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        from airflow.sdk import Variable

        Variable.set(key, value)

    def delete(self, key: str) -> None:
        """Delete a Variable."""
        from airflow.sdk import Variable

        Variable.delete(key)


class InMemoryVariables:
    """Variables held in a dict: for running the steps outside Airflow (tests, benchmarks, dry runs)."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, key: str) -> str | None:
        """Return a Variable's value, or None if it is not set."""
        return self.values.get(key)

    def set(self, key: str, value: str) -> None:
        """Set a Variable."""
        self.values[key] = value

    def delete(self, key: str) -> None:
        """Delete a Variable (nothing happens if it is not set)."""
        self.values.pop(key, None)
