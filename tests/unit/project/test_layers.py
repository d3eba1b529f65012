"""The packages' layers: foundations at the bottom, Airflow wiring on top, and no import upward.

A module may import its own package and anything on a lower layer, never a package on its layer or
above. Imports inside functions count too (they are how a module reaches Airflow lazily, and an
upward one would still tie the layers together).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE = Path(__file__).resolve().parents[3] / "include" / "auth0_log_webhooks"

LAYERS: list[set[str]] = [
    {"contracts", "log_ids", "wording", "receiver_kit"},
    {"pipelines", "http"},
    {"hooks"},
    {"run"},
    {"delivery"},
    {"event_mode", "monitoring"},
    {"steps"},
    {"wiring"},
]
"""Bottom first. Foundations may import each other; every other unit only its own package and below."""

SHIMS = {"__init__", "__main__", "triggers", "provider", "run_deadlines"}
"""Top-level modules outside the layers: the package marker, the CLI and the import shims of moved paths."""


def unit_of(module: str) -> str:
    """Return the package or foundation module a dotted path under ``auth0_log_webhooks`` belongs to."""
    return module.split(".")[1] if "." in module else ""


def layer_of(unit: str) -> int:
    return next(index for index, units in enumerate(LAYERS) if unit in units)


def imported_units(path: Path) -> set[str]:
    """Return the packages and foundation modules a module imports from ``auth0_log_webhooks``."""
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("auth0_log_webhooks"):
            if node.module == "auth0_log_webhooks":
                units |= {alias.name for alias in node.names}
            else:
                units.add(unit_of(node.module))
        elif isinstance(node, ast.Import):
            units |= {unit_of(a.name) for a in node.names if a.name.startswith("auth0_log_webhooks.")}
    return units


def modules() -> list[tuple[str, Path]]:
    """Every module of the package with the unit it belongs to (shims left out)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if len(parts) == 1 and parts[0] in SHIMS:
            continue
        found.append((parts[0], path))
    return found


def test_every_package_and_foundation_module_has_a_layer() -> None:
    units = {unit for unit, _ in modules()}
    assert units <= set().union(*LAYERS), f"give these a layer in LAYERS: {sorted(units - set().union(*LAYERS))}"


@pytest.mark.parametrize(("unit", "path"), modules(), ids=lambda value: str(value).split("auth0_log_webhooks/")[-1])
def test_no_module_imports_its_own_layer_or_above(unit: str, path: Path) -> None:
    mine = layer_of(unit)
    upward = sorted(
        other
        for other in imported_units(path) - {unit}
        if other not in SHIMS and layer_of(other) >= mine and not (mine == 0 and layer_of(other) == 0)
    )
    assert not upward, f"{path.relative_to(PACKAGE)} ({unit}, layer {mine}) imports {upward} from its layer or above"
