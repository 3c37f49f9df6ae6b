"""Adaptive frame sampling: 1 fps for static shots, 2–4 fps for dynamic ones (VideoEspresso; see the spec, paper.md §1.2).

The paper samples "FPS 1 for static scenes, FPS 2–4 for dynamic scenes" but does not say how a scene is
judged static or dynamic. This module's rule, every number of which is a field of
:class:`AdaptiveSamplingConfig`:

1. **Shots.** Split the video at hard cuts with PySceneDetect (:func:`~videoespresso_hf.video.shots.detect_shots`,
   ``config.detector``). Each shot gets its own rate.
2. **Motion score per shot.** Decode the shot at ``probe_fps`` (2 fps), downscaled to ``probe_width``
   pixels wide (64) in grayscale, and average the mean absolute difference between consecutive probe
   frames, divided by 255: "the fraction of the brightness range that changes per ``1 / probe_fps``
   seconds". A shot shorter than two probe intervals compares its first and last frames; a one-frame
   shot scores 0. Measured on the synthetic clips of :mod:`videoespresso_hf.demo.videos`: a still
   shot scores 0.000, a slowly drifting low-contrast texture 0.037, a fast high-contrast one 0.093.
   The default thresholds below are a judgement call, not calibrated on the paper's videos (the paper
   gives no rule); tune them on your own footage.
3. **Rate.** ``motion < static_threshold`` (0.02) → ``static_fps`` (1 fps), reason ``"static"``.
   Otherwise the shot is dynamic and its rate rises linearly from ``dynamic_fps[0]`` (2 fps) at
   ``static_threshold`` to ``dynamic_fps[1]`` (4 fps) at ``high_motion_threshold`` (0.08) and above,
   rounded to ``fps_step`` (0.5). Shot density counts too: a shot shorter than ``fast_cut_seconds``
   (1 s, rapid editing) is treated as dynamic whatever its motion score.
4. **Frames.** Within each shot, one frame every ``1 / rate`` seconds from the shot's first frame
   (:func:`~videoespresso_hf.video.sampling.fps_indices`), so every shot keeps at least one frame.
   If ``max_frames`` is set and exceeded, the plan is thinned uniformly.

The rule is cheap: one shot-detection pass plus a low-resolution decode at ``probe_fps``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .decode import VideoReader
from .metadata import VideoMetadata, probe
from .sampling import fps_indices, uniform_indices
from .shots import Detector, Shot, detect_shots


@dataclass(frozen=True)
class AdaptiveSamplingConfig:
    """Knobs of the adaptive sampling rule (see the module docstring for what each one does)."""

    static_fps: float = 1.0
    dynamic_fps: tuple[float, float] = (2.0, 4.0)
    static_threshold: float = 0.02
    high_motion_threshold: float = 0.08
    fast_cut_seconds: float | None = 1.0
    fps_step: float = 0.5
    probe_fps: float = 2.0
    probe_width: int = 64
    detector: Detector = "adaptive"
    min_shot_frames: int = 15
    max_frames: int | None = None
    backend: str = "auto"

    def __post_init__(self) -> None:
        low, high = self.dynamic_fps
        if not 0 < self.static_fps <= low <= high:
            raise ValueError(f"need 0 < static_fps <= dynamic_fps[0] <= dynamic_fps[1], got {self}")
        if not 0 <= self.static_threshold < self.high_motion_threshold:
            raise ValueError("need 0 <= static_threshold < high_motion_threshold")
        if self.probe_fps <= 0 or self.probe_width < 8 or self.fps_step < 0:
            raise ValueError("probe_fps must be > 0, probe_width >= 8 and fps_step >= 0")


@dataclass(frozen=True)
class ShotSampling:
    """The decision for one shot."""

    shot: Shot
    motion: float
    fps: float
    kind: Literal["static", "dynamic"]
    reason: str
    num_samples: int


@dataclass(frozen=True)
class SamplingPlan:
    """Frames chosen by :func:`plan_adaptive_sampling`.

    Attributes:
        indices: ``(N,)`` int64 frame indices, ascending.
        timestamps: ``(N,)`` float64 seconds.
        shots: one :class:`ShotSampling` per shot (motion score, rate and the reason).
        metadata: the video's metadata.
        config: the rule's settings.
    """

    indices: np.ndarray
    timestamps: np.ndarray
    shots: list[ShotSampling]
    metadata: VideoMetadata
    config: AdaptiveSamplingConfig = field(repr=False)

    def __len__(self) -> int:
        return len(self.indices)


def motion_score(frames: np.ndarray) -> float:
    """Mean absolute difference between consecutive frames, in ``[0, 1]``.

    Args:
        frames: ``(T, H, W)`` grayscale or ``(T, H, W, 3)`` RGB frames, uint8 or float in ``[0, 255]``.

    Returns:
        ``mean_t mean_pixels |f[t+1] - f[t]| / 255``; 0.0 for fewer than two frames.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim == 4:
        frames = frames.mean(axis=-1)
    if len(frames) < 2:
        return 0.0
    return float(np.abs(np.diff(frames, axis=0)).mean() / 255.0)


