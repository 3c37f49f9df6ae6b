"""Charts of scorer and judge results with matplotlib, readable in black-and-white print.

Each series gets a grey shade *and* a hatch (bars) or a marker and line style (lines), so models stay
distinguishable on a monochrome printer; published rows are drawn as hollow markers and labelled
"published". Figures are rendered with the Agg backend (no display needed) to PNG bytes by
:func:`figure_png`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from videoespresso_hf.tasks import LEADERBOARD_TASKS, TASK_GROUPS, TASKS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "figure_png",
    "group_accuracies",
    "group_radar_chart",
    "judge_distribution_chart",
    "summary_figure",
    "task_bar_chart",
]

HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
GREYS = ("0.15", "0.55", "0.85", "0.35", "0.7", "0.45", "0.95", "0.25")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", ":", "-.")
PUBLISHED_MARKERS = ("<", ">", "h", "8", "p")


def _style(index: int) -> dict[str, Any]:
    return {"hatch": HATCHES[index % len(HATCHES)], "grey": GREYS[index % len(GREYS)],
            "marker": MARKERS[index % len(MARKERS)], "linestyle": LINESTYLES[index % len(LINESTYLES)]}  # fmt: skip


def _figure(width: float, height: float) -> Figure:
    # The object-oriented API with no pyplot state: safe in libraries and threads, needs no display.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def group_accuracies(result: Mapping[str, Any]) -> dict[str, float | None]:
    """Micro accuracy (0–100) per paper group, from a scorer result's per-task ``n``/``correct``."""
    totals: dict[str, list[int]] = {group: [0, 0] for group in TASK_GROUPS}
    for task in TASKS:
        entry = result["tasks"].get(task.leaderboard_name) or {}
        totals[task.group][0] += int(entry.get("n") or 0)
        totals[task.group][1] += int(entry.get("correct") or 0)
    return {group: (100.0 * correct / n if n else None) for group, (n, correct) in totals.items()}


def _published_group_accuracies(row: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, float | None]:
    """Group accuracy of a published row: per-task percentages weighted by the released task counts."""
    out: dict[str, float | None] = {}
    for group in TASK_GROUPS:
        tasks = [t.leaderboard_name for t in TASKS if t.group == group]
        weight = sum(counts[t] for t in tasks)
        out[group] = sum(row["tasks"][t] * counts[t] for t in tasks) / weight
    return out


def task_bar_chart(
    named_results: Mapping[str, Mapping[str, Any]],
    published: Sequence[Mapping[str, Any]] = (),
    *,
    ax=None,
) -> Figure:
    """Horizontal grouped bars: accuracy per task for each model; published rows as hollow markers."""
    figure = None
    if ax is None:
        figure = _figure(9, 0.55 * len(LEADERBOARD_TASKS) + 1.5)
        ax = figure.add_subplot()
    names = list(named_results)
    positions = np.arange(len(LEADERBOARD_TASKS))
    height = 0.8 / max(1, len(names))
    for index, name in enumerate(names):
        style = _style(index)
        values = [named_results[name]["tasks"][task]["accuracy"] for task in LEADERBOARD_TASKS]
        offsets = positions - 0.4 + height * (index + 0.5)
        ax.barh(offsets, [np.nan if v is None else v for v in values], height=height, color=style["grey"],
                edgecolor="black", linewidth=0.6, hatch=style["hatch"], label=name)  # fmt: skip
    for index, row in enumerate(published):
        ax.scatter([np.nan if row["tasks"][task] is None else row["tasks"][task] for task in LEADERBOARD_TASKS], positions, marker=PUBLISHED_MARKERS[index % 5],
                   facecolors="none", edgecolors="black", s=36, zorder=3, label=f"published: {row['model']}")  # fmt: skip
    ax.set_yticks(positions, LEADERBOARD_TASKS)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.grid(axis="x", color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title("Accuracy per task")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, fontsize=8, frameon=False)
    return figure if figure is not None else ax.figure


def group_radar_chart(
    named_results: Mapping[str, Mapping[str, Any]],
    published: Sequence[Mapping[str, Any]] = (),
    *,
    task_counts: Mapping[str, int] | None = None,
    ax=None,
) -> Figure:
    """Polar chart of the four task groups (micro accuracy within each group) per model."""
    figure = None
    if ax is None:
        figure = _figure(6, 5.5)
        ax = figure.add_subplot(projection="polar")
    angles = np.linspace(0, 2 * np.pi, len(TASK_GROUPS), endpoint=False)
    closed = np.append(angles, angles[0])
    series = [(name, group_accuracies(result), _style(index), False) for index, (name, result) in enumerate(named_results.items())]
    if published and task_counts:
        series += [
            (f"published: {row['model']}", _published_group_accuracies(row, task_counts),
             {"marker": PUBLISHED_MARKERS[index % 5], "linestyle": ":", "grey": "0.4"}, True)
            for index, row in enumerate(published)
        ]  # fmt: skip
    for name, groups, style, hollow in series:
        # A group without items is a gap, not a zero: a partial run must not read as failing the tasks it skipped.
        values = [np.nan if groups[g] is None else groups[g] for g in TASK_GROUPS]
        ax.plot(closed, [*values, values[0]], color="black" if not hollow else style["grey"], linewidth=1.2,
                linestyle=style["linestyle"], marker=style["marker"], markersize=6,
                markerfacecolor="none" if hollow else style["grey"], markeredgecolor="black", label=name)  # fmt: skip
    ax.set_xticks(angles, [group.replace(" ", "\n") for group in TASK_GROUPS], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_yticks([25, 50, 75, 100], ["25", "50", "75", "100"], fontsize=7, color="0.4")
    ax.set_title("Accuracy per task group (%)")
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.12), fontsize=7)
    return figure if figure is not None else ax.figure


def summary_figure(
    named_results: Mapping[str, Mapping[str, Any]],
    published: Sequence[Mapping[str, Any]] = (),
    *,
    task_counts: Mapping[str, int] | None = None,
) -> Figure:
    """The per-task bars and the group radar side by side (what ``score --format png`` writes)."""
    figure = _figure(15, 0.55 * len(LEADERBOARD_TASKS) + 1.5)
    grid = figure.add_gridspec(1, 2, width_ratios=(3, 2))
    task_bar_chart(named_results, published, ax=figure.add_subplot(grid[0]))
    group_radar_chart(named_results, published, task_counts=task_counts, ax=figure.add_subplot(grid[1], projection="polar"))
    return figure


def judge_distribution_chart(result: Mapping[str, Any]) -> Figure:
    """One panel per criterion: how many answers got each judge score 1–10."""
    from matplotlib.ticker import MaxNLocator

    distribution = result.get("distribution") or {}
    criteria = list(distribution)
    figure = _figure(3.0 * max(1, len(criteria)), 3.2)
    axes = figure.subplots(1, max(1, len(criteria)), sharey=True, squeeze=False)[0]
    scores = np.arange(1, 11)
    for index, (ax, criterion) in enumerate(zip(axes, criteria, strict=False)):
        style = _style(index)
        ax.bar(scores, distribution[criterion], color=style["grey"], edgecolor="black", linewidth=0.6, hatch=style["hatch"])
        ax.set_title(criterion, fontsize=10)
        ax.set_xticks(scores)
        ax.set_xlabel("judge score")
        ax.grid(axis="y", color="0.85", linewidth=0.6)
        ax.set_axisbelow(True)
    axes[0].set_ylabel("answers")
    axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(f"Judge score distribution ({result.get('judge_model', 'judge')})", fontsize=11)
    return figure


def figure_png(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (Agg canvas: no display, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()
