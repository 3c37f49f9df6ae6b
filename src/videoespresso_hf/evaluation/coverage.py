"""What a score covers: items scored out of the benchmark's, and tasks covered out of its 14.

A number is never shown without what it covers. Scoring 15 items of 2 tasks gives a perfectly valid accuracy
that is nevertheless not comparable with a published full-benchmark row; this module decides, in one place,
when a run is *partial* and how that is said (a line for the terminal, a sentence for the HTML report), so
that ``score`` (text, JSON, HTML, PNG), the judge report, ``predict``'s summary and the lmms-eval aggregation
all say it alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS

__all__ = [
    "BENCHMARK_ITEMS",
    "BENCHMARK_TASKS",
    "PARTIAL_NOTE",
    "coverage",
    "coverage_line",
    "coverage_lines",
    "coverage_sentence",
    "covered_tasks",
]

#: Items of the full benchmark: the published per-task counts (1,382; the paper's Table 7 sums the same).
BENCHMARK_ITEMS = sum(RELEASED_TEST_COUNTS.values())
#: Tasks of the full benchmark.
BENCHMARK_TASKS = len(LEADERBOARD_TASKS)


def coverage(
    task_counts: Mapping[str, int],
    *,
    items: int | None = None,
    benchmark_items: int | None = None,
) -> dict[str, Any]:
    """Coverage of a result whose per-task item counts are ``task_counts`` (leaderboard names).

    Args:
        task_counts: items scored per task.
        items: the items scored, when some have no task (the judge's records may omit it); default the sum.
        benchmark_items: items of the full benchmark (default :data:`BENCHMARK_ITEMS`; the row count of a
            prepared bench when the caller has it).

    Returns:
        ``{"items", "benchmark_items", "tasks", "benchmark_tasks", "covered_tasks", "partial"}``. ``partial`` is
        true when fewer items than the benchmark's or fewer than its 14 tasks were scored: such a run is labelled
        PARTIAL and never placed among the published rows as if comparable.
    """
    total = sum(task_counts.values()) if items is None else items
    benchmark = BENCHMARK_ITEMS if benchmark_items is None else benchmark_items
    covered = [task for task in LEADERBOARD_TASKS if task_counts.get(task)]
    return {
        "items": total,
        "benchmark_items": benchmark,
        "tasks": len(covered),
        "benchmark_tasks": BENCHMARK_TASKS,
        "covered_tasks": covered,
        "partial": total < benchmark or len(covered) < BENCHMARK_TASKS,
    }


def covered_tasks(results: Iterable[Mapping[str, Any]]) -> list[str]:
    """Tasks covered by any of ``results`` (scorer results), in leaderboard order."""
    covered: set[str] = set()
    for result in results:
        covered |= set(result["coverage"]["covered_tasks"])
    return [task for task in LEADERBOARD_TASKS if task in covered]


def _share(cov: Mapping[str, Any]) -> str:
    share = 100.0 * cov["items"] / cov["benchmark_items"] if cov["benchmark_items"] else 0.0
    return f"{share:.1f} %" if share >= 0.1 or not cov["items"] else "< 0.1 %"


PARTIAL_NOTE = "PARTIAL: not comparable with published full-benchmark numbers"


def coverage_lines(cov: Mapping[str, Any]) -> list[str]:
    """Two short lines for a narrow terminal: the counts, then what they mean."""
    counts = (
        f"coverage: {cov['items']:,} of {cov['benchmark_items']:,} items ({_share(cov)}), "
        f"{cov['tasks']} of {cov['benchmark_tasks']} tasks"
    )
    return [counts, PARTIAL_NOTE if cov["partial"] else "the full benchmark"]


def coverage_line(cov: Mapping[str, Any]) -> str:
    """One line: ``coverage: 15 of 1,382 items (1.1 %), 2 of 14 tasks — PARTIAL: …`` (or the full benchmark)."""
    return " — ".join(coverage_lines(cov))


PUBLISHED_FOR_COVERED_TASKS = "shown for the covered tasks only, without their Overall"


def coverage_sentence(
    cov: Mapping[str, Any], name: str, *, verb: str = "scored", published: str = PUBLISHED_FOR_COVERED_TASKS
) -> str:
    """One sentence for a report: what ``name``'s numbers cover and, for a partial run, what that means
    (``published`` says how the report treats the published rows)."""
    counts = (
        f"{name} was {verb} on {cov['items']:,} of the benchmark's {cov['benchmark_items']:,} items "
        f"in {cov['tasks']} of its {cov['benchmark_tasks']} tasks"
    )
    if cov["partial"]:
        return (
            f"{counts}: a PARTIAL run, so its numbers are not comparable with the published full-benchmark rows "
            f"({published})."
        )
    return f"{counts}: the full benchmark."
