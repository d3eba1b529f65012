"""Configuration of one webhook sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SinkConfig:
    """How a sink records and checks deliveries.

    :param record_path: JSON-lines file every delivery is appended to (created if absent).
    :param secrets: ``whsec_...`` Standard Webhooks secrets; a request passes if any verifies
        (rotation). Empty: signatures are not checked.
    :param authorization: expected ``Authorization`` header value; None: not checked.
    :param fsync: fsync the record file after every request (crash-safe; off for benchmarks).
    """

    record_path: Path
    secrets: tuple[str, ...] = field(default_factory=tuple)
    authorization: str | None = None
    fsync: bool = True
