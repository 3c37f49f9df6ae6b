"""Runners execute one stage over many videos and yield outcomes as they finish.

The driver (:mod:`videoespresso_hf.pipeline.orchestrator`) decides *what* to run from the state store and
commits every outcome; a runner only decides *where* it runs:

* :class:`~videoespresso_hf.pipeline.runners.local.LocalRunner` (default): in the driver process, or on a
  process pool for stages with ``fan_out = True``.
* :class:`~videoespresso_hf.pipeline.runners.ray_runner.RayRunner` (``--runner ray``): Ray Data tasks on a
  Ray cluster (or a local Ray instance), with the same stage code.
"""

from videoespresso_hf.pipeline.runners.base import Runner, StageOutcome, StageTask, execute_stage

__all__ = ["Runner", "StageOutcome", "StageTask", "execute_stage", "make_runner"]


def make_runner(kind: str, *, workers: int | None = None, ray_address: str | None = None) -> Runner:
    """``"local"`` (process pool) or ``"ray"`` (Ray Data); Ray is imported only when asked for."""
    if kind == "local":
        from videoespresso_hf.pipeline.runners.local import LocalRunner

        return LocalRunner(workers=workers)
    if kind == "ray":
        from videoespresso_hf.pipeline.runners.ray_runner import RayRunner

        return RayRunner(address=ray_address, num_cpus=workers)
    raise ValueError(f"unknown runner {kind!r}; use 'local' or 'ray'")
