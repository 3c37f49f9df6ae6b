"""The default runner: the driver process, plus a process pool for CPU-bound stages."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from videoespresso_hf.pipeline.runners.base import StageOutcome, StageTask, execute_stage
from videoespresso_hf.pipeline.stages.base import Stage, StageContext
from videoespresso_hf.workers import spawn_pool

__all__ = ["LocalRunner"]


def _pool_initializer() -> None:
    # Workers only decode; keep each one to one BLAS/torch thread so N workers use N cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


class LocalRunner:
    """Runs stages on this machine.

    Stages with ``fan_out = True`` (frame sampling: decoding and shot detection) spread their videos over
    ``workers`` processes; the others run in the driver, one video at a time, parallel inside (the LLM
    client's threads, batched models). With one worker or one video everything stays in the driver.

    Args:
        workers: process count; None uses ``min(os.cpu_count(), number of videos)``.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0

    def _get_pool(self, size: int) -> ProcessPoolExecutor:
        if self._pool is None or self._pool_size != size:
            self.close()
            # Spawned workers that exit with the driver (a killed build leaves no orphans).
            self._pool = spawn_pool(size, initializer=_pool_initializer)
            self._pool_size = size
        return self._pool

    def map(self, stage: Stage, tasks: list[StageTask], ctx: StageContext) -> Iterator[StageOutcome]:
        size = min(self.workers or os.cpu_count() or 1, len(tasks))
        if not stage.fan_out or size <= 1:
            for task in tasks:
                yield execute_stage(stage, task, ctx)
            return
        pool = self._get_pool(size)
        pending: set[Future[StageOutcome]] = {pool.submit(execute_stage, stage, task, ctx) for task in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()

    def runs_in_driver(self, stage: Stage) -> bool:
        return not stage.fan_out or self.workers == 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
