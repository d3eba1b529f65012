"""The receiver kit stands alone: a receiver copies its folder, with only standardwebhooks installed."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

KIT = Path(__file__).resolve().parents[3] / "include" / "auth0_log_webhooks" / "receiver_kit"
ALLOWED = {"standardwebhooks", "auth0_log_webhooks.receiver_kit", "__future__"}


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return found


@pytest.mark.parametrize("path", sorted(KIT.glob("*.py")), ids=lambda p: p.name)
def test_a_kit_module_imports_only_the_standard_library_standardwebhooks_and_the_kit(path: Path) -> None:
    outside = {
        name
        for name in imported(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)
    }
    assert not outside, f"{path.name} imports {sorted(outside)}; the kit must run copied on its own"


def test_the_kit_copied_alone_checks_a_folder(tmp_path: Path) -> None:
    """Copied without the rest of the package (only its own folder under the same name), the command runs."""
    target = tmp_path / "auth0_log_webhooks" / "receiver_kit"
    shutil.copytree(KIT, target, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "auth0_log_webhooks" / "__init__.py").write_text("")
    (tmp_path / "received").mkdir()

    script = (
        "import sys, auth0_log_webhooks.receiver_kit.__main__ as kit; print(kit.__file__); "
        "sys.exit(kit.main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "check", str(tmp_path / "received")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(tmp_path)},
    )

    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(str(target)), done.stdout  # the copy ran, not the installed package
    assert "No manifest is held" in done.stdout
