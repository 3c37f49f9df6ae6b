"""Pure frame-sampling rules: which frame indices to decode (no I/O).

* :func:`uniform_indices` — ``n`` frames spread evenly over the video, first and last included
  (``np.linspace(0, num_frames - 1, n)`` rounded; the convention of decord-based VLM readers).
* :func:`fps_indices` — one frame every ``1 / target_fps`` seconds, e.g. 1 fps for captioning.

:func:`sample_uniform` and :func:`sample_fps` apply them to a :class:`VideoMetadata` and return a
:class:`SampledFrames` with both the indices and their timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metadata import VideoMetadata


@dataclass(frozen=True)
class SampledFrames:
    """Frames a sampling rule picked (not the core frames a selector picks: ``FrameSelection``), and, once
    decoded (predict's frame sampler), their pixels and the video they come from.

    Attributes:
        indices: ``(N,)`` int64 frame indices, ascending.
        timestamps: ``(N,)`` float64 presentation times in seconds.
        frames: ``(N, H, W, 3)`` uint8 RGB, when decoded.
        fps / num_frames: the source video's frame rate and frame count, when decoded.
    """

    indices: np.ndarray
    timestamps: np.ndarray
    frames: np.ndarray | None = None
    fps: float | None = None
    num_frames: int | None = None

    def __len__(self) -> int:
        return len(self.indices)

    def metadata(self) -> dict:
        """What transformers' video processors expect as ``video_metadata`` (timestamps reach the model)."""
        return {"total_num_frames": self.num_frames, "fps": self.fps, "frames_indices": [int(i) for i in self.indices]}

    def summary(self) -> dict:
        """The part written into a prediction record."""
        return {"indices": [int(i) for i in self.indices], "timestamps": [round(float(t), 3) for t in self.timestamps]}


def uniform_indices(num_frames: int, n: int, *, allow_repeats: bool = False) -> np.ndarray:
    """``n`` evenly spaced frame indices in ``[0, num_frames)``, first and last frame included.

    With ``n >= num_frames`` every frame is returned once, unless ``allow_repeats`` (then exactly ``n``
    indices, some repeated — for models that need a fixed frame count).

    Returns:
        ``(min(n, num_frames),)`` (or ``(n,)`` with ``allow_repeats``) int64, non-decreasing.
    """
    if num_frames <= 0:
        raise ValueError(f"num_frames must be > 0, got {num_frames}")
    if n <= 0:
        raise ValueError(f"n must be > 0, got {n}")
    if n >= num_frames and not allow_repeats:
        return np.arange(num_frames, dtype=np.int64)
    if n == 1:
        return np.array([(num_frames - 1) // 2], dtype=np.int64)
    return np.round(np.linspace(0, num_frames - 1, n)).astype(np.int64)


def fps_indices(
    num_frames: int,
    video_fps: float,
    target_fps: float,
    *,
    start_frame: int = 0,
    end_frame: int | None = None,
) -> np.ndarray:
    """Indices of one frame every ``1 / target_fps`` seconds within ``[start_frame, end_frame)``.

    The k-th sample is the frame on screen at ``start_time + k / target_fps``. At ``target_fps >=
    video_fps`` every frame is returned. A non-empty range always yields at least its first frame.

    Returns:
        ``(N,)`` int64, strictly increasing.
    """
    if video_fps <= 0 or target_fps <= 0:
        raise ValueError(f"fps must be > 0, got video_fps={video_fps}, target_fps={target_fps}")
    end_frame = num_frames if end_frame is None else min(end_frame, num_frames)
    if not 0 <= start_frame < end_frame:
        return np.empty(0, dtype=np.int64)
    if target_fps >= video_fps:
        return np.arange(start_frame, end_frame, dtype=np.int64)
    span = (end_frame - start_frame) / video_fps
    times = np.arange(0.0, span - 1e-9, 1.0 / target_fps)
    # +1e-6: a sample time that is exactly a frame start (in exact arithmetic) must select that frame.
    indices = start_frame + np.floor(times * video_fps + 1e-6).astype(np.int64)
    return np.unique(np.clip(indices, start_frame, end_frame - 1))


def timestamps_of(indices: np.ndarray, video_fps: float) -> np.ndarray:
    """Presentation times (seconds) of constant-frame-rate frames: ``indices / video_fps``."""
    return np.asarray(indices, dtype=np.float64) / video_fps


def sample_uniform(metadata: VideoMetadata, n: int) -> SampledFrames:
    """``n`` evenly spaced frames of a video (see :func:`uniform_indices`)."""
    indices = uniform_indices(metadata.num_frames, n)
    return SampledFrames(indices, timestamps_of(indices, metadata.fps))


def sample_fps(metadata: VideoMetadata, target_fps: float) -> SampledFrames:
    """One frame every ``1 / target_fps`` seconds of a video (see :func:`fps_indices`)."""
    indices = fps_indices(metadata.num_frames, metadata.fps, target_fps)
    return SampledFrames(indices, timestamps_of(indices, metadata.fps))
