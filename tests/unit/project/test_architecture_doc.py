"""docs/architecture.md names every package and module, each line as its docstring says."""

from __future__ import annotations

from pathlib import Path

import pytest

from dev import architecture

pytestmark = pytest.mark.unit


def test_the_architecture_page_lists_every_package_and_module_as_its_docstring_says() -> None:
    found = architecture.problems()
    assert not found, "docs/architecture.md is out of date; run `python -m dev.architecture`:\n" + "\n".join(found)


def test_a_new_module_is_reported_missing_and_a_changed_docstring_stale(tmp_path: Path) -> None:
    source = tmp_path / "auth0_log_webhooks"
    (source / "run").mkdir(parents=True)
    (source / "__init__.py").write_text('"""The package."""\n')
    (source / "run" / "__init__.py").write_text('"""One run."""\n')
    (source / "run" / "staging.py").write_text('"""Batches between the tasks."""\n')
    doc = tmp_path / "architecture.md"
    doc.write_text(f"# Architecture\n\n{architecture.BEGIN}\n{architecture.END}\n")
    assert "run/staging.py: missing" in architecture.problems(doc, source)
    assert architecture.write(doc, source)
    assert architecture.problems(doc, source) == []

    (source / "run" / "staging.py").write_text('"""Batches in object storage."""\n')
    (source / "run" / "ledger.py").write_text('"""What each batch became."""\n')
    assert architecture.problems(doc, source) == [
        "run/ledger.py: missing",
        "run/staging.py: stale (its docstring changed)",
    ]
    (source / "run" / "ledger.py").unlink()
    (source / "run" / "staging.py").unlink()
    assert "run/staging.py: gone (no such module any more)" in architecture.problems(doc, source)


def test_an_import_cycle_between_rooms_is_named(tmp_path: Path) -> None:
    source = tmp_path / "auth0_log_webhooks"
    source.mkdir()
    (source / "a.py").write_text('"""A."""\nfrom auth0_log_webhooks import b\n')
    (source / "b.py").write_text('"""B."""\nfrom auth0_log_webhooks.a import x\n')
    modules = architecture.read_modules(source)
    with pytest.raises(ValueError, match=r"import cycle between rooms: a\.py -> b\.py -> a\.py"):
        architecture.layers(modules)
