"""Stage ``frames``: probe the video and choose the frames to caption (paper §1.2).

Adaptive sampling (the default) detects shots and samples static shots at ``static_fps`` (paper: 1) and
dynamic ones at ``dynamic_fps`` (paper: 2–4); ``fps`` and ``uniform`` are plain alternatives. Only indices
and timestamps are stored: frames are decoded again when captioned, so the state stays small.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.pipeline.stages.base import Stage, StageContext, StageError
from videoespresso_hf.pipeline.video_record import FrameRecord, VideoRecord


class SamplingConfig(BaseModel):
    """How frames are sampled before captioning (paper §1.2: FPS 1 for static, 2–4 for dynamic content).

    Attributes:
        strategy: ``"adaptive"`` (per shot: static shots at ``static_fps``, dynamic ones at a rate in
            ``dynamic_fps`` rising with motion; :func:`videoespresso_hf.video.plan_adaptive_sampling`),
            ``"fps"`` (a fixed ``fps`` everywhere) or ``"uniform"`` (``num_frames`` evenly spaced).
        static_fps / dynamic_fps: adaptive rates.
        fps: rate of the ``"fps"`` strategy.
        num_frames: frame count of the ``"uniform"`` strategy.
        max_frames: cap per video (evenly thinned when exceeded); None for no cap.
        options: further fields of :class:`videoespresso_hf.video.AdaptiveSamplingConfig`
            (``static_threshold``, ``detector``, ``probe_fps``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["adaptive", "fps", "uniform"] = "adaptive"
    static_fps: float = Field(default=1.0, gt=0)
    dynamic_fps: tuple[float, float] = (2.0, 4.0)
    fps: float = Field(default=1.0, gt=0)
    num_frames: int = Field(default=32, ge=1)
    max_frames: int | None = Field(default=None, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)


class SampleFramesStage(Stage):
    name = "frames"
    version = "1"
    fan_out = True  # decoding and shot detection are CPU work: spread videos over processes

    def config_slice(self, config) -> dict[str, Any]:
        return config.frames.model_dump()

    def summary_counts(self, record: VideoRecord) -> dict[str, int]:
        return {"frames_sampled": len(record.frames)}

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        from videoespresso_hf import video

        sampling = ctx.config.frames
        metadata = video.probe(record.path)
        if metadata.num_frames <= 0:
            raise StageError(f"{record.path}: video has no frames")
        segments: list[int] | None = None
        info: dict[str, Any] = {"strategy": sampling.strategy}
        if sampling.strategy == "uniform":
            selection = video.sample_uniform(metadata, sampling.num_frames)
            indices, timestamps = selection.indices, selection.timestamps
        elif sampling.strategy == "fps":
            selection = video.sample_fps(metadata, sampling.fps)
            indices, timestamps = selection.indices, selection.timestamps
        else:
            adaptive = video.AdaptiveSamplingConfig(
                static_fps=sampling.static_fps, dynamic_fps=tuple(sampling.dynamic_fps), **sampling.options
            )
            plan = video.plan_adaptive_sampling(record.path, adaptive)
            indices, timestamps, segments, info = _from_adaptive_plan(plan)
            info["strategy"] = "adaptive"
        indices = np.asarray(indices, dtype=np.int64)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if sampling.max_frames is not None and len(indices) > sampling.max_frames:
            keep = np.round(np.linspace(0, len(indices) - 1, sampling.max_frames)).astype(np.int64)
            indices, timestamps = indices[keep], timestamps[keep]
            segments = [segments[k] for k in keep] if segments is not None else None
            info["thinned_to"] = sampling.max_frames
        if len(indices) == 0:
            raise StageError(f"{record.path}: sampling selected no frames")
        frames = [
            FrameRecord(
                index=int(index),
                timestamp=round(float(timestamp), 6),
                segment=None if segments is None else int(segments[k]),
            )
            for k, (index, timestamp) in enumerate(zip(indices, timestamps, strict=True))
        ]
        ctx.usage.count("frames_sampled", len(frames))
        return record.model_copy(
            update={
                "fps": float(metadata.fps),
                "num_frames": int(metadata.num_frames),
                "duration": float(metadata.duration),
                "width": int(metadata.width),
                "height": int(metadata.height),
                "sampling": info,
                "frames": frames,
            }
        )


def _from_adaptive_plan(plan: Any) -> tuple[np.ndarray, np.ndarray, list[int], dict[str, Any]]:
    """Indices, timestamps, per-frame shot ids and provenance from a ``video.SamplingPlan``."""
    indices = np.asarray(plan.indices, dtype=np.int64)
    timestamps = np.asarray(plan.timestamps, dtype=np.float64)
    starts = np.asarray([decision.shot.start_frame for decision in plan.shots], dtype=np.int64)
    segments = [int(max(0, np.searchsorted(starts, index, side="right") - 1)) for index in indices]
    info = {
        "shots": [
            {
                "start_frame": int(decision.shot.start_frame),
                "end_frame": int(decision.shot.end_frame),
                "kind": decision.kind,
                "fps": float(decision.fps),
                "motion": round(float(decision.motion), 6),
                "reason": decision.reason,
            }
            for decision in plan.shots
        ]
    }
    return indices, timestamps, segments, info
