"""The VideoEspresso benchmark: 14 tasks, three scoring protocols, per-task / micro / macro accuracy.

Pure functions at the core (``extraction``, ``protocols``, ``aggregation``), I/O at the edges
(``predictions`` reads files, ``report`` renders). Scoring is predictions in, numbers out: this
package never imports ``models`` or ``pipeline``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# Imported on first use: ``import videoespresso_hf.evaluation`` stays cheap (no numpy) for callers
# that need one function.
_EXPORTS = {
    "Extraction": "extraction",
    "extract_official": "extraction",
    "extract_robust": "extraction",
    "PredictionsError": "predictions",
    "load_prediction_records": "predictions",
    "validate_records": "predictions",
    "render": "report",
    "score_file": "scorer",
    "score_records": "scorer",
}



# The task vocabulary is shared by data, pipeline and evaluation: it lives in ``videoespresso_hf.tasks``
# and is re-exported here for convenience.
_TASK_EXPORTS = ("LEADERBOARD_TASKS", "TASK_GROUPS", "TASKS", "canonical_task", "task_group")

__all__ = sorted([*_EXPORTS, *_TASK_EXPORTS, "metric_path"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _TASK_EXPORTS:
        return getattr(importlib.import_module("videoespresso_hf.tasks"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def metric_path() -> str:
    """Folder of the 🤗 ``evaluate`` metric module: ``evaluate.load(metric_path())`` works offline."""
    return str(Path(__file__).parent / "metrics" / "videoespresso")
