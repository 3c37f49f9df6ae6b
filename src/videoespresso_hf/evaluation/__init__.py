"""The VideoEspresso benchmark: 14 tasks, three scoring protocols, per-task / micro / macro accuracy.

Pure functions at the core (``extraction``, ``protocols``, ``aggregation``, ``coverage``, ``compare``), I/O at
the edges (``predictions`` reads files, ``report`` renders), and the job (``job``: ``videoespresso_hf.score`` /
``ScoreConfig`` / ``ScoreResult``, what ``videoespresso score`` calls). Every result carries its ``coverage``
(items scored out of the benchmark's 1,382, tasks out of 14) and one verdict per item. Scoring is predictions
in, numbers out: this package never imports ``models`` or ``pipeline``.
"""

from __future__ import annotations

from pathlib import Path

from videoespresso_hf._lazy import lazy_exports

# Imported on first use: ``import videoespresso_hf.evaluation`` stays cheap (no numpy) for callers
# that need one function.
_EXPORTS = {
    "Extraction": ".extraction",
    "extract_official": ".extraction",
    "extract_robust": ".extraction",
    "PredictionsError": ".predictions",
    "load_prediction_records": ".predictions",
    "validate_records": ".predictions",
    "render": ".report",
    "score_file": ".scorer",
    "score_records": ".scorer",
    "grounding_report": ".grounding",
}



# The task vocabulary is shared by data, pipeline and evaluation: it lives in ``videoespresso_hf.tasks``
# and is re-exported here for convenience.
_TASK_EXPORTS = ("LEADERBOARD_TASKS", "TASK_GROUPS", "TASKS", "canonical_task", "task_group")

__all__ = sorted([*_EXPORTS, *_TASK_EXPORTS, "metric_path"])

__getattr__, __dir__ = lazy_exports(__name__, {**_EXPORTS, **dict.fromkeys(_TASK_EXPORTS, "videoespresso_hf.tasks")})


def metric_path() -> str:
    """Folder of the 🤗 ``evaluate`` metric module: ``evaluate.load(metric_path())`` works offline."""
    return str(Path(__file__).parent / "metrics" / "videoespresso")
