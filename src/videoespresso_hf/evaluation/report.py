"""Rendering results: a leaderboard-style table, Markdown, JSON, or a self-contained HTML report / PNG chart.

The HTML report (one file, charts embedded as PNG) puts several models side by side and, below them,
the published rows that match the protocol (bundled in ``published/results.json`` with their source and
date), labelled as published: they are copied from the authors, never recomputed here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS, TASK_GROUPS

__all__ = [
    "FORMATS",
    "load_published_results",
    "published_table",
    "render",
    "render_html",
    "render_judge_html",
    "render_judge_png",
    "render_leaderboard",
    "render_png",
]

FORMATS = ("table", "markdown", "json")
CHART_PUBLISHED_ROWS = 3  # the top published rows drawn in the charts (all are in the table)


def _cell(value: float | None, digits: int = 1) -> str:
    """A table cell: the value with ``digits`` decimals (accuracies 1, judge means 2), ``-`` when missing."""
    return "-" if value is None else f"{value:.{digits}f}"


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


@cache
def load_published_results() -> dict[str, Any]:
    """The bundled published tables (leaderboard, paper Tables 1 and 2) with source, date and notes."""
    return json.loads((resources.files("videoespresso_hf.evaluation") / "published" / "results.json").read_text(encoding="utf-8"))


def published_table(protocol: str) -> dict[str, Any] | None:
    """The published table comparable with ``protocol`` (``official``/``robust``, ``similarity``, ``llm-judge``)."""
    return next((table for table in load_published_results()["tables"].values() if protocol in table["protocols"]), None)


def _template(name: str):
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("videoespresso_hf.evaluation", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    environment.filters["cell"] = _cell
    return environment.get_template(name)


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _chart_rows(table: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return list(table["rows"][:CHART_PUBLISHED_ROWS]) if table else []


def render_png(named_results: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The chart alone: per-task bars and the task-group radar, published top rows as hollow markers."""
    from videoespresso_hf.evaluation.plots import figure_png, summary_figure

    table = published_table(next(iter(named_results.values()))["protocol"])
    return figure_png(summary_figure(named_results, _chart_rows(table), task_counts=RELEASED_TEST_COUNTS))


def render_html(named_results: Mapping[str, Mapping[str, Any]]) -> str:
    """One self-contained HTML page: the 14-task table, charts, micro with its 95 % interval, published rows."""
    from videoespresso_hf.evaluation.plots import (
        figure_png,
        group_accuracies,
        group_radar_chart,
        task_bar_chart,
    )

    protocols = sorted({result["protocol"] for result in named_results.values()})
    tables = [published_table(protocol) for protocol in protocols]
    # Published rows only beside results they are comparable with (official and robust share the leaderboard).
    table = tables[0] if all(t is not None and t is tables[0] for t in tables) else None
    published = _chart_rows(table)
    models = [
        {"name": name, "overall": result["overall"], "tasks": result["tasks"], "groups": group_accuracies(result),
         "protocol": result["protocol"]}
        for name, result in named_results.items()
    ]  # fmt: skip
    return _template("report.html.jinja").render(
        models=models,
        tasks=LEADERBOARD_TASKS,
        groups=TASK_GROUPS,
        protocols=protocols,
        published=table,
        bar_chart=_png_data_uri(figure_png(task_bar_chart(named_results, published))),
        radar_chart=_png_data_uri(figure_png(group_radar_chart(named_results, published, task_counts=RELEASED_TEST_COUNTS))),
    )


def render_judge_png(result: Mapping[str, Any]) -> bytes:
    """The judge's score distribution per criterion, as a PNG."""
    from videoespresso_hf.evaluation.plots import figure_png, judge_distribution_chart

    return figure_png(judge_distribution_chart(result))


def render_judge_html(result: Mapping[str, Any], name: str = "predictions") -> str:
    """One self-contained HTML page of an LLM-judge result: means per criterion and task, distributions, paper Table 2."""
    from videoespresso_hf.evaluation.judge import CRITERIA

    return _template("judge_report.html.jinja").render(
        name=name,
        result=result,
        criteria=CRITERIA,
        published=published_table("llm-judge"),
        chart=_png_data_uri(render_judge_png(result)),
    )
