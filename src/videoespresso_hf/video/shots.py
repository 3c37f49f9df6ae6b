"""Shot (scene) boundaries with PySceneDetect (the ``scenedetect-headless`` package).

``detect_shots`` returns contiguous, non-overlapping :class:`Shot`s that cover the whole video; a video
without cuts is one shot. Detectors (see PySceneDetect's docs):

* ``"adaptive"`` (default): ``AdaptiveDetector`` — compares each frame's content change with its
  neighbours', so steady camera motion or a moving texture does not count as a cut;
* ``"content"``: ``ContentDetector`` — a fixed threshold on the HSV content change;
* ``"histogram"``: ``HistogramDetector`` — YUV histogram difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import VideoError
from .metadata import probe

Detector = Literal["adaptive", "content", "histogram"]


@dataclass(frozen=True)
class Shot:
    """One shot: frames ``[start_frame, end_frame)``, seconds ``[start_s, end_s)``."""

    start_frame: int
    end_frame: int
    start_s: float
    end_s: float

    @property
    def num_frames(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def duration(self) -> float:
        return self.end_s - self.start_s


def make_detector(
    detector: Detector = "adaptive", *, threshold: float | None = None, min_shot_frames: int = 15
):
    """Build a PySceneDetect detector; ``threshold`` overrides the detector's own default."""
    import scenedetect

    if detector == "adaptive":
        kwargs = {} if threshold is None else {"adaptive_threshold": threshold}
        return scenedetect.AdaptiveDetector(min_scene_len=min_shot_frames, **kwargs)
    if detector == "content":
        kwargs = {} if threshold is None else {"threshold": threshold}
        return scenedetect.ContentDetector(min_scene_len=min_shot_frames, **kwargs)
    if detector == "histogram":
        kwargs = {} if threshold is None else {"threshold": threshold}
        return scenedetect.HistogramDetector(min_scene_len=min_shot_frames, **kwargs)
    raise ValueError(f"unknown shot detector {detector!r} (choose 'adaptive', 'content' or 'histogram')")


def detect_shots(
    path: str | Path,
    detector: Detector = "adaptive",
    *,
    threshold: float | None = None,
    min_shot_frames: int = 15,
    backend: Literal["opencv", "pyav"] = "opencv",
) -> list[Shot]:
    """Split a video into shots at its hard cuts.

    Args:
        path: video file.
        detector: ``"adaptive"``, ``"content"`` or ``"histogram"`` (see the module docstring).
        threshold: detector threshold; ``None`` keeps PySceneDetect's default.
        min_shot_frames: shortest allowed shot, in frames.
        backend: PySceneDetect's reader (``"opencv"`` is the faster one).

    Returns:
        Shots in time order; together they cover frames ``[0, num_frames)``.

    Raises:
        VideoError: the file is missing, empty or cannot be decoded.
    """
    import scenedetect

    metadata = probe(path)  # precise VideoError for missing / empty / corrupt files
    try:
        scenes = scenedetect.detect(
            str(path),
            make_detector(detector, threshold=threshold, min_shot_frames=min_shot_frames),
            start_in_scene=True,
            backend=backend,
        )
    except Exception as err:  # PySceneDetect raises several types (OSError, VideoOpenFailure, cv2.error, ...)
        raise VideoError(path, f"shot detection failed ({type(err).__name__}: {err})") from err
    fps = metadata.fps
    shots = []
    for start, end in scenes:
        start_frame, end_frame = int(start.frame_num), int(end.frame_num)
        if end_frame > start_frame:
            shots.append(Shot(start_frame, end_frame, start_frame / fps, end_frame / fps))
    declared = metadata.num_frames
    decoded = shots[-1].end_frame if shots else 0
    if decoded < declared - max(1, declared // 100):
        raise VideoError(
            path,
            f"truncated or damaged: the header lists {declared} frames but only {decoded} could be decoded",
        )
    return shots
