"""The one frame rule of a prediction run, the same for every backend.

``--frames`` takes:

* ``uniform:N`` — N frames evenly over the whole video (first and last included);
* ``fps:X`` (or ``fps:X:N``) — one frame every 1/X seconds, thinned evenly to at most N (default
  :data:`MAX_FRAMES`);
* ``shots`` (or ``shots:N``) — the middle frame of each detected shot, at most N (default 16);
* ``selector:PATH`` — the core frames a saved VideoEspresso frame selector picks for the question.

Frames are decoded with our PyAV reader (:class:`videoespresso_hf.video.VideoReader`), never by a
model's processor, so every backend sees the same pixels at the same timestamps.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoespresso_hf.errors import first_line
from videoespresso_hf.video import VideoReader, detect_shots, fps_indices, timestamps_of, uniform_indices

__all__ = ["MAX_FRAMES", "FrameRule", "FrameSampler", "PixelBounds", "SampledFrames", "fit_pixels", "parse_frame_rule"]

MAX_FRAMES = 128  # the authors' cap (eval/close_ended.py)
DEFAULT_SHOTS = 16
_RULE = re.compile(r"^(uniform|fps|shots|selector)(?::(.+))?$")
_USAGE = "use uniform:N, fps:X[:N], shots[:N] or selector:PATH"


@dataclass(frozen=True)
class FrameRule:
    """A parsed ``--frames`` value; ``spec`` is its canonical text (recorded in the sidecar)."""

    kind: str
    count: int | None = None  # uniform, shots
    rate: float | None = None  # fps
    selector: str | None = None  # selector path or Hub id
    max_frames: int = MAX_FRAMES  # fps: the cap

    @property
    def spec(self) -> str:
        value = {"uniform": self.count, "shots": self.count, "fps": self.rate, "selector": self.selector}[self.kind]
        cap = f":{self.max_frames}" if self.kind == "fps" and self.max_frames != MAX_FRAMES else ""
        return f"{self.kind}:{value}{cap}"


def parse_frame_rule(text: str) -> FrameRule:
    """``"uniform:16"`` → :class:`FrameRule`. Raises ``ValueError`` with a one-line message naming the fix."""
    match = _RULE.match(text.strip())
    usage = _USAGE
    if not match:
        raise ValueError(f"--frames {text!r}: {usage}")
    kind, value = match.groups()
    if kind == "selector":
        if not value:
            raise ValueError(f"--frames {text!r}: selector needs a path or Hub id (selector:PATH)")
        return FrameRule(kind, selector=value)
    if kind == "shots" and value is None:
        return FrameRule(kind, count=DEFAULT_SHOTS)
    if kind == "fps" and value is not None and value.count(":") == 1:
        value, cap_text = value.split(":")
        cap = int(cap_text) if cap_text.isdigit() else 0
        if not 1 <= cap <= MAX_FRAMES:
            raise ValueError(f"--frames {text!r}: the frame cap N of fps:X:N must be a whole number from 1 to {MAX_FRAMES}")
        return FrameRule(kind, rate=parse_frame_rule(f"fps:{value}").rate, max_frames=cap)
    try:
        number = float(value) if kind == "fps" else int(value)
    except (TypeError, ValueError):
        number = 0
    if not number > 0:
        raise ValueError(f"--frames {text!r}: {kind} needs a positive {'number' if kind == 'fps' else 'whole number'}; {usage}")
    return FrameRule(kind, rate=number) if kind == "fps" else FrameRule(kind, count=min(int(number), MAX_FRAMES))


@dataclass
class SampledFrames:
    """Decoded frames of one video and where they come from (source indices and seconds)."""

    frames: np.ndarray  # (N, H, W, 3) uint8 RGB
    indices: list[int]
    timestamps: list[float]
    fps: float
    num_frames: int

    def metadata(self) -> dict:
        """What transformers' video processors expect as ``video_metadata`` (timestamps reach the model)."""
        return {"total_num_frames": self.num_frames, "fps": self.fps, "frames_indices": self.indices}

    def summary(self) -> dict:
        """The part written into a prediction record."""
        return {"indices": self.indices, "timestamps": [round(t, 3) for t in self.timestamps]}


@dataclass(frozen=True)
class PixelBounds:
    """Per-frame pixel bounds (``min_pixels`` / ``max_pixels`` of Qwen-style processors): frames are resized, keeping
    their aspect ratio, so that height x width lies within the bounds, each side a multiple of ``factor``."""

    min_pixels: int | None = None
    max_pixels: int | None = None
    factor: int = 28  # Qwen2.5-VL: 14-pixel patches merged 2x2

    def describe(self) -> dict:
        return {"min_pixels": self.min_pixels, "max_pixels": self.max_pixels, "factor": self.factor}


