"""What ``predict`` prints at the end: coverage of the benchmark first, then what the run did.

A number is never shown without what it covers: the summary states how many items of the prepared config the
output holds, how many of the 14 tasks they span, and labels the run PARTIAL when it is not the whole published
benchmark (1,382 items), so that a ``--limit`` run is never mistaken for a full one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS

__all__ = ["PUBLISHED_BENCH_ITEMS", "coverage_line", "coverage_of", "summary_text"]

#: Items of the published benchmark (the released per-task counts; the paper's split differs only between tasks).
PUBLISHED_BENCH_ITEMS = sum(RELEASED_TEST_COUNTS.values())


def coverage_of(records: Sequence[Mapping[str, Any]], items: Sequence[Any], config: str) -> dict[str, Any]:
    """How much of the prepared ``config`` (``items``) and of the published bench the ``records`` cover."""
    ids = {item.id for item in items}
    covered = [record for record in records if record.get("id") in ids]
    tasks = {item.task for item in items if item.id in {record["id"] for record in covered}} & set(LEADERBOARD_TASKS)
    published = PUBLISHED_BENCH_ITEMS if config == "bench" else None
    complete = len(covered) == len(items) and (published is None or len(items) >= published)
    return {
        "items": len(covered),
        "items_in_data": len(items),
        "published_items": published,
        "tasks": len(tasks),
        "tasks_total": len(LEADERBOARD_TASKS),
        "partial": not complete,
    }


def coverage_line(coverage: Mapping[str, Any]) -> str:
    """``"8 of 8 items (8 of 14 tasks) — PARTIAL: the published bench has 1,382 items"``."""
    line = (f"{coverage['items']:,} of {coverage['items_in_data']:,} items "
            f"({coverage['tasks']} of {coverage['tasks_total']} tasks)")  # fmt: skip
    if not coverage["partial"]:
        return f"{line}, the whole benchmark"
    published = coverage["published_items"]
    if published is not None and coverage["items_in_data"] < published:
        return f"{line} — PARTIAL: the published bench has {published:,} items in {coverage['tasks_total']} tasks"
    return f"{line} — PARTIAL"


def summary_text(plan, backend, total, summaries, coverage, notes, table: str | None) -> str:
    """The run summary, then the score table (multiple choice) or how to judge (open-ended)."""
    config = plan.config
    per_item = max(total.written, 1)
    reasons = ", ".join(f"{reason}: {count}" for reason, count in total.failure_reasons.items())
    reasons = f"  ({reasons})" if reasons else ""
    if plan.preset is not None:
        preset = f"{plan.preset.name} ({plan.preset.family}; source: {plan.preset.source})"
    else:
        preset = "none"
    frames = plan.rule.spec + ("" if config.frames or plan.preset else " (our default, not a model family's protocol)")
    if plan.pixel_bounds:
        frames += f", pixels {plan.pixel_bounds.min_pixels}..{plan.pixel_bounds.max_pixels}"
    rate = total.written / total.seconds if total.seconds else 0.0
    lines = [
        *notes,
        f"predictions: {config.output}  ({total.items} items: {total.written} written now, {total.skipped} already there)",
        f"coverage:    {coverage_line(coverage)}",
        f"preset:      {preset}",
        f"frames:      {frames}",
        f"failures:    {total.failures}{reasons}",
        f"time:        {total.seconds:.1f} s  ({rate:.2f} items/s; data path "
        f"{1000 * total.decode_seconds / per_item:.0f} ms/item, model {1000 * total.model_seconds / per_item:.0f} ms/item)",
    ]
    if len(summaries) > 1:
        ranks = "; ".join(
            f"rank {rank}: {part['written']} items, {part['written'] / part['seconds'] if part['seconds'] else 0.0:.2f} items/s"
            for rank, part in enumerate(summaries)
        )
        lines.append(f"processes:   {len(summaries)}  ({ranks})")
    if backend.counts_tokens:
        lines.append(f"tokens:      {total.input_tokens} in, {total.output_tokens} out")
    if backend.name == "openai":
        lines.append(f"cost:        ${total.cost_usd:.4f} (this run; cached answers are free)")
    if table is not None:
        lines += ["", table]
    if config.open_ended:
        lines += ["", f"open-ended answers: score them with `videoespresso judge {config.output}`"]
    return "\n".join(lines)
