"""The start-up both recipes share, so the reasoner and the selector set up a run the same way.

Under ``accelerate launch`` every process runs the recipe: each needs the process state (created with
the CPU flag before any trainer, see :meth:`process_state`), the gradient accumulation that keeps the
effective batch whatever the world size, and the skip log; only the main process creates the output
folder and prints the settings, once.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoespresso_hf.data.overlap import recorded_bench_overlap
from videoespresso_hf.training.arguments import _CommonArguments, gradient_accumulation_for, settings_table
from videoespresso_hf.training.rows import SKIPPED_ROWS_FILE, SkipLog, check_split

if TYPE_CHECKING:
    from accelerate import PartialState

__all__ = ["TrainingRun", "log_as_table", "start_training"]


@dataclass(frozen=True)
class TrainingRun:
    """What a started run knows before loading a model.

    Attributes:
        state: accelerate's process state (rank, world size, barriers).
        output: the output folder (created by the main process).
        skip_log: ``OUT/skipped_rows.jsonl``, where every process logs the rows it cannot use.
        accumulation: gradient accumulation steps for the effective batch at this world size.
    """

    state: PartialState
    output: Path
    skip_log: SkipLog
    accumulation: int


def start_training(arguments: _CommonArguments, title: str, derived: Mapping[str, Any] | None = None) -> TrainingRun:
    """Set up a run of either recipe; the main process creates the output folder and prints ``title`` and the
    settings, with the world size, the accumulation and ``derived`` (values the recipe resolved itself).

    Raises:
        ValueError: the config has no such split (:func:`check_split`), or the effective batch does not divide over
            the processes (:func:`gradient_accumulation_for`).
    """
    # peft reads `model.is_gradient_checkpointing`, a name transformers 5 deprecates: a warning per adapter that
    # no setting of this run can avoid (the run sets `activation_checkpointing`, see trainer_settings).
    # trl's GRPOTrainer likewise calls `gradient_checkpointing_enable` / `_disable` on the model (its own code, not
    # a setting of ours): the same rename, the same nothing-to-act-on warning.
    warnings.filterwarnings(
        "ignore", message=r"`(is_)?gradient_checkpointing(_enable|_disable)?` is deprecated", category=FutureWarning
    )
    check_split(arguments.data, arguments.config, arguments.split)  # before the output folder exists
    state = arguments.process_state()
    output = Path(arguments.output_dir)
    accumulation = gradient_accumulation_for(
        arguments.effective_batch_size, arguments.per_device_batch_size, state.num_processes
    )
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        settings = {"world_size": state.num_processes, "gradient_accumulation_steps": accumulation, **(derived or {})}
        print(f"{title}\n" + settings_table(arguments, settings))
        contamination = recorded_bench_overlap(arguments.data, arguments.config)
        if contamination:  # found by `data prepare`; training on bench videos then scoring on them must not be silent
            print(contamination, file=sys.stderr)
    return TrainingRun(state, output, SkipLog(output / SKIPPED_ROWS_FILE), accumulation)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table_logger_class():
    """transformers' progress bar, with each log written as an aligned table row (a header first) instead of a
    dict of strings. Built on first use: the base class imports transformers."""
    from transformers.trainer_callback import ProgressCallback

    class TableProgressCallback(ProgressCallback):
        """Step logs as rows under one header; the run's closing numbers (runtime, speed) as ``name  value`` lines."""

        columns: tuple[str, ...] | None = None

        def _write(self, text: str) -> None:
            bar = getattr(self, "training_bar", None)
            (bar.write if bar is not None else print)(text)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            logs = {key: value for key, value in logs.items() if key != "total_flos"}
            if "train_runtime" in logs:  # the end of the run: one line per number
                width = max(len(key) for key in logs)
                self._write("\n".join(f"  {key:<{width}}  {_cell(value)}" for key, value in logs.items()))
                return
            row = {"step": state.global_step, **logs}
            if self.columns is None or set(row) - set(self.columns):  # a new column: a new header
                self.columns = tuple(row)
                self._write("  ".join(f"{name:>{max(len(name), 9)}}" for name in self.columns))
            self._write("  ".join(f"{_cell(row.get(name, '-')):>{max(len(name), 9)}}" for name in self.columns))

    return TableProgressCallback


def log_as_table(trainer) -> None:
    """Make ``trainer`` print its logs as a table (see :func:`_table_logger_class`), on the progress bar or, when the
    bar is off (``disable_tqdm``), as plain lines."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for default in (ProgressCallback, PrinterCallback):
        if trainer.pop_callback(default) is not None:
            break
    table = _table_logger_class()()
    if trainer.args.disable_tqdm:
        table.on_train_begin = lambda *args, **kwargs: None  # no bar: rows are printed
        table.on_step_end = lambda *args, **kwargs: None
        table.on_train_end = lambda *args, **kwargs: None
    trainer.add_callback(table)
