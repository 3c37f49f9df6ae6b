"""The VideoEspresso benchmark: 14 tasks, three scoring protocols, per-task / micro / macro accuracy.

Pure functions at the core (``extraction``, ``protocols``, ``aggregation``), I/O at the edges
(``predictions`` reads files, ``report`` renders). Scoring is predictions in, numbers out: this
package never imports ``models`` or ``pipeline``.
"""

from __future__ import annotations

from pathlib import Path

from videoespresso_hf.evaluation.extraction import Extraction, extract_official, extract_robust
from videoespresso_hf.evaluation.predictions import (
    PredictionsError,
    load_prediction_records,
    validate_records,
)
from videoespresso_hf.evaluation.report import render
from videoespresso_hf.evaluation.scorer import score_file, score_records
from videoespresso_hf.evaluation.tasks import (
    LEADERBOARD_TASKS,
    TASK_GROUPS,
    TASKS,
    canonical_task,
    task_group,
)

__all__ = [
    "LEADERBOARD_TASKS",
    "TASKS",
    "TASK_GROUPS",
    "Extraction",
    "PredictionsError",
    "canonical_task",
    "extract_official",
    "extract_robust",
    "load_prediction_records",
    "metric_path",
    "render",
    "score_file",
    "score_records",
    "task_group",
    "validate_records",
]


def metric_path() -> str:
    """Folder of the 🤗 ``evaluate`` metric module: ``evaluate.load(metric_path())`` works offline."""
    return str(Path(__file__).parent / "metrics" / "videoespresso")
