"""Per-item verdicts → per-task accuracy, micro and macro averages, bootstrap interval.

Two averages are published for VideoEspresso and they are not comparable:

* **micro** — correct / items over the whole benchmark: the leaderboard's "Overall";
* **macro** — the unweighted mean of the per-task accuracies: the paper's Table 1 "Avg.".

Everything is on the 0–100 scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = ["ItemVerdict", "TaskScore", "aggregate", "bootstrap_ci"]

# Why an item counts as unanswered (scored wrong): ``items[*].reason`` in a result.
FAILURE_RECORD = "failure record"  # model_output is null: the model or its endpoint failed (``predict`` wrote ``error``)
NO_OPTION = "no option named"  # an output from which no option letter could be read
SEVERAL_OPTIONS = "several options named"  # an ambiguous output: never guessed
UNANSWERED_REASONS = (NO_OPTION, SEVERAL_OPTIONS, FAILURE_RECORD)


@dataclass(frozen=True)
class ItemVerdict:
    """The outcome of one item under one protocol."""

    task: str  # leaderboard name
    correct: bool
    answered: bool
    predicted: str | None = None  # letter, when the protocol yields one
    rule: str = ""  # which extraction rule (or similarity outcome) decided
    id: str | int | None = None  # the record's id, else its position in the file (what pairs two models' items)
    reason: str | None = None  # why an unanswered item is unanswered (one of UNANSWERED_REASONS); None when answered

    def as_dict(self) -> dict[str, Any]:
        """The item's entry in the result's ``items`` list (``score --format json``)."""
        return {"id": self.id, "task": self.task, "extracted": self.predicted, "correct": self.correct,
                "reason": self.reason, "rule": self.rule}  # fmt: skip


@dataclass(frozen=True)
class TaskScore:
    accuracy: float | None  # None when the task has no items
    n: int
    correct: int


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the micro accuracy (items resampled with replacement), in percent.

    Raises:
        ValueError: if ``resamples`` < 1.
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    outcomes = np.asarray(correct, dtype=np.float64)
    if outcomes.size == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    # Resample in chunks so a large benchmark never builds a (resamples × n) matrix at once.
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // outcomes.size)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        draws = rng.integers(0, outcomes.size, size=(stop - start, outcomes.size))
        means[start:stop] = outcomes[draws].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return (round(float(low) * 100.0, 2), round(float(high) * 100.0, 2))


def aggregate(
    verdicts: Sequence[ItemVerdict],
    *,
    protocol: str,
    bootstrap_resamples: int = 1000,
    seed: int = 0,
    benchmark_items: int | None = None,
) -> dict:
    """Summarise verdicts in the scorer's JSON shape.

    Args:
        benchmark_items: how many items the full benchmark has (default: the 1,382 of the published per-task
            counts; a caller that holds the prepared bench passes its row count).

    Returns:
        ``{"protocol", "overall": {"micro", "macro", "n", "correct", "unanswered", "micro_ci95"},
        "tasks": {leaderboard name: {"accuracy", "n", "correct"}}, "coverage": {...}, "items": [...]}`` with
        every one of the 14 tasks present (``accuracy`` is ``None`` for a task without items; macro averages the
        others), the coverage of :func:`~videoespresso_hf.evaluation.coverage.coverage` (a number is never shown
        without what it covers) and one entry per record (:meth:`ItemVerdict.as_dict`).
    """
    from videoespresso_hf.evaluation.coverage import coverage

    per_task: dict[str, list[int]] = {task: [0, 0] for task in LEADERBOARD_TASKS}
    for verdict in verdicts:
        counts = per_task[verdict.task]
        counts[0] += 1
        counts[1] += int(verdict.correct)
    tasks = {
        task: TaskScore(accuracy=round(100.0 * correct / n, 4) if n else None, n=n, correct=correct)
        for task, (n, correct) in per_task.items()
    }
    n_total = sum(score.n for score in tasks.values())
    n_correct = sum(score.correct for score in tasks.values())
    scored = [score.accuracy for score in tasks.values() if score.accuracy is not None]
    return {
        "protocol": protocol,
        "overall": {
            "micro": round(100.0 * n_correct / n_total, 4) if n_total else 0.0,
            "macro": round(float(np.mean(scored)), 4) if scored else 0.0,
            "n": n_total,
            "correct": n_correct,
            "unanswered": sum(not verdict.answered for verdict in verdicts),
            "micro_ci95": list(
                bootstrap_ci([v.correct for v in verdicts], resamples=bootstrap_resamples, seed=seed)
            ),
        },
        "tasks": {task: {"accuracy": s.accuracy, "n": s.n, "correct": s.correct} for task, s in tasks.items()},
        "coverage": coverage({task: s.n for task, s in tasks.items()}, benchmark_items=benchmark_items),
        "items": [verdict.as_dict() for verdict in verdicts],
    }
