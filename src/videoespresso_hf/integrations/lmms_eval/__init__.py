"""The ``videoespresso`` / ``videoespresso_open`` lmms-eval tasks.

The package folder holds the YAML templates and :mod:`.utils` (the ``doc_to_*``, ``process_results``
and aggregation functions, all built on ``videoespresso_hf.benchmarking`` and ``videoespresso_hf.evaluation``).
:func:`write_task_folder` writes the two task files for one dataset (they include the templates by
absolute path) and a ``utils.py`` that re-exports :mod:`.utils`; pass that folder as ``--include_path``.
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path

from videoespresso_hf.integrations.lmms_eval.utils import judge_metric_names, multiple_choice_metric_names

__all__ = ["TASK_NAMES", "template_folder", "write_task_folder"]

TASK_NAMES = ("videoespresso", "videoespresso_open")
_UTILS_SHIM = '''"""Written by `videoespresso lmms-eval-task`: the task functions live in the installed package."""

from videoespresso_hf.integrations.lmms_eval.utils import *  # noqa: F403
'''


def template_folder() -> Path:
    """The packaged folder holding the YAML templates."""
    return Path(str(resources.files("videoespresso_hf.integrations.lmms_eval")))


def _task_yaml(template: Path, task: str, dataset_path: str, config: str, split: str, metrics: list[str]) -> str:
    lines = [
        "# Written by `videoespresso lmms-eval-task`.",
        f"include: {json.dumps(str(template))}",
        f"task: {task}",
        f"dataset_path: {json.dumps(dataset_path)}",
        f"dataset_name: {json.dumps(config)}",
        f"test_split: {json.dumps(split)}",
        "metric_list:",
    ]
    for name in metrics:
        lines += [f"  - metric: {name}", f"    aggregation: !function utils.aggregate_{name}", "    higher_is_better: true"]
    return "\n".join(lines) + "\n"


def write_task_folder(out: str | os.PathLike, data: str, config: str = "bench", split: str = "test") -> Path:
    """Write ``videoespresso.yaml``, ``videoespresso_open.yaml`` and ``utils.py`` into ``out``; returns ``out``.

    Args:
        data: a prepared folder (``videoespresso data prepare``; made absolute) or a Hub dataset id.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dataset_path = str(Path(data).resolve()) if Path(data).exists() else data
    variants = {
        "videoespresso": ("_multiple_choice_template.yaml", multiple_choice_metric_names()),
        "videoespresso_open": ("_open_ended_template.yaml", judge_metric_names()),
    }
    for task, (template, metrics) in variants.items():
        text = _task_yaml(template_folder() / template, task, dataset_path, config, split, metrics)
        (out / f"{task}.yaml").write_text(text, encoding="utf-8")
    (out / "utils.py").write_text(_UTILS_SHIM, encoding="utf-8")
    return out
