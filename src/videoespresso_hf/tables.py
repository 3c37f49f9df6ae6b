"""Plain-text tables: columns padded to their widest cell, labels left-aligned, numbers right-aligned.

The one formatter behind the text tables the commands print (the score leaderboard, wide and narrow; the build's
per-stage report; training metrics), so that they all line up the same way. Cells are strings: each caller
formats its numbers (decimals, ``-`` for missing) before handing them over.

A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = ["aligned_table"]


def aligned_table(
    rows: Sequence[Sequence[str]],
    *,
    right_from: int | None = 1,
    gap: str = "  ",
    min_widths: Sequence[int] = (),
    rule: Literal["columns", "line"] | None = None,
) -> list[str]:
    """The lines of a table whose first row is the header; each column as wide as its widest cell.

    Args:
        rows: the header, then the data rows; every row has the same number of cells.
        right_from: columns from this index on are right-aligned (numbers); ``None``: every column left-aligned.
        gap: what separates two columns.
        min_widths: the least width of the first columns (a fixed layout that only grows for a wider cell).
        rule: a dashed line under the header: ``"columns"`` (one dash run per column) or ``"line"`` (as long as
            the header line); ``None``: no rule.

    Trailing spaces are dropped from every line.
    """
    if not rows:
        return []
    widths = [max(len(cell) for cell in column) for column in zip(*rows, strict=True)]
    widths = [max(width, minimum) for width, minimum in zip(widths, [*min_widths, *[0] * len(widths)], strict=False)]

    def line(cells: Sequence[str]) -> str:
        return gap.join(
            cell.rjust(width) if right_from is not None and index >= right_from else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    header, *data = rows
    lines = [line(header)]
    if rule == "columns":
        lines.append(line(["-" * width for width in widths]))
    elif rule == "line":
        lines.append("-" * len(lines[0]))
    return lines + [line(cells) for cells in data]
