"""Two models item by item: where they disagree, and whether the difference in accuracy is real.

Two models scored on the same items are *paired*: an accuracy gap of 2 points on 1,382 items may be noise.
The exact McNemar test looks only at the discordant items (one model right, the other wrong): under "no
difference" each is equally likely to go either way, so the count ``b`` (A right, B wrong) out of ``b + c``
follows Binomial(b + c, 1/2). The two-sided p-value is computed exactly with integers (no approximation, no
dependency), which matters for the small counts a partial run gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import comb
from typing import Any

from videoespresso_hf.evaluation.coverage import coverage

__all__ = ["SIGNIFICANCE_LEVEL", "ComparisonError", "compare", "mcnemar_exact", "render_comparison"]

SIGNIFICANCE_LEVEL = 0.05


class ComparisonError(ValueError):
    """Two results that cannot be compared item by item (one line saying why)."""


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs (1.0 when there are none)."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b} and {c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(b, c) + 1))
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))


def compare(name_a: str, result_a: Mapping[str, Any], name_b: str, result_b: Mapping[str, Any]) -> dict[str, Any]:
    """The items where ``result_a`` and ``result_b`` (scorer results with ``items``) disagree, and the paired test.

    Items are paired by their ``id`` (the record's id, else its position in the file); only items present in
    both are compared, and how many that is (with their coverage) is part of the result.

    Raises:
        ComparisonError: the two results share no item.
    """
    items_b = {item["id"]: item for item in result_b["items"]}
    pairs = [(item, items_b[item["id"]]) for item in result_a["items"] if item["id"] in items_b]
    if not pairs:
        raise ComparisonError(f"{name_a} and {name_b} share no item id: nothing to compare item by item")
    only_a_right = sum(a["correct"] and not b["correct"] for a, b in pairs)
    only_b_right = sum(b["correct"] and not a["correct"] for a, b in pairs)
    p_value = mcnemar_exact(only_a_right, only_b_right)
    task_counts: dict[str, int] = {}
    for a, _ in pairs:
        task_counts[a["task"]] = task_counts.get(a["task"], 0) + 1
    paired_coverage = coverage(task_counts, benchmark_items=result_a["coverage"]["benchmark_items"])
    disagreements = [
        {"id": a["id"], "task": a["task"], name_a: _side(a), name_b: _side(b)}
        for a, b in pairs
        if a["correct"] != b["correct"] or a["extracted"] != b["extracted"]
    ]
    return {
        "models": [name_a, name_b],
        "paired_items": len(pairs),
        "coverage": paired_coverage,
        "accuracy": {
            name_a: round(100.0 * sum(a["correct"] for a, _ in pairs) / len(pairs), 4),
            name_b: round(100.0 * sum(b["correct"] for _, b in pairs) / len(pairs), 4),
        },
        "only_a_correct": only_a_right,
        "only_b_correct": only_b_right,
        "test": "exact McNemar (two-sided)",
        "p_value": p_value,
        "significant": p_value < SIGNIFICANCE_LEVEL,
        "significance_level": SIGNIFICANCE_LEVEL,
        "disagreements": disagreements,
    }


def _side(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"extracted": item["extracted"], "correct": item["correct"], "reason": item["reason"]}


def _verdict(side: Mapping[str, Any]) -> str:
    letter = side["extracted"] or "-"
    if side["correct"]:
        return f"{letter} right"
    return f"{letter} wrong" if side["reason"] is None else f"- unanswered ({side['reason']})"


def render_comparison(comparison: Mapping[str, Any], *, limit: int | None = None) -> str:
    """The comparison as text: the test's verdict first, then one line per item where the models disagree."""
    from videoespresso_hf.evaluation.coverage import coverage_line

    name_a, name_b = comparison["models"]
    accuracy = comparison["accuracy"]
    verdict = "significant" if comparison["significant"] else "not significant"
    lines = [
        f"{name_a} vs {name_b} on {comparison['paired_items']:,} paired items: "
        f"{accuracy[name_a]:.2f} vs {accuracy[name_b]:.2f} % correct",
        f"  {coverage_line(comparison['coverage'])}",
        f"  only {name_a} right: {comparison['only_a_correct']}, only {name_b} right: {comparison['only_b_correct']}; "
        f"{comparison['test']} p = {comparison['p_value']:.4g}: the difference is {verdict} "
        f"at {comparison['significance_level']:g}",
    ]
    rows: Sequence[Mapping[str, Any]] = comparison["disagreements"]
    lines.append(f"items where they disagree ({len(rows)}):")
    shown = rows if limit is None else rows[:limit]
    id_width = max([len(str(row["id"])) for row in shown] + [2])
    task_width = max([len(row["task"]) for row in shown] + [4])
    lines.append(f"  {'id'.ljust(id_width)}  {'task'.ljust(task_width)}  {name_a:<28}  {name_b}")
    for row in shown:
        lines.append(
            f"  {str(row['id']).ljust(id_width)}  {row['task'].ljust(task_width)}  "
            f"{_verdict(row[name_a]):<28}  {_verdict(row[name_b])}"
        )
    if len(shown) < len(rows):
        lines.append(f"  … {len(rows) - len(shown)} more (--format json lists them all)")
    return "\n".join(lines)
