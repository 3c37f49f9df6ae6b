"""The one frame rule of a prediction run: which frames every backend's model sees, and at how many pixels.

``--frames`` takes:

* ``uniform:N`` — N frames evenly over the whole video (first and last included);
* ``fps:X`` (or ``fps:X:N``) — one frame every 1/X seconds, thinned evenly to at most N (default
  :data:`MAX_FRAMES`);
* ``shots`` (or ``shots:N``) — the middle frame of each detected shot, at most N (default 16);
* ``qwen-vl-utils:nframes=N`` or ``qwen-vl-utils:fps=X[,min_frames=N][,max_frames=N]`` — lmms-eval's Qwen frames
  (qwen-vl-utils' frame count and index formula), for the hf backend only;
* ``selector:PATH`` — the core frames a saved VideoEspresso frame selector picks for the question.

The frame cap is :data:`MAX_FRAMES` (128) for uniform, fps and shots; the qwen-vl-utils rule keeps that library's
own cap (768, :data:`~videoespresso_hf.frame_rules.QWEN_MAX_FRAMES`), see ``frame_rules.MAX_FRAMES``.

The hf and openai backends get the frames this module samples. The hybrid backend picks its core frames itself, by
the strategy of the same name (uniform, fps, shots, selector); it has no qwen-vl-utils strategy, so a preset's
qwen-vl-utils frames become ``uniform:N`` there (``predict`` says so) and ``--frames qwen-vl-utils:...`` is refused.
The rules, how their arguments parse and the functions that sample them are the one table
:data:`videoespresso_hf.frame_rules.FRAME_RULES`, shared with ``select``/``answer`` and the hybrid.
Frames are decoded with our PyAV reader (:class:`videoespresso_hf.video.VideoReader`), never by a
model's processor, so every backend that takes frames sees the same pixels at the same timestamps; with
:class:`PixelBounds` they are resized to sides that are multiples of the model's ``factor`` (patch size times
merge size), which ``predict`` takes from the loaded processor (see ``benchmarking.job._pixel_factor``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from videoespresso_hf.errors import first_line
from videoespresso_hf.frame_rules import MAX_FRAMES, FrameRule, parse_frame_rule
from videoespresso_hf.video import SampledFrames, VideoReader, detect_shots, timestamps_of, video_identity

if TYPE_CHECKING:
    from videoespresso_hf.models.strategies import FrameSelection

__all__ = ["MAX_FRAMES", "FrameRule", "FrameSampler", "PixelBounds", "SampledFrames", "fit_pixels", "parse_frame_rule"]


@dataclass(frozen=True)
class PixelBounds:
    """Per-frame pixel bounds (``min_pixels`` / ``max_pixels`` of Qwen-style processors): frames are resized, keeping
    their aspect ratio, so that height x width lies within the bounds, each side a multiple of ``factor``."""

    min_pixels: int | None = None
    max_pixels: int | None = None
    factor: int = 28  # Qwen2.5-VL's (14-pixel patches merged 2x2); predict sets the model's (job._pixel_factor)

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
    """Resize ``(T, H, W, 3)`` uint8 frames into ``bounds`` as qwen-vl-utils' ``fetch_video`` does (and transformers'
    Qwen video processors): torchvision bicubic with antialiasing on the uint8 frames, so that the pixels match
    lmms-eval's Qwen models exactly (PIL's bicubic differs by a few levels)."""
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as F

    height, width = frames.shape[1:3]
    new_h, new_w = fit_pixels(height, width, bounds)
    if (new_h, new_w) == (height, width):
        return frames
    video = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    resized = F.resize(video, [new_h, new_w], interpolation=InterpolationMode.BICUBIC, antialias=True)
    return resized.permute(0, 2, 3, 1).contiguous().numpy()


class FrameSampler:
    """Applies a :class:`FrameRule` to video files (the selector, if any, is loaded once, on first use)."""

    def __init__(self, rule: FrameRule, *, device_map: str | None = None, pixel_bounds: PixelBounds | None = None) -> None:
        self.rule = rule
        self.device_map = device_map
        self.pixel_bounds = pixel_bounds
        self._selector = None  # (model, processor)
        self._captions: dict[tuple[str, int], str] = {}  # (video content key, frame index) -> caption

    def load(self) -> FrameSampler:
        """Load the selector now (if the rule has one), so a bad checkpoint fails before any item runs."""
        if self.rule.row.needs_selector and self._selector is None:
            self._selector = self._load_selector(self.rule.selector, self.device_map)
        return self

    @staticmethod
    def _load_selector(selector: str, device_map: str | None):
        from videoespresso_hf.models.hybrid import load_selector

        if selector.startswith(("/", ".", "~")) and not Path(selector).expanduser().is_dir():
            raise ValueError(f"--frames selector:{selector}: no such checkpoint folder")
        try:  # the loader `answer`, `select` and the hybrid use: a checkpoint that is no selector is refused here
            return load_selector(selector, {"device_map": device_map}, {})
        except (OSError, ValueError) as error:
            raise ValueError(f"cannot load the frame selector {selector}: {first_line(error)}") from None

    def _selector_pick(self, reader: VideoReader, path: str, question: str) -> FrameSelection:
        """The selector's core frames: captions of its candidates (cached per video content, since they do not
        depend on the question), then its chooser."""
        from videoespresso_hf.models.strategies import candidate_indices, model_selection

        model, processor = self.load()._selector
        config, fps = model.config, float(reader.metadata.fps)
        candidates = candidate_indices(reader.num_frames, fps, config.candidate_fps, config.max_candidates)
        key = video_identity(path).content_key
        missing = [index for index in candidates if (key, index) not in self._captions]
        if missing:
            for index, caption in zip(missing, model.caption_frames(processor, reader.get_frames(missing)), strict=True):
                self._captions[(key, index)] = caption
        captions = [self._captions[(key, index)] for index in candidates]
        timestamps = [index / fps for index in candidates]
        return model_selection(model, processor, question, captions, candidates, timestamps, config.max_core_frames)

    def indices(self, reader: VideoReader, path: str, question: str) -> np.ndarray:
        """Source frame indices the rule picks for this video (and question), by the rule's strategy function."""
        from videoespresso_hf.models.strategies import (
            fps_selection,
            qwen_vl_utils_selection,
            shot_selection,
            uniform_selection,
        )

        fps = float(reader.metadata.fps)
        if self.rule.strategy == "uniform":
            selection = uniform_selection(reader.num_frames, fps, self.rule.count)
        elif self.rule.strategy == "fps":
            selection = fps_selection(reader.num_frames, fps, self.rule.rate, self.rule.max_frames)
        elif self.rule.strategy == "shots":
            selection = shot_selection(detect_shots(path), fps, self.rule.count)
        elif self.rule.strategy == "qwen_vl_utils":
            qwen = {"nframes": self.rule.count} if self.rule.count is not None else {
                "fps": self.rule.rate, "min_frames": self.rule.min_frames, "max_frames": self.rule.max_frames}
            selection = qwen_vl_utils_selection(reader.num_frames, fps, **qwen)
        else:
            selection = self._selector_pick(reader, path, question)
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
                indices=indices,
                timestamps=timestamps_of(indices, fps),
                frames=frames,
                fps=fps,
                num_frames=reader.num_frames,
            )
