"""docs/architecture.md names every package and module; the links of README, SECURITY and docs/ resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dev import architecture

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [REPO / "README.md", REPO / "SECURITY.md", *DOCS]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


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


def anchors(page: Path) -> set[str]:
    """Return the anchors GitHub gives the headings of a Markdown page."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
    return {f"{slug}-{n}" if n else slug for slug, total in seen.items() for n in range(total)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_to_a_file_and_heading(page: Path) -> None:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(REPO) if linked.is_relative_to(REPO) else linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {linked.relative_to(REPO)}")
    assert not broken, f"{page.relative_to(REPO)} links to what does not exist:\n" + "\n".join(broken)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in DOCS if f"](docs/{p.name}" not in readme]
    assert not unlinked, f"README.md does not link to these pages of docs/: {unlinked}"
