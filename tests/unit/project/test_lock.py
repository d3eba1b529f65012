"""The lock: every package pinned by version and sha256 hash, installed with hashes required, uv too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def pins(path: Path) -> dict[str, list[str]]:
    """Return each ``name==version`` requirement of a pip requirements file with its sha256 hashes."""
    entries = re.finditer(r"^(\S+==[^\s\\]+)((?:[ \t]*\\\n[ \t]+--hash=sha256:[0-9a-f]{64})*)", path.read_text(), re.M)
    return {match.group(1): re.findall(r"sha256:([0-9a-f]{64})", match.group(2)) for match in entries}


def test_every_locked_package_has_a_sha256_hash() -> None:
    locked = pins(REPO / "constraints.txt")
    assert len(locked) > 100
    assert [name for name, hashes in locked.items() if not hashes] == []


def test_the_installer_is_pinned_by_hash_at_the_makefiles_version() -> None:
    version = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert version
    locked = pins(REPO / "requirements-uv.txt")
    assert list(locked) == [f"uv=={version.group(1)}"]
    assert locked[f"uv=={version.group(1)}"]


def test_make_install_requires_hashes_and_builds_the_project_with_the_locked_backend() -> None:
    makefile = (REPO / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if re.search(r"\b(pip|uv pip) install\b", line)]
    assert installs
    for line in installs:
        assert "--require-hashes" in line or "--no-build-isolation" in line, line
    assert any("setuptools==" in name for name in pins(REPO / "constraints.txt"))
    assert "--generate-hashes" in makefile
