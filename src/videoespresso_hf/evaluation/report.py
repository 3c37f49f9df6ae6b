"""Rendering a result dictionary: a leaderboard-style table, Markdown, or JSON."""

from __future__ import annotations

import json
from typing import Any

from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = ["FORMATS", "render", "render_leaderboard"]

FORMATS = ("table", "markdown", "json")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


_HEADER = ["Model", "Overall", *LEADERBOARD_TASKS]


def _leaderboard_row(result: dict[str, Any], name: str) -> list[str]:
    row = [name, _cell(result["overall"]["micro"])]
    return row + [_cell(result["tasks"][task]["accuracy"]) for task in LEADERBOARD_TASKS]


def _footer(result: dict[str, Any]) -> str:
    overall = result["overall"]
    low, high = overall["micro_ci95"]
    return (
        f"protocol={result['protocol']}  micro (leaderboard Overall)={overall['micro']:.2f}"
        f" [95% CI {low:.2f}–{high:.2f}]  macro (paper Avg.)={overall['macro']:.2f}"
        f"  n={overall['n']}  correct={overall['correct']}  unanswered={overall['unanswered']}"
    )


def render_leaderboard(named_results: dict[str, dict[str, Any]], fmt: str = "table") -> str:
    """Several results as rows of one leaderboard-style table (``table`` or ``markdown``)."""
    rows = [_leaderboard_row(result, name) for name, result in named_results.items()]
    footers = "\n".join(_footer(result) for result in named_results.values())
    if fmt == "markdown":
        lines = ["| " + " | ".join(_HEADER) + " |", "|" + "|".join(["---"] + [":---:"] * (len(_HEADER) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + f"\n\n{footers}"
    if fmt == "table":
        widths = [max(len(cell) for cell in column) for column in zip(_HEADER, *rows, strict=True)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in [_HEADER, ["-" * width for width in widths], *rows]
        ]
        return "\n".join(lines) + f"\n{footers}"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render(result: dict[str, Any], fmt: str = "table", *, name: str = "predictions") -> str:
    """Render ``result`` as ``table`` (aligned text, like the README leaderboard), ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False)
    return render_leaderboard({name: result}, fmt)
