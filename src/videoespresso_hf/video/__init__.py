"""One small API over video files: metadata, frame decoding, sampling, shot detection, adaptive sampling.

>>> from videoespresso_hf.video import probe, read_frames, uniform_indices, detect_shots, plan_adaptive_sampling
>>> meta = probe("clip.mp4")                                    # fps, num_frames, duration, width, height
>>> frames = read_frames("clip.mp4", uniform_indices(meta.num_frames, 16))   # (16, H, W, 3) uint8 RGB
>>> shots = detect_shots("clip.mp4")                            # [Shot(start_frame, end_frame, start_s, end_s)]
>>> plan = plan_adaptive_sampling("clip.mp4")                   # 1 fps static shots, 2-4 fps dynamic ones

Every failure caused by the file itself (missing, empty, corrupt, undecodable) raises :class:`VideoError`
(a ``ValueError``) with a one-line ``"<path>: <reason>"`` message. This package imports nothing from
``pipeline``, ``models`` or ``training``.
"""

from .adaptive import (
    AdaptiveSamplingConfig,
    SamplingPlan,
    ShotSampling,
    choose_fps,
    motion_score,
    plan_adaptive_sampling,
    plan_from_motion,
)
from .backends import available_backends
from .decode import DEFAULT_BACKEND, VideoReader, read_frames, read_frames_at
from .errors import FrameIndexError, VideoError
from .identity import VideoIdentity, video_identity
from .metadata import VideoMetadata, probe
from .sampling import SampledFrames, fps_indices, sample_fps, sample_uniform, timestamps_of, uniform_indices
from .shots import Shot, detect_shots

__all__ = [
    "DEFAULT_BACKEND",
    "AdaptiveSamplingConfig",
    "FrameIndexError",
    "SampledFrames",
    "SamplingPlan",
    "Shot",
    "ShotSampling",
    "VideoError",
    "VideoIdentity",
    "VideoMetadata",
    "VideoReader",
    "available_backends",
    "choose_fps",
    "detect_shots",
    "fps_indices",
    "motion_score",
    "plan_adaptive_sampling",
    "plan_from_motion",
    "probe",
    "read_frames",
    "read_frames_at",
    "sample_fps",
    "sample_uniform",
    "timestamps_of",
    "uniform_indices",
    "video_identity",
]