def choose_fps(motion: float, shot_seconds: float, config: AdaptiveSamplingConfig) -> tuple[float, str, str]:
    """The sampling rate of one shot from its motion score and length.

    Returns:
        ``(fps, kind, reason)`` with ``kind`` in ``{"static", "dynamic"}`` and a one-line ``reason``.
    """
    low, high = config.dynamic_fps
    fast_cut = config.fast_cut_seconds is not None and shot_seconds < config.fast_cut_seconds
    if motion < config.static_threshold and not fast_cut:
        return (
            config.static_fps,
            "static",
            f"motion {motion:.3f} < {config.static_threshold} → {config.static_fps:g} fps",
        )
    span = config.high_motion_threshold - config.static_threshold
    weight = float(np.clip((motion - config.static_threshold) / span, 0.0, 1.0))
    fps = low + (high - low) * weight
    if config.fps_step > 0:
        fps = round(fps / config.fps_step) * config.fps_step
    fps = float(np.clip(fps, low, high))
    if fast_cut and motion < config.static_threshold:
        reason = f"shot {shot_seconds:.2f} s < {config.fast_cut_seconds} s (rapid cuts) → {fps:g} fps"
    else:
        reason = f"motion {motion:.3f} ≥ {config.static_threshold} → {fps:g} fps"
    return fps, "dynamic", reason


def probe_indices(shot: Shot, video_fps: float, probe_fps: float) -> np.ndarray:
    """Frames decoded to score a shot's motion: ``probe_fps`` samples, or its first and last frame."""
    indices = fps_indices(shot.end_frame, video_fps, probe_fps, start_frame=shot.start_frame)
    if len(indices) < 2 and shot.num_frames >= 2:
        indices = np.array([shot.start_frame, shot.end_frame - 1], dtype=np.int64)
    return indices


def plan_from_motion(
    shots: Sequence[Shot], motions: Sequence[float], metadata: VideoMetadata, config: AdaptiveSamplingConfig
) -> tuple[np.ndarray, list[ShotSampling]]:
    """Pure part of the rule: per-shot rates and the sampled indices (ascending, unique)."""
    decisions, chunks = [], []
    for shot, motion in zip(shots, motions, strict=True):
        fps, kind, reason = choose_fps(motion, shot.duration, config)
        indices = fps_indices(
            metadata.num_frames, metadata.fps, fps, start_frame=shot.start_frame, end_frame=shot.end_frame
        )
        chunks.append(indices)
        decisions.append(ShotSampling(shot, motion, fps, kind, reason, len(indices)))
    indices = np.unique(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
    if config.max_frames is not None and len(indices) > config.max_frames:
        indices = indices[uniform_indices(len(indices), config.max_frames)]
    return indices.astype(np.int64), decisions


def plan_adaptive_sampling(
    path: str | Path, config: AdaptiveSamplingConfig | None = None, *, shots: Sequence[Shot] | None = None
) -> SamplingPlan:
    """Choose which frames of a video to caption, at 1 fps in static shots and 2–4 fps in dynamic ones.

    Args:
        path: video file.
        config: the rule's settings (defaults: :class:`AdaptiveSamplingConfig`).
        shots: precomputed shots (skips shot detection).

    Raises:
        VideoError: the file is missing, empty or cannot be decoded.
    """
    config = config or AdaptiveSamplingConfig()
    if shots is None:
        shots = detect_shots(path, config.detector, min_shot_frames=config.min_shot_frames)
    metadata = probe(path)
    probe_height = max(2, round(config.probe_width * metadata.height / metadata.width / 2) * 2)
    with VideoReader(path, backend=config.backend, size=(config.probe_width, probe_height)) as reader:
        metadata, timestamps = reader.metadata, reader.frame_timestamps
        per_shot = [probe_indices(shot, metadata.fps, config.probe_fps) for shot in shots]
        wanted = np.unique(np.concatenate(per_shot)) if per_shot else np.empty(0, dtype=np.int64)
        frames = reader.get_frames(wanted)  # one pass for all shots: the reader decodes forward
    position = {int(index): k for k, index in enumerate(wanted)}
    motions = [motion_score(frames[[position[int(i)] for i in indices]]) for indices in per_shot]
    indices, decisions = plan_from_motion(shots, motions, metadata, config)
    return SamplingPlan(indices, timestamps[indices], decisions, metadata, config)
