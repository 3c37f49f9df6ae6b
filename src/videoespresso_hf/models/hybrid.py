"""Hybrid inference (paper §4.4): video → core frames (selector) → evidence → answer (reasoner).

>>> qa = HybridVideoQA.from_pretrained("path/or/id/of/reasoner", selector="path/or/id/of/selector")
>>> result = qa.answer("clip.mp4", "Why does the man open the door?", options=["...", "..."])
>>> result.evidence, result.answer, result.letter, result.selection.timestamps

Each video is opened once: candidate frames are sampled at ``candidate_fps`` (the selector config's,
paper eq. 4), decoded, captioned and scored (captions are shared by all questions on that video); the
few chosen frames are then read again for the reasoner, with their true indices and timestamps (so
Qwen's temporal positions and Qwen3-VL's timestamp tokens stay right). Candidate frames are not kept,
so memory does not grow with the number of videos in a batch.
Training-free strategies (``uniform``, ``fps``, ``shots``, ``embedding``) replace the model selector
behind the same call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from videoespresso_hf.models.frame_selector.modeling_frame_selector import FrameSelection
from videoespresso_hf.models.strategies import (
    DEFAULT_EMBEDDER,
    STRATEGIES,
    fps_selection,
    image_text_selection,
    shot_selection,
    thin_evenly,
    uniform_selection,
)
from videoespresso_hf.video import VideoReader, detect_shots, fps_indices

__all__ = ["HybridAnswer", "HybridVideoQA", "VideoInput", "answer_video"]

VideoInput = str | Path | np.ndarray
DEFAULT_MAX_FRAMES = 3
DEFAULT_CANDIDATE_FPS = 1.0
DEFAULT_MAX_CANDIDATES = 64


@dataclass
class HybridAnswer:
    """Result for one (video, question).

    Attributes:
        question: the question.
        evidence: the reasoner's stage-1 output.
        answer: the reasoner's stage-2 output.
        letter: the option letter for multiple choice (``None`` if open-ended or not found).
        selection: the frames the reasoner saw (indices/timestamps in the source video).
    """

    question: str
    evidence: str
    answer: str
    letter: str | None
    selection: FrameSelection

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "evidence": self.evidence,
            "answer": self.answer,
            "letter": self.letter,
            "frames": {
                "strategy": self.selection.strategy,
                "indices": self.selection.indices,
                "timestamps": [round(value, 3) for value in self.selection.timestamps],
                "scores": self.selection.scores,
                "captions": self.selection.captions,
            },
        }


@dataclass
class _Clip:
    """A decoded source: all needed frames come from ``frame_at``."""

    num_frames: int
    fps: float
    reader: VideoReader | None = None
    frames: np.ndarray | None = None  # (N, H, W, 3) when the caller passed frames
    path: str | None = None

    def frames_at(self, indices: Sequence[int]) -> np.ndarray:
        if self.frames is not None:
            return self.frames[list(indices)]
        return self.reader.get_frames(list(indices))


class HybridVideoQA:
    """Selector (or a training-free strategy) + two-stage reasoner, batched.

    Args:
        reasoner / reasoner_processor: a VideoEspresso reasoner and its processor.
        selector / selector_processor: a :class:`VexFrameSelectorModel` and its processor; needed by the
            ``model`` strategy only.
        strategy: ``"model"`` (default), ``"uniform"``, ``"fps"``, ``"shots"`` or ``"embedding"``.
        max_frames: frames handed to the reasoner at most (default: the selector config's, else 3).
        candidate_fps / max_candidates: candidate sampling for ``model``/``embedding`` and the ``fps``
            strategy's rate (default: the selector config's, else 1 fps and 64).
        embedder: the ``embedding`` strategy's image-text model (default: ``load_image_text_embedder(DEFAULT_EMBEDDER)``).
    """

    def __init__(
        self,
        reasoner,
        reasoner_processor,
        selector=None,
        selector_processor=None,
        *,
        strategy: str = "model",
        max_frames: int | None = None,
        candidate_fps: float | None = None,
        max_candidates: int | None = None,
        embedder=None,
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if strategy == "model" and (selector is None or selector_processor is None):
            raise ValueError(f"strategy {strategy!r} needs a selector and its processor")
        selector_config = selector.config if selector is not None else None
        self.reasoner = reasoner
        self.reasoner_processor = reasoner_processor
        self.selector = selector
        self.selector_processor = selector_processor
        self.strategy = strategy
        self.max_frames = max_frames or (
            selector_config.max_frames if selector_config else DEFAULT_MAX_FRAMES
        )
        self.candidate_fps = candidate_fps or (
            selector_config.candidate_fps if selector_config else DEFAULT_CANDIDATE_FPS
        )
        self.max_candidates = max_candidates or (
            selector_config.max_candidates if selector_config else DEFAULT_MAX_CANDIDATES
        )
        self._embedder = embedder

    @classmethod
    def from_pretrained(
        cls,
        reasoner: str | Path,
        selector: str | Path | None = None,
        *,
        strategy: str = "model",
        dtype="auto",
        device_map=None,
        attn_implementation: str | None = None,
        trust_remote_code: bool = False,
        **kwargs,
    ) -> HybridVideoQA:
        """Load reasoner (and selector) checkpoints by path or Hub id.

        ``dtype``, ``device_map`` (e.g. ``"auto"`` through accelerate) and ``attn_implementation``
        (``"sdpa"``, ``"flash_attention_2"``) are passed to both ``from_pretrained`` calls; other
        ``kwargs`` go to :class:`HybridVideoQA`.
        """
        from transformers import AutoModel, AutoProcessor

        import videoespresso_hf.models.registration as registration

        registration.ensure_registered()
        load = {"dtype": dtype, "device_map": device_map, "trust_remote_code": trust_remote_code}
        if attn_implementation:
            load["attn_implementation"] = attn_implementation
        reasoner_model = _load_reasoner(reasoner, load).eval()
        reasoner_processor = AutoProcessor.from_pretrained(reasoner, trust_remote_code=trust_remote_code)
        selector_model = selector_processor = None
        if selector is not None and strategy == "model":
            selector_model = AutoModel.from_pretrained(selector, **load).eval()
            selector_processor = AutoProcessor.from_pretrained(selector, trust_remote_code=trust_remote_code)
        return cls(
            reasoner_model,
            reasoner_processor,
            selector_model,
            selector_processor,
            strategy=strategy,
            **kwargs,
        )

    # ------------------------------------------------------------------ selection
    def _open(self, video: VideoInput, fps: float | None) -> _Clip:
        if isinstance(video, (str, Path)):
            reader = VideoReader(video)
            return _Clip(reader.num_frames, reader.metadata.fps, reader=reader, path=str(video))
        frames = np.asarray(video)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"decoded frames must have shape (frames, height, width, 3), got {frames.shape}")
        return _Clip(len(frames), float(fps or self.candidate_fps), frames=frames)

    def _candidates(self, clip: _Clip) -> list[int]:
        candidates = fps_indices(clip.num_frames, clip.fps, self.candidate_fps).tolist()
        return thin_evenly(candidates, self.max_candidates)

    def _embedder_fn(self):
        if self._embedder is None:
            from videoespresso_hf.embeddings import load_image_text_embedder

            self._embedder = load_image_text_embedder(DEFAULT_EMBEDDER)
        return self._embedder

    def _select(self, clip: _Clip, question: str, caption_cache: dict) -> FrameSelection:
        if self.strategy == "uniform":
            return uniform_selection(clip.num_frames, clip.fps, self.max_frames)
        if self.strategy == "fps":
            return fps_selection(clip.num_frames, clip.fps, self.candidate_fps, self.max_frames)
        if self.strategy == "shots":
            if clip.path is None:
                raise ValueError("the 'shots' strategy needs a video file, not decoded frames")
            return shot_selection(detect_shots(clip.path), clip.fps, self.max_frames)
        candidates = self._candidates(clip)
        timestamps = [index / clip.fps for index in candidates]
        if self.strategy == "embedding":
            frames = clip.frames_at(candidates)
            return image_text_selection(question, frames, candidates, timestamps, self.max_frames, self._embedder_fn())
        if "captions" not in caption_cache:  # several questions on one video share the captions
            caption_cache["captions"] = self.selector.caption_frames(
                self.selector_processor, clip.frames_at(candidates)
            )
        captions = caption_cache["captions"]
        return self.selector.select(
            self.selector_processor,
            None,
            question,
            frame_indices=candidates,
            timestamps=timestamps,
            max_frames=self.max_frames,
            captions=captions,
        )

    def select(self, video: VideoInput, question: str, fps: float | None = None) -> FrameSelection:
        """The frames the reasoner would see for this question (``fps``: of decoded frames, if given)."""
        clip = self._open(video, fps)
        try:
            return self._select(clip, question, {})
        finally:
            if clip.reader is not None:
                clip.reader.close()

    # ------------------------------------------------------------------ answering
    def answer(
        self,
        video: VideoInput,
        question: str,
        options: Sequence[str] | None = None,
        fps: float | None = None,
        **generate_kwargs,
    ) -> HybridAnswer:
        """Evidence and answer for one video (path, or decoded frames ``(N, H, W, 3)`` at ``fps``)."""
        return self.answer_batch([video], [question], [options], fps=fps, **generate_kwargs)[0]

    def answer_batch(
        self,
        videos: Sequence[VideoInput],
        questions: Sequence[str],
        options: Sequence[Sequence[str] | None] | None = None,
        *,
        fps: float | None = None,
        batch_size: int = 4,
        **generate_kwargs,
    ) -> list[HybridAnswer]:
        """Answer many (video, question[, options]); the reasoner runs ``batch_size`` questions at once.

        The same video may appear several times (its captions are computed once).
        """
        if len(videos) != len(questions):
            raise ValueError(f"got {len(videos)} videos for {len(questions)} questions")
        options = list(options) if options is not None else [None] * len(questions)
        clips: dict[int | str, _Clip] = {}
        caches: dict[int | str, dict] = {}
        prepared = []
        try:
            for position, (video, question) in enumerate(zip(videos, questions, strict=False)):
                key = str(video) if isinstance(video, (str, Path)) else position
                if key not in clips:
                    clips[key] = self._open(video, fps)
                    caches[key] = {}
                clip = clips[key]
                selection = self._select(clip, question, caches[key])
                metadata = {
                    "total_num_frames": clip.num_frames,
                    "fps": clip.fps,
                    "frames_indices": selection.indices,
                }
                prepared.append((clip.frames_at(selection.indices), metadata, selection))
        finally:
            for clip in clips.values():
                if clip.reader is not None:
                    clip.reader.close()

        results: list[HybridAnswer] = []
        for start in range(0, len(prepared), batch_size):
            chunk = prepared[start : start + batch_size]
            outputs = self.reasoner.generate_two_stage(
                self.reasoner_processor,
                [frames for frames, _, _ in chunk],
                list(questions[start : start + batch_size]),
                options[start : start + batch_size],
                video_metadata=[metadata for _, metadata, _ in chunk],
                **generate_kwargs,
            )
            for output, (_, _, selection), question in zip(
                outputs, chunk, questions[start : start + batch_size], strict=False
            ):
                results.append(
                    HybridAnswer(question, output.evidence, output.answer, output.letter, selection)
                )
        return results


def _load_reasoner(reasoner: str | Path, load: dict):
    """A VideoEspresso reasoner checkpoint, or a base Qwen VLM (the CLI default ``Qwen/Qwen2.5-VL-7B-Instruct``)
    loaded into the matching VideoEspresso class: same weights, two-stage prompts from the config defaults."""
    from transformers import AutoConfig, AutoModelForImageTextToText

    from videoespresso_hf.models.reasoner.modeling_reasoner import (
        VexQwen2_5_VLReasonerForConditionalGeneration,
        VexQwen3VLReasonerForConditionalGeneration,
    )

    config = AutoConfig.from_pretrained(reasoner, trust_remote_code=load["trust_remote_code"])
    model_class = {
        "qwen2_5_vl": VexQwen2_5_VLReasonerForConditionalGeneration,
        "qwen3_vl": VexQwen3VLReasonerForConditionalGeneration,
    }.get(config.model_type)
    if model_class is None:
        return AutoModelForImageTextToText.from_pretrained(reasoner, **load)
    fields = {**config.to_dict(), "model_type": model_class.config_class.model_type, "base_model_id": str(reasoner)}
    return model_class.from_pretrained(reasoner, config=model_class.config_class.from_dict(fields), **load)


def answer_video(
    video: VideoInput,
    question: str,
    options: Sequence[str] | None = None,
    *,
    reasoner: str | Path,
    selector: str | Path | None = None,
    strategy: str = "model",
    **kwargs,
) -> HybridAnswer:
    """One-shot convenience: load the checkpoints and answer one question (see :class:`HybridVideoQA`)."""
    return HybridVideoQA.from_pretrained(reasoner, selector, strategy=strategy, **kwargs).answer(
        video, question, options
    )
