"""``--runner ray``: the same stages as Ray Data tasks, for collections that outgrow one machine.

Each stage is one ``ray.data`` map over the videos that still need it; outcomes stream back to the driver,
which commits them to the state store as they arrive (so a killed Ray run resumes like a local one).
On a multi-node cluster the video paths and the output folder (``llm_cache.sqlite`` is shared by LLM
stages) must be on a file system every node sees.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from videoespresso_hf.pipeline.runners.base import StageOutcome, StageTask, execute_stage
from videoespresso_hf.pipeline.stages.base import Stage, StageContext

__all__ = ["RayRunner"]


def _execute_row(row: dict[str, Any], stage: Stage, ctx: StageContext) -> dict[str, Any]:
    task = StageTask(row["video_id"], row["stage"], row["fingerprint"], row["record_json"])
    return execute_stage(stage, task, ctx).to_row()


class RayRunner:
    """Runs stages with Ray Data.

    Args:
        address: Ray cluster address (``"auto"`` joins a running cluster); None starts a local instance.
        num_cpus: CPUs of a local instance (ignored when joining a cluster).
        shared_model_concurrency: Ray tasks in flight for stages with ``fan_out = False`` (the ones that hold
            an LLM client or a model): 1 keeps one loaded model / one budgeted client busy, as locally; raise it
            to spread such a stage over several workers (e.g. one per GPU).
    """

    name = "ray"

    def __init__(
        self, address: str | None = None, num_cpus: int | None = None, *, shared_model_concurrency: int = 1
    ) -> None:
        self.shared_model_concurrency = shared_model_concurrency
        try:
            import ray
        except ImportError:
            raise ImportError("the Ray runner needs Ray Data: pip install 'videoespresso-hf[ray]'") from None
        self._started_here = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is not None:
                kwargs["address"] = address
            elif num_cpus is not None:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)
            self._started_here = True
        import logging

        from ray.data import DataContext

        context = DataContext.get_current()
        context.enable_progress_bars = False  # the driver shows its own per-stage bar
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # one INFO block per stage otherwise

    def map(self, stage: Stage, tasks: list[StageTask], ctx: StageContext) -> Iterator[StageOutcome]:
        import ray.data

        if not tasks:
            return
        rows = [
            {
                "video_id": t.video_id,
                "stage": t.stage,
                "fingerprint": t.fingerprint,
                "record_json": t.record_json,
            }
            for t in tasks
        ]
        # One block per video so videos spread over workers; LLM stages get one Ray task per video, each
        # with the LLM client's own thread pool inside.
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows))
        # `compute=TaskPoolStrategy(size)`: Ray 2.51 deprecated (and warns on) the `concurrency` argument.
        options: dict[str, Any] = (
            {} if stage.fan_out else {"compute": ray.data.TaskPoolStrategy(size=self.shared_model_concurrency)}
        )
        dataset = dataset.map(_execute_row, fn_kwargs={"stage": stage, "ctx": ctx}, **options)
        for row in dataset.iter_rows():
            yield StageOutcome.from_row(row)

    def runs_in_driver(self, stage: Stage) -> bool:
        return False  # every stage runs in Ray tasks

    def close(self) -> None:
        if self._started_here:
            import ray

            ray.shutdown()
            self._started_here = False
