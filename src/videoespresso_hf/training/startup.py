"""The start-up both recipes share, so the reasoner and the selector set up a run the same way.

Under ``accelerate launch`` every process runs the recipe: each needs the process state (created with
the CPU flag before any trainer, see :meth:`process_state`), the gradient accumulation that keeps the
effective batch whatever the world size, and the skip log; only the main process creates the output
folder and prints the settings, once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoespresso_hf.training.arguments import _CommonArguments, gradient_accumulation_for, settings_table
from videoespresso_hf.training.rows import SKIPPED_ROWS_FILE, SkipLog

if TYPE_CHECKING:
    from accelerate import PartialState

__all__ = ["TrainingRun", "start_training"]


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
        ValueError: the effective batch does not divide over the processes (:func:`gradient_accumulation_for`).
    """
    state = arguments.process_state()
    output = Path(arguments.output_dir)
    accumulation = gradient_accumulation_for(
        arguments.effective_batch_size, arguments.per_device_batch_size, state.num_processes
    )
    if state.is_main_process:
        output.mkdir(parents=True, exist_ok=True)
        settings = {"world_size": state.num_processes, "gradient_accumulation_steps": accumulation, **(derived or {})}
        print(f"{title}\n" + settings_table(arguments, settings))
    return TrainingRun(state, output, SkipLog(output / SKIPPED_ROWS_FILE), accumulation)
