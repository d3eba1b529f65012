"""The distributed stack's environment: what its PostgreSQL connection is opened with."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from psycopg2.extensions import make_dsn

from dev.airflow_cluster import ClusterStack

pytestmark = pytest.mark.dev

CONNECT_ARGS = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"


def test_the_cluster_opens_postgresql_with_arguments_psycopg2_takes(tmp_path: Path) -> None:
    env = ClusterStack(tmp_path / "airflow").env()
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url.startswith("postgresql+psycopg2://")

    connect_args: dict[str, object] = {}
    if CONNECT_ARGS in env:  # Airflow imports the dict the setting names and hands it to the driver
        module, _, name = env[CONNECT_ARGS].rpartition(".")
        connect_args = getattr(importlib.import_module(module), name)

    # What psycopg2.connect does first: an option it does not know raises ProgrammingError ("invalid dsn").
    make_dsn(url.replace("postgresql+psycopg2://", "postgresql://"), **connect_args)
