"""Data-parallel ``predict`` under ``accelerate launch`` / ``torchrun``: shards, shard files and the merge.

Rank r of N takes every N-th item, from the r-th on, of the items NOT yet in the output (a disjoint, deterministic
shard), and appends its records to its own shard file beside the output (``OUT.rank{r}-of-{N}.jsonl``, same
append-and-fsync rule as the output). When every rank is done the main process merges the output and all shard
files into the output, in item order, each item exactly once, and removes the shard files.

A killed rank loses at most its item in flight: the next run (with any number of processes) first merges every
shard file left beside the output, so no finished item is run again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from videoespresso_hf.benchmarking.store import RecordsFile, complete_records
from videoespresso_hf.files import write_text_atomic

__all__ = ["ProcessGroup", "ShardFile", "leftover_shards", "merge_into_output", "process_group", "shard_path"]


def shard_path(output: Path, rank: int, world_size: int) -> Path:
    """``preds.jsonl`` → ``preds.jsonl.rank0-of-2.jsonl``."""
    return output.with_name(f"{output.name}.rank{rank}-of-{world_size}.jsonl")


def leftover_shards(output: Path) -> list[Path]:
    """Shard files of ``output`` from any earlier run (any number of processes), sorted by name."""
    if not output.parent.is_dir():
        return []
    return sorted(output.parent.glob(f"{_glob_escape(output.name)}.rank*-of-*.jsonl"))


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def merge_into_output(output: Path, shards: Sequence[Path], order: Sequence[str]) -> int:
    """Rewrite ``output`` with its own records plus the shards' complete records: each id once (the first seen), in
    the order of ``order`` (ids not in it keep their place after those). The write is atomic; the shard files are
    removed afterwards. Also puts a resumed file (redone items appended at its end) back in item order.
    Returns the number of records taken from the shards."""
    kept: dict[str, str] = {}
    existing = complete_records(output)
    for item_id, line in existing:
        kept.setdefault(item_id, line)
    before = len(kept)
    for shard in shards:
        for item_id, line in complete_records(shard):
            kept.setdefault(item_id, line)
    position = {item_id: index for index, item_id in enumerate(order)}
    ranked = sorted(kept.items(), key=lambda pair: position.get(pair[0], len(position)))  # stable for unknown ids
    if ranked != existing:  # nothing to add and already in order: the file is left untouched
        output.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(output, "".join(f"{line}\n" for _, line in ranked))
    for shard in shards:
        shard.unlink(missing_ok=True)
    return len(kept) - before


class ShardFile(RecordsFile):
    """One rank's append-only records file (the store interface :func:`~.runner.run_predictions` writes to)."""


@dataclass
class ProcessGroup:
    """This process's place in the launch: rank, number of processes, and the collective calls."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    _state: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self._state is not None:
            self._state.wait_for_everyone()

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order (on every rank)."""
        if self._state is None:
            return [value]
        from accelerate.utils import gather_object

        return list(gather_object([value]))

    def shard(self, items: Sequence[Any]) -> list[Any]:
        """This rank's items: the i-th item goes to rank i % world_size."""
        return list(items[self.rank :: self.world_size])


def launched_world_size() -> int:
    """How many processes the launcher started (``WORLD_SIZE`` of accelerate / torchrun; 1 when run directly)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def process_group() -> ProcessGroup:
    """The launch this process belongs to; under ``accelerate launch``/``torchrun`` the process group is set up
    through accelerate's ``PartialState`` (NCCL on GPUs, gloo on CPUs)."""
    if launched_world_size() == 1:
        return ProcessGroup()
    import torch
    from accelerate import PartialState

    # Without a GPU, PartialState must be told to use the CPU (gloo); otherwise it ignores the launch and every
    # process would run the whole benchmark on its own.
    state = PartialState(cpu=not torch.cuda.is_available())
    return ProcessGroup(state.process_index, state.num_processes, state.local_process_index, state)
