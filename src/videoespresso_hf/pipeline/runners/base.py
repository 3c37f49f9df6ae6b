"""What runners share: the unit of work, its outcome, and the function that executes it anywhere."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from videoespresso_hf.errors import one_line
from videoespresso_hf.pipeline.stages.base import ModelLoadError, Stage, StageContext, StageError, StageUsage

__all__ = ["FatalBuildError", "Runner", "StageOutcome", "StageTask", "execute_stage"]


class FatalBuildError(RuntimeError):
    """An error that no other video would escape (budget exhausted, no API key, wrong model): stop the run."""


@dataclass(frozen=True)
class StageTask:
    """Run the stage named ``stage`` on one video; ``record_json`` is its upstream stage's output (or the
    initial record)."""

    video_id: str
    stage: str
    fingerprint: str
    record_json: str


@dataclass
class StageOutcome:
    """The result of one :class:`StageTask`: ``status`` is ``done``, ``failed`` (input at fault) or ``error``."""

    video_id: str
    stage: str
    fingerprint: str
    status: str
    record_json: str | None = None
    error: str | None = None
    seconds: float = 0.0
    usage: StageUsage = field(default_factory=StageUsage)

    def to_row(self) -> dict[str, Any]:
        """A flat dict of strings and numbers (what Ray Data moves between workers)."""
        import json

        return {
            "video_id": self.video_id,
            "stage": self.stage,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "record_json": self.record_json or "",
            "error": self.error or "",
            "seconds": float(self.seconds),
            "usage_json": json.dumps(self.usage.to_dict()),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StageOutcome:
        import json

        return cls(
            video_id=str(row["video_id"]),
            stage=str(row["stage"]),
            fingerprint=str(row["fingerprint"]),
            status=str(row["status"]),
            record_json=str(row["record_json"]) or None,
            error=str(row["error"]) or None,
            seconds=float(row["seconds"]),
            usage=StageUsage.from_dict(json.loads(row["usage_json"])),
        )


def _is_permanent(exc: BaseException) -> bool:
    """The input is at fault: retrying the same video would fail the same way."""
    from videoespresso_hf.video import VideoError

    return isinstance(exc, StageError | VideoError)


def _is_fatal(exc: BaseException) -> bool:
    """Every remaining video would fail the same way: stop instead of marking them all."""
    from videoespresso_hf.llm import FATAL_ERRORS

    return isinstance(exc, (*FATAL_ERRORS, FatalBuildError, ModelLoadError))


def execute_stage(stage: Stage, task: StageTask, ctx: StageContext) -> StageOutcome:
    """Run one stage on one video and classify what happened. Runs in any process (driver, pool, Ray).

    Permanent failures (:class:`StageError`, ``VideoError``) and transient errors become outcomes; fatal
    errors (budget exhausted, missing API key, ...) are raised as :class:`FatalBuildError` so the driver
    stops the run without marking any video.
    """
    ctx.usage = StageUsage()
    started = time.perf_counter()
    try:
        record = stage.input_type.model_validate_json(task.record_json)
        output = stage.run(record, ctx)
        status, record_json, error = "done", output.model_dump_json(), None
    except Exception as exc:
        if _is_fatal(exc):
            # A ModelLoadError is already the line the user reads (the model and the setting to change).
            raise FatalBuildError(str(exc) if isinstance(exc, ModelLoadError) else one_line(exc)) from exc
        status = "failed" if _is_permanent(exc) else "error"
        record_json = None
        error = exc.reason if hasattr(exc, "reason") and status == "failed" else one_line(exc)
        if status == "error":
            # Unexpected errors keep their origin: the last frame of the traceback.
            origin = traceback.extract_tb(exc.__traceback__)[-1:]
            if origin:
                error += f" (at {origin[0].filename.rsplit('/', 1)[-1]}:{origin[0].lineno})"
    return StageOutcome(
        video_id=task.video_id,
        stage=task.stage,
        fingerprint=task.fingerprint,
        status=status,
        record_json=record_json,
        error=error,
        seconds=time.perf_counter() - started,
        usage=ctx.usage,
    )


class Runner(Protocol):
    """Executes a stage over tasks, yielding outcomes in completion order."""

    name: str

    def map(self, stage: Stage, tasks: list[StageTask], ctx: StageContext) -> Iterator[StageOutcome]: ...

    def runs_in_driver(self, stage: Stage) -> bool:
        """Whether ``stage`` runs in this process (so ``ctx.progress`` reaches the driver's bar)."""
        ...

    def close(self) -> None: ...
