"""Rendering results: a leaderboard-style table, Markdown, JSON, or a self-contained HTML report / PNG chart.

The HTML report (one file, charts embedded as PNG) puts several models side by side and, below them,
the published rows that match the protocol (bundled in ``published/results.json`` with their source and
date), labelled as published: they are copied from the authors, never recomputed here.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from videoespresso_hf.evaluation.coverage import (
    BENCHMARK_ITEMS,
    coverage_lines,
    coverage_sentence,
    covered_tasks,
)
from videoespresso_hf.tables import aligned_table
from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS, TASK_GROUPS, TASKS

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
    "terminal_width",
]

FORMATS = ("table", "markdown", "json")
CHART_PUBLISHED_ROWS = 3  # the top published rows drawn in the charts (all are in the table)


def _cell(value: float | None, digits: int = 1) -> str:
    """A table cell: the value with ``digits`` decimals (accuracies 1, judge means 2), ``-`` when missing."""
    return "-" if value is None else f"{value:.{digits}f}"


_HEADER = ["Model", "Overall", *LEADERBOARD_TASKS]


def _leaderboard_row(result: Mapping[str, Any], name: str) -> list[str]:
    row = [name, _cell(result["overall"]["micro"])]
    return row + [_cell(result["tasks"][task]["accuracy"]) for task in LEADERBOARD_TASKS]


def _footer_lines(result: Mapping[str, Any], name: str) -> list[str]:
    """What a row's numbers are and what they cover: short lines, so that they fit a narrow terminal too."""
    overall = result["overall"]
    low, high = overall["micro_ci95"]
    return [
        f"{name}: protocol={result['protocol']}  n={overall['n']}  correct={overall['correct']}"
        f"  unanswered={overall['unanswered']}",
        f"  micro (leaderboard Overall)={overall['micro']:.2f} [95% CI {low:.2f}–{high:.2f}]",
        f"  macro (paper Avg.)={overall['macro']:.2f}",
        *(f"  {line}" for line in coverage_lines(result["coverage"])),
    ]


def _footers(named_results: Mapping[str, Mapping[str, Any]]) -> str:
    return "\n".join(line for name, result in named_results.items() for line in _footer_lines(result, name))