def fit_pixels(height: int, width: int, bounds: PixelBounds) -> tuple[int, int]:
    """The (height, width) a frame is resized to under ``bounds`` (Qwen's ``smart_resize`` rule)."""
    factor = bounds.factor
    new_h = max(factor, round(height / factor) * factor)
    new_w = max(factor, round(width / factor) * factor)
    if bounds.max_pixels is not None and new_h * new_w > bounds.max_pixels:
        beta = math.sqrt(height * width / bounds.max_pixels)
        new_h = max(factor, math.floor(height / beta / factor) * factor)
        new_w = max(factor, math.floor(width / beta / factor) * factor)
    elif bounds.min_pixels is not None and new_h * new_w < bounds.min_pixels:
        beta = math.sqrt(bounds.min_pixels / (height * width))
        new_h = math.ceil(height * beta / factor) * factor
        new_w = math.ceil(width * beta / factor) * factor
    return new_h, new_w


def _resize(frames: np.ndarray, bounds: PixelBounds) -> np.ndarray:
    from PIL import Image

    height, width = frames.shape[1:3]
    new_h, new_w = fit_pixels(height, width, bounds)
    if (new_h, new_w) == (height, width):
        return frames
    resized = [np.asarray(Image.fromarray(frame).resize((new_w, new_h), Image.BICUBIC)) for frame in frames]
    return np.stack(resized)


def _thin(indices: np.ndarray, limit: int) -> np.ndarray:
    return indices if len(indices) <= limit else indices[uniform_indices(len(indices), limit)]


class FrameSampler:
    """Applies a :class:`FrameRule` to video files (the selector, if any, is loaded once, on first use)."""

    def __init__(self, rule: FrameRule, *, device_map: str | None = None, pixel_bounds: PixelBounds | None = None) -> None:
        self.rule = rule
        self.device_map = device_map
        self.pixel_bounds = pixel_bounds
        self._selector_qa = None

    def load(self) -> FrameSampler:
        """Load the selector now (if the rule has one), so a bad checkpoint fails before any item runs."""
        if self.rule.kind == "selector" and self._selector_qa is None:
            self._selector_qa = self._load_selector(self.rule.selector, self.device_map)
        return self

    @staticmethod
    def _load_selector(selector: str, device_map: str | None):
        from videoespresso_hf.models.hybrid import HybridVideoQA, load_selector

        if selector.startswith(("/", ".", "~")) and not Path(selector).expanduser().is_dir():
            raise ValueError(f"--frames selector:{selector}: no such checkpoint folder")
        try:  # the loader `answer`, `select` and the hybrid use: a checkpoint that is no selector is refused here
            model, processor = load_selector(selector, {"device_map": device_map}, {})
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot load the frame selector {selector}: {first_line(error)}") from None
        return HybridVideoQA(None, None, model, processor, strategy="model")

    def indices(self, reader: VideoReader, path: str, question: str) -> np.ndarray:
        """Source frame indices the rule picks for this video (and question)."""
        meta = reader.metadata
        if self.rule.kind == "uniform":
            return uniform_indices(reader.num_frames, self.rule.count)
        if self.rule.kind == "fps":
            return _thin(fps_indices(reader.num_frames, meta.fps, self.rule.rate), self.rule.max_frames)
        if self.rule.kind == "shots":
            from videoespresso_hf.models.strategies import shot_selection

            selection = shot_selection(detect_shots(path), meta.fps, self.rule.count)
            return np.asarray(sorted(selection.indices), dtype=np.int64)
        selection = self.load()._selector_qa.select(path, question)
        return np.asarray(sorted(selection.indices), dtype=np.int64)

    def sample(self, path: str, question: str) -> SampledFrames:
        """Decode the frames of ``path`` the rule picks. Raises ``VideoError`` for a bad file."""
        with VideoReader(path) as reader:
            indices = self.indices(reader, path, question)
            frames = reader.get_frames(indices)
            if self.pixel_bounds is not None:
                frames = _resize(frames, self.pixel_bounds)
            fps = float(reader.metadata.fps)
            return SampledFrames(
                frames=frames,
                indices=[int(i) for i in indices],
                timestamps=timestamps_of(indices, fps).tolist(),
                fps=fps,
                num_frames=reader.num_frames,
            )
