"""Rendering a result dictionary: a leaderboard-style table, Markdown, or JSON."""

from __future__ import annotations

import json
from typing import Any

from videoespresso_hf.evaluation.tasks import LEADERBOARD_TASKS

__all__ = ["FORMATS", "render"]

FORMATS = ("table", "markdown", "json")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _leaderboard_row(result: dict[str, Any], name: str) -> tuple[list[str], list[str]]:
    header = ["Model", "Overall", *LEADERBOARD_TASKS]
    row = [name, _cell(result["overall"]["micro"])]
    row += [_cell(result["tasks"][task]["accuracy"]) for task in LEADERBOARD_TASKS]
    return header, row


def _footer(result: dict[str, Any]) -> str:
    overall = result["overall"]
    low, high = overall["micro_ci95"]
    return (
        f"protocol={result['protocol']}  micro (leaderboard Overall)={overall['micro']:.2f}"
        f" [95% CI {low:.2f}–{high:.2f}]  macro (paper Avg.)={overall['macro']:.2f}"
        f"  n={overall['n']}  correct={overall['correct']}  unanswered={overall['unanswered']}"
    )


def render(result: dict[str, Any], fmt: str = "table", *, name: str = "predictions") -> str:
    """Render ``result`` as ``table`` (aligned text), ``markdown`` or ``json``."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False)
    header, row = _leaderboard_row(result, name)
    if fmt == "markdown":
        lines = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + [":---:"] * (len(header) - 1)) + "|",
            "| " + " | ".join(row) + " |",
        ]
        return "\n".join(lines) + f"\n\n{_footer(result)}"
    if fmt == "table":
        widths = [max(len(h), len(c)) for h, c in zip(header, row, strict=True)]
        lines = [
            "  ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)).rstrip(),
            "  ".join("-" * width for width in widths),
            "  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip(),
        ]
        return "\n".join(lines) + f"\n{_footer(result)}"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
