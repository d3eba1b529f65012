"""Reference data that sits in ../shared beside the repository (on every machine and in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def require(path: Path, what: str) -> Path:
    """Return ``path``; skip the test if it is missing, except in CI, where it must be there."""
    if path.exists():
        return path
    message = f"{what} not found at {path} (../shared beside the repository)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
