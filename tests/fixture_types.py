"""The types of the shared fixtures, one name each, to annotate the test functions that use them.

Each alias names the fixture it types and where that fixture is defined; the fixture's own return
annotation uses the same alias, so a change of its shape is one edit that mypy then follows.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # only mypy needs them: importing this module starts nothing (tests/network.py is a plugin)
    from dev.auth0_tenant.testing import EmulatorHandle
    from dev.runner import ReplayOutcome, RunOutcome
    from dev.webhook_sink.testing import SinkHandle

DefineConnection: TypeAlias = "Callable[..., None]"
"""``airflow_connection`` (tests/conftest.py): ``define(conn_id, **fields)`` as an ``AIRFLOW_CONN_*`` variable."""

WireConnections: TypeAlias = "Callable[..., None]"
"""``wire_connections`` (tests/conftest.py): ``wire(tenant, sink, *, secret=, authorization=, timeout=)``."""

TenantFactory: TypeAlias = "Callable[..., EmulatorHandle]"
"""``auth0_tenant_factory`` (dev/auth0_tenant/testing.py): start an emulator with these settings."""

SinkFactory: TypeAlias = "Callable[..., SinkHandle]"
"""``webhook_sink_factory`` (dev/webhook_sink/testing.py): start a sink with these settings."""

Configure: TypeAlias = "Callable[..., None]"
"""``configure`` (tests/integration and tests/dags conftest): merge settings into the config Variable."""

RunPipeline: TypeAlias = "Callable[..., RunOutcome]"
"""``run_pipeline`` (tests/integration/conftest.py): run the pipeline's steps in this process."""

ReadDeadLetters: TypeAlias = "Callable[[], list[dict[str, Any]]]"
"""``dead_letters`` (tests/integration/conftest.py): the dead letters as stored, one dict per file."""

ReplayDeadLetters: TypeAlias = "Callable[..., ReplayOutcome]"
"""``replay_dead_letters`` (tests/integration/conftest.py): replay them as the replay DAG would."""

RunDag: TypeAlias = "Callable[..., Any]"
"""``run_dag`` (tests/dags/conftest.py): ``run(dag_id, conf=None, *, backfill_of=None)`` returns the DagRun."""

Handler: TypeAlias = "Callable[[socket.socket, bytes], None]"
"""What a raw server does with one connection, given the request head it read."""

RawServer: TypeAlias = "Callable[[Handler], int]"
"""``raw_server`` (tests/network.py): serve each connection with a handler on a loopback port; return the port."""
