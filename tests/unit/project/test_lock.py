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


def test_the_image_installs_from_the_lock_by_hash() -> None:
    """requirements.txt (Astro's ONBUILD install) carries the lock's hashes, so pip checks every package it adds."""
    image, locked = pins(REPO / "requirements.txt"), pins(REPO / "constraints.txt")
    assert image
    for name, hashes in image.items():
        assert hashes, f"{name} in requirements.txt has no hash: copy its hashes from constraints.txt"
        assert sorted(hashes) == sorted(locked.get(name, [])), f"{name}: requirements.txt and constraints.txt differ"
    unhashed = [line for line in (REPO / "requirements.txt").read_text().splitlines() if re.match(r"^[A-Za-z]", line)]
    assert all(line.endswith("\\") for line in unhashed), unhashed  # every requirement line continues into hashes


def test_the_image_base_is_pinned_by_tag_and_the_readme_says_how_to_pin_its_digest() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M)
    assert base
    assert re.search(r":[\w.-]+(@sha256:[0-9a-f]{64})?$", base.group(1))
    if "@sha256:" not in base.group(1):  # the registry was not reachable when the pin was last refreshed
        assert "@sha256:" in dockerfile  # the comment above FROM shows the digest form
        assert "imagetools inspect" in (REPO / "README.md").read_text()
