"""What every benchmark prints: progress lines, a verdict line per headline, and the final summary table.

A benchmark returns :class:`Row` values (or plain 4-tuples of the same fields): one per headline
number, with its target and whether it was met (``None`` when the number has no target).
``python -m bench`` prints a verdict line for each row as its benchmark ends and the table of every
row at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Row(NamedTuple):
    """One headline of a benchmark: its number, its target and whether it was met."""

    benchmark: str
    result: str
    target: str
    met: bool | None

    @property
    def verdict(self) -> str:
        """MET, MISSED or n/a (no target)."""
        return "n/a" if self.met is None else ("MET" if self.met else "MISSED")


def say(message: str) -> None:
    """Print a line now (the runs are long; show progress as it goes)."""
    print(message, flush=True)


def verdict_word(met: bool | None) -> str:
    """MET, MISSED or n/a, as every verdict line spells it."""
    return Row("", "", "", met).verdict


def verdict_line(row: Row) -> str:
    """The line printed for one headline: its number, the target and MET or MISSED."""
    if row.met is None:
        return f"    verdict: {row.benchmark}: {row.result} (no target)"
    return f"    verdict: {row.benchmark}: {row.result}; target {row.target} -> {row.verdict}"


def table(rows: Iterable[Row]) -> list[str]:
    """The summary table's lines: benchmark, result, target and verdict, one row each, aligned."""
    headers = ("benchmark", "result", "target", "verdict")
    lines = [headers, *((r.benchmark, r.result, r.target, r.verdict) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    out = []
    for number, line in enumerate(lines):
        out.append("  " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if number == 0:
            out.append("  " + "-+-".join("-" * width for width in widths))
    return out
