"""What a training run returns: the folders it wrote and the numbers a notebook plots, plus the lines a person reads.

``train_reasoner`` / ``train_selector`` return these (the CLI prints their ``summary``); the numbers come from the
``training_summary.json`` each finished folder holds, so a re-run that finds a stage finished reports it the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.tables import aligned_table
from videoespresso_hf.training.rewards import REWARD_NAMES

__all__ = ["ReasonerTrainingResult", "SelectorTrainingResult", "last_scored", "metrics_table", "scored", "skipped_rows_line"]

# The numbers of a run's summary worth a line each, in this order, with how they read.
_METRICS = (
    ("train_rows", "rows trained on", "{}"),
    ("global_step", "optimizer steps", "{}"),
    ("train_loss", "mean training loss", "{:.4f}"),
    ("first_loss", "first logged loss", "{:.4f}"),
    ("last_loss", "last logged loss", "{:.4f}"),
    ("learning_rate", "learning rate", "{:g}"),
    ("label_agreement_on_training_rows", "label agreement (training rows, Jaccard)", "{:.3f}"),
    # RL: each reward's mean over the completions of the last logged step that scored it (see last_scored)
    *((f"reward_{name}", f"reward {name} (last scored step mean)", "{:.3f}") for name in REWARD_NAMES),
)
NOT_SCORED = "not scored"


def scored(values: Sequence[float | None]) -> list[float]:
    """A reward's logged step means without the steps that did not score it: trl logs NaN for a step where no
    completion had the reward (e.g. no row with key-frame times), which is no value, not a zero."""
    return [float(value) for value in values if value is not None and value == value]


def last_scored(values: Sequence[float | None]) -> float | None:
    """THE "last reward mean" of a run (results table and model card): the mean of the last logged step that scored
    the reward, ``None`` when no step did."""
    means = scored(values)
    return means[-1] if means else None


def read_metrics(folder: Path) -> dict[str, Any]:
    """The numbers of ``folder/training_summary.json`` (empty when the folder holds none, e.g. on a non-main process)."""
    path = folder / "training_summary.json"
    if not path.is_file():
        return {}
    summary = json.loads(path.read_text(encoding="utf-8"))
    losses = summary.get("losses") or []
    metrics = {key: summary[key] for key, _, _ in _METRICS if summary.get(key) is not None}
    if losses:
        metrics["first_loss"], metrics["last_loss"] = losses[0], losses[-1]
    for name, values in (summary.get("rewards") or {}).items():
        if values:  # logged (a reward the run never logged has no row); None: logged but never scored
            metrics[f"reward_{name}"] = last_scored(values)
    return metrics


def metrics_table(columns: Mapping[str, Mapping[str, Any]]) -> str:
    """Metrics as an aligned table: one row per metric, one column per run part (``stage1``, ``stage2``…)."""
    names = [(key, label, form) for key, label, form in _METRICS if any(key in values for values in columns.values())]
    if not names:
        return ""
    cells = [["metric", *columns]]
    for key, label, form in names:
        cells.append([label, *(_cell(values, key, form) for values in columns.values())])
    return "\n".join(aligned_table(cells))


def _cell(values: Mapping[str, Any], key: str, form: str) -> str:
    if key not in values:
        return "-"
    return NOT_SCORED if values[key] is None else form.format(values[key])


def skipped_rows_line(count: int, log: Path, reasons: Mapping[str, int] | None = None) -> str:
    """``"3 rows skipped (unreadable video 1, …), listed in OUT/skipped_rows.jsonl"`` or ``"no row skipped"``: the
    log is named only when it was written."""
    if not count:
        return "no row skipped"
    detail = f" ({', '.join(f'{reason} {n}' for reason, n in sorted(reasons.items()))})" if reasons else ""
    return f"{count} row{'s' if count != 1 else ''} skipped{detail}, listed in {log}"


@dataclass
class ReasonerTrainingResult:
    """What :func:`~videoespresso_hf.training.reasoner.train_reasoner` wrote.

    Attributes:
        output_dir: the run's folder.
        paths: ``{"stage1": …, "stage2": …, "merged": …}`` for the parts this run has (adapters, merged model).
        metrics: per part, the numbers of its ``training_summary.json`` (rows, steps, losses, learning rate).
        skipped_rows: rows left out (each with its reason in ``skipped_rows_file``).
        skipped_rows_file: ``OUT/skipped_rows.jsonl``, or ``None`` when no row was skipped (nothing was written).
        summary: the lines the CLI prints at the end (empty on all processes but the main one).
    """

    output_dir: Path
    paths: dict[str, Path]
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped_rows: int = 0
    skipped_rows_file: Path | None = None
    summary: str = ""

    def __getitem__(self, part: str) -> Path:
        """``result["stage1"]``: the folder of a part, as the dict this function returned before."""
        return self.paths[part]


@dataclass
class SelectorTrainingResult:
    """What :func:`~videoespresso_hf.training.selector.train_selector` wrote.

    Attributes:
        output_dir: the trained selector (``AutoModel.from_pretrained(output_dir)``).
        label_agreement: mean Jaccard overlap of chosen and labelled frames on the training rows (0..1).
        captions_computed / captions_reused: candidate captions written by the captioner / read from the cache.
        metrics: the numbers of its ``training_summary.json``.
        skipped_rows / skipped_rows_file: as for the reasoner.
        summary: the lines the CLI prints at the end.
    """

    output_dir: Path
    label_agreement: float
    captions_computed: int
    captions_reused: int
    metrics: dict[str, Any] = field(default_factory=dict)
    skipped_rows: int = 0
    skipped_rows_file: Path | None = None
    summary: str = ""

    def __getitem__(self, name: str) -> Any:
        """``result["label_agreement"]``: the keys of the dict this function returned before."""
        return getattr(self, name)