def _wide_table(named_results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Models as rows, Overall then the 14 tasks as columns (the README leaderboard's layout)."""
    rows = [_leaderboard_row(result, name) for name, result in named_results.items()]
    return aligned_table([_HEADER, *rows], right_from=None, rule="columns")


def _narrow_table(named_results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Transposed and grouped: tasks as rows under their paper group, one column per model (fits ~40 columns
    for one model, where the wide layout needs ~290)."""
    names = list(named_results)
    lines = [["Task", *names, "bench n"], ["-" * 4, *("-" * len(name) for name in names), "-" * 7]]
    lines.append(["Overall (micro)", *(_cell(r["overall"]["micro"]) for r in named_results.values()),
                  f"{sum(RELEASED_TEST_COUNTS.values()):,}"])  # fmt: skip
    for group in TASK_GROUPS:
        lines.append([f"{group}:", *([""] * len(names)), ""])
        for task in (t.leaderboard_name for t in TASKS if t.group == group):
            accuracies = (_cell(r["tasks"][task]["accuracy"]) for r in named_results.values())
            lines.append([f"  {task}", *accuracies, str(RELEASED_TEST_COUNTS[task])])
    return aligned_table(lines)


def terminal_width() -> int | None:
    """Columns of the terminal the text is printed to (``$COLUMNS`` first), or ``None`` when output is not a
    terminal (a pipe or a file: the wide table, whole lines for tools that read it)."""
    columns = shutil.get_terminal_size(fallback=(0, 0)).columns
    return columns or None


def render_leaderboard(
    named_results: Mapping[str, Mapping[str, Any]], fmt: str = "table", *, width: int | None = None
) -> str:
    """Several results as rows of one leaderboard-style table (``table`` or ``markdown``), each followed by its
    coverage (items and tasks scored out of the benchmark).

    Args:
        width: the columns available (``table`` only): when the wide layout (models as rows, 14 task columns)
            would not fit, the table is transposed and grouped (tasks as rows). ``None``: always wide.
    """
    footers = _footers(named_results)
    if fmt == "markdown":
        rows = [_leaderboard_row(result, name) for name, result in named_results.items()]
        lines = ["| " + " | ".join(_HEADER) + " |", "|" + "|".join(["---"] + [":---:"] * (len(_HEADER) - 1)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + f"\n\n{footers}"
    if fmt == "table":
        lines = _wide_table(named_results)
        if width is not None and max(len(line) for line in lines) > width:
            lines = _narrow_table(named_results)
        return "\n".join(lines) + f"\n{footers}"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render(result: Mapping[str, Any], fmt: str = "table", *, name: str = "predictions", width: int | None = None) -> str:
    """Render ``result`` as ``table`` (aligned text, like the README leaderboard; narrow when it would not fit
    ``width``), ``markdown`` or ``json`` (with its per-item verdicts)."""
    if fmt == "json":
        return json.dumps(result, indent=2, ensure_ascii=False)
    return render_leaderboard({name: result}, fmt, width=width)


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


def _comparable_published(
    table: Mapping[str, Any] | None, named_results: Mapping[str, Mapping[str, Any]]
) -> tuple[Mapping[str, Any] | None, list[str], bool]:
    """The published table as it may stand beside ``named_results``: whole for full runs; for a partial run,
    each row's values for the covered tasks only and no Overall (an Overall over 1,382 items beside one over 15
    would read as comparable). Returns ``(table, shown tasks, partial)``."""
    partial = any(result["coverage"]["partial"] for result in named_results.values())
    if table is None or not partial:
        return table, list(LEADERBOARD_TASKS), partial
    shown = covered_tasks(named_results.values())
    rows = [
        {**row, "overall": None, "tasks": {task: (row["tasks"][task] if task in shown else None) for task in LEADERBOARD_TASKS}}
        for row in table["rows"]
    ]
    return {**table, "rows": rows}, shown, partial


def _coverage_title(named_results: Mapping[str, Mapping[str, Any]]) -> str:
    return "\n".join(f"{name}: {coverage_lines(result['coverage'])[0]}" + (" — PARTIAL" if result["coverage"]["partial"] else "")
                     for name, result in named_results.items())  # fmt: skip


def render_png(named_results: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The chart alone: per-task bars and the task-group radar, published top rows as hollow markers (covered
    tasks only for a partial run), titled with what each model's numbers cover."""
    from videoespresso_hf.evaluation.plots import figure_png, summary_figure

    table, _, partial = _comparable_published(published_table(next(iter(named_results.values()))["protocol"]), named_results)
    figure = summary_figure(named_results, _chart_rows(table), task_counts=None if partial else RELEASED_TEST_COUNTS)
    figure.suptitle(_coverage_title(named_results), fontsize=9)
    return figure_png(figure)


def render_html(named_results: Mapping[str, Mapping[str, Any]]) -> str:
    """One self-contained HTML page: what each model's numbers cover (one sentence each), the 14-task table,
    charts, micro with its 95 % interval, and the published rows (for a partial run: covered tasks only)."""
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
    table, shown_tasks, partial = _comparable_published(table, named_results)
    published = _chart_rows(table)
    models = [
        {"name": name, "overall": result["overall"], "tasks": result["tasks"], "groups": group_accuracies(result),
         "protocol": result["protocol"], "coverage": result["coverage"],
         "coverage_sentence": coverage_sentence(result["coverage"], name)}
        for name, result in named_results.items()
    ]  # fmt: skip
    counts = None if partial else RELEASED_TEST_COUNTS
    return _template("report.html.jinja").render(
        models=models,
        tasks=LEADERBOARD_TASKS,
        groups=TASK_GROUPS,
        protocols=protocols,
        published=table,
        partial=partial,
        shown_tasks=shown_tasks,
        benchmark_items=f"{BENCHMARK_ITEMS:,}",
        bar_chart=_png_data_uri(figure_png(task_bar_chart(named_results, published))),
        radar_chart=_png_data_uri(figure_png(group_radar_chart(named_results, published, task_counts=counts))),
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
        coverage_sentence=coverage_sentence(
            result["coverage"], name, verb="judged", published=f"listed below for reference: they cover all {BENCHMARK_ITEMS:,} items"
        ),
        published=published_table("llm-judge"),
        chart=_png_data_uri(render_judge_png(result)),
    )
