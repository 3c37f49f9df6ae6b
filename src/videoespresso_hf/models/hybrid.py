"""Hybrid inference (paper §4.4): video → core frames (selector) → evidence → answer (reasoner).

>>> qa = HybridVideoQA.from_pretrained("path/or/id/of/reasoner", selector="path/or/id/of/selector")
>>> result = qa.answer("clip.mp4", "Why does the man open the door?", options=["...", "..."])
>>> result.evidence, result.answer, result.letter, result.selection.timestamps

Each video is opened once: candidate frames are sampled at ``candidate_fps`` (the selector config's,
paper eq. 4), decoded, captioned and scored (captions are cached by video content and frame index, so all
questions on that video share them); the
few chosen frames are then read again for the reasoner, with their true indices and timestamps (so
Qwen's temporal positions and Qwen3-VL's timestamp tokens stay right). Candidate frames are not kept,
so memory does not grow with the number of videos in a batch.
Training-free strategies (``uniform``, ``fps``, ``shots``, ``embedding``, ``image_text``) replace the model
selector behind the same call. The selection half alone (no reasoner) is :class:`CoreFramePicker`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from videoespresso_hf.models.frame_selector.modeling_frame_selector import FrameSelection
from videoespresso_hf.models.reasoner.backbones import ReasonerBackbone, backbone_for, supported_families
from videoespresso_hf.models.strategies import (
    DEFAULT_EMBEDDER,
    FRAME_RULES,
    STRATEGIES,
    candidate_indices,
    embedding_selection,
    fps_selection,
    image_text_selection,
    model_selection,
    shot_selection,
    uniform_selection,
)
from videoespresso_hf.video import VideoReader, detect_shots, video_identity

if TYPE_CHECKING:
    from transformers import PreTrainedModel, ProcessorMixin

    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor

__all__ = [
    "ADAPTER_CONFIG_OVERRIDES",
    "CoreFramePicker",
    "HybridAnswer",
    "HybridVideoQA",
    "VideoInput",
    "adapter_base_model",
    "answer_video",
    "check_selector",
    "load_reasoner",
    "load_selector",
    "reasoner_backbone",
]

VideoInput = str | Path | np.ndarray
DEFAULT_MAX_CORE_FRAMES = 3
DEFAULT_CANDIDATE_FPS = 1.0
DEFAULT_MAX_CANDIDATES = 64
# Beside a LoRA adapter (which has no config.json of its own): reasoner config fields the adapter was trained
# for, e.g. {"reasoning_mode": "one_pass", "frame_presentation": "video"} for an RL adapter (its one-pass mode and
# the way GRPO showed it the frames); load_reasoner applies them to the base's config.
ADAPTER_CONFIG_OVERRIDES = "reasoner_config_overrides.json"


@dataclass
class HybridAnswer:
    """Result for one (video, question).

    Attributes:
        question: the question.
        evidence: the reasoner's stage-1 output.
        answer: the reasoner's stage-2 output.
        letter: the option letter for multiple choice, read from ``answer`` by the scorer's robust rules
            (:mod:`videoespresso_hf.answer_letters`); ``None`` if open-ended, unanswered or ambiguous.
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

    @functools.cached_property
    def content_hash(self) -> str:
        """The same video under any name or path: the project's content key of the file
        (:func:`~videoespresso_hf.video.video_identity`, which training's caption cache uses too), or the
        SHA-256 of the decoded frames."""
        if self.frames is not None:
            digest = hashlib.sha256(repr(self.frames.shape).encode())
            digest.update(np.ascontiguousarray(self.frames).data)
            return digest.hexdigest()
        return video_identity(self.path).content_key


def _check_strategy(strategy: str) -> None:
    """THE strategy check of the picker and the hybrid: one of :data:`STRATEGIES` (not every row of
    :data:`FRAME_RULES`: ``qwen_vl_utils`` is predict's ``--frames`` rule only)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")


class CoreFramePicker:
    """The core frames of a video for a question, by one frame rule (the selector or a training-free strategy):
    the selection half of :class:`HybridVideoQA`, usable alone (``videoespresso select``) without a reasoner.

    Args:
        selector / selector_processor: a :class:`VexFrameSelectorModel` and its processor; needed by the
            ``model`` and ``embedding`` strategies (the latter uses only its captioner).
        strategy: ``"model"`` (default), ``"uniform"``, ``"fps"``, ``"shots"``, ``"embedding"`` or ``"image_text"``.
        max_core_frames: frames picked at most (default: the selector config's, else 3).
        candidate_fps / max_candidates: candidate sampling for ``model``/``embedding``/``image_text`` and the ``fps``
            strategy's rate (default: the selector config's, else 1 fps and 64).
        embedder: texts → embeddings for the ``embedding`` strategy (default: ``load_text_embedder(DEFAULT_EMBEDDER)``).
        caption_cache: ``{(video content hash, frame index): caption}`` of this selector's captioner (default: a
            new dict). Captions are the selector's main cost and do not depend on the question, so every later
            question on the same video (any call, any file name) only runs the chooser; pass a persistent
            mapping to keep them across processes.
        image_text_scorer: an :class:`~videoespresso_hf.models.image_text.ImageTextScorer` for the ``image_text``
            strategy (frames scored against the question without captions; frame embeddings cached likewise).
    """

    def __init__(
        self,
        selector=None,
        selector_processor=None,
        *,
        strategy: str = "model",
        max_core_frames: int | None = None,
        candidate_fps: float | None = None,
        max_candidates: int | None = None,
        embedder=None,
        caption_cache: MutableMapping[tuple[str, int], str] | None = None,
        image_text_scorer=None,
    ):
        _check_strategy(strategy)
        needs = FRAME_RULES[strategy]
        if needs.needs_selector and (selector is None or selector_processor is None):
            raise ValueError(f"strategy {strategy!r} needs a selector and its processor")
        if needs.needs_image_text and image_text_scorer is None:
            raise ValueError("strategy 'image_text' needs image_text_scorer (ImageTextScorer.from_pretrained())")
        selector_config = selector.config if selector is not None else None
        self.selector = selector
        self.selector_processor = selector_processor
        self.strategy = strategy
        self.max_core_frames = max_core_frames or (
            selector_config.max_core_frames if selector_config else DEFAULT_MAX_CORE_FRAMES
        )
        self.candidate_fps = candidate_fps or (
            selector_config.candidate_fps if selector_config else DEFAULT_CANDIDATE_FPS
        )
        self.max_candidates = max_candidates or (
            selector_config.max_candidates if selector_config else DEFAULT_MAX_CANDIDATES
        )
        self._embedder = embedder
        self.caption_cache = {} if caption_cache is None else caption_cache
        self.image_text_scorer = image_text_scorer
        self.frame_embedding_cache: dict[tuple[str, int], np.ndarray] = {}  # same keys, for image_text

    def _open(self, video: VideoInput, fps: float | None) -> _Clip:
        if isinstance(video, (str, Path)):
            reader = VideoReader(video)
            return _Clip(reader.num_frames, reader.metadata.fps, reader=reader, path=str(video))
        frames = np.asarray(video)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"decoded frames must have shape (frames, height, width, 3), got {frames.shape}")
        return _Clip(len(frames), float(fps or self.candidate_fps), frames=frames)

    def _candidates(self, clip: _Clip) -> list[int]:
        return candidate_indices(clip.num_frames, clip.fps, self.candidate_fps, self.max_candidates)

    def _embedder_fn(self):
        if self._embedder is None:
            from videoespresso_hf.embeddings import load_text_embedder

            self._embedder = load_text_embedder(DEFAULT_EMBEDDER)
        return self._embedder

    @staticmethod
    def _per_frame(cache: MutableMapping, clip: _Clip, candidates: list[int], compute) -> list:
        """``cache[(clip.content_hash, index)]`` of every candidate; ``compute(frames)`` runs on the decoded
        frames of the missing ones only (captions and frame embeddings do not depend on the question)."""
        missing = [index for index in candidates if (clip.content_hash, index) not in cache]
        if missing:
            for index, value in zip(missing, compute(clip.frames_at(missing)), strict=True):
                cache[(clip.content_hash, index)] = value
        return [cache[(clip.content_hash, index)] for index in candidates]

    def _select(self, clip: _Clip, question: str) -> FrameSelection:
        if self.strategy == "uniform":
            return uniform_selection(clip.num_frames, clip.fps, self.max_core_frames)
        if self.strategy == "fps":
            return fps_selection(clip.num_frames, clip.fps, self.candidate_fps, self.max_core_frames)
        if self.strategy == "shots":
            if clip.path is None:
                raise ValueError("the 'shots' strategy needs a video file, not decoded frames")
            return shot_selection(detect_shots(clip.path), clip.fps, self.max_core_frames)
        candidates = self._candidates(clip)
        timestamps = [index / clip.fps for index in candidates]
        if self.strategy == "image_text":
            frame_vectors = np.stack(
                self._per_frame(self.frame_embedding_cache, clip, candidates, self.image_text_scorer.embed_frames)
            )
            return image_text_selection(
                self.image_text_scorer.embed_text(question), frame_vectors, candidates, timestamps, self.max_core_frames
            )
        captions = self._per_frame(
            self.caption_cache, clip, candidates,
            lambda frames: self.selector.caption_frames(self.selector_processor, frames),
        )  # fmt: skip
        if self.strategy == "embedding":
            return embedding_selection(
                question, captions, candidates, timestamps, self.max_core_frames, self._embedder_fn()
            )
        return model_selection(
            self.selector, self.selector_processor, question, captions, candidates, timestamps, self.max_core_frames
        )

    def select(self, video: VideoInput, question: str, fps: float | None = None) -> FrameSelection:
        """The core frames of ``video`` (a path, or decoded frames at ``fps``) for this question: what a reasoner sees."""
        clip = self._open(video, fps)
        try:
            return self._select(clip, question)
        finally:
            if clip.reader is not None:
                clip.reader.close()


class HybridVideoQA(CoreFramePicker):
    """Selector (or a training-free strategy) + two-stage reasoner, batched: a :class:`CoreFramePicker` whose
    picks a reasoner answers from.

    Args:
        reasoner / reasoner_processor: a VideoEspresso reasoner and its processor (required: for the frames
            alone, use :class:`CoreFramePicker`).
        selector, selector_processor and the keyword arguments: the frame rule, as for :class:`CoreFramePicker`.
    """

    def __init__(
        self,
        reasoner: PreTrainedModel,
        reasoner_processor: ProcessorMixin,
        selector: VexFrameSelectorModel | None = None,
        selector_processor: VexFrameSelectorProcessor | None = None,
        **picker_kwargs: Any,
    ) -> None:
        if reasoner is None or reasoner_processor is None:
            raise ValueError("HybridVideoQA needs a reasoner and its processor; for the frames alone use CoreFramePicker")
        super().__init__(selector, selector_processor, **picker_kwargs)
        self.reasoner = reasoner
        self.reasoner_processor = reasoner_processor

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
        revision: str | None = None,
        token: str | bool | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool = False,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        **kwargs,
    ) -> HybridVideoQA:
        """Load reasoner (and selector) checkpoints by path or Hub id.

        ``reasoner`` is a VideoEspresso reasoner or a stock checkpoint of a supported family (see
        :mod:`~videoespresso_hf.models.reasoner.backbones`); anything else is refused before weights load.
        ``dtype``, ``device_map`` (e.g. ``"auto"`` through accelerate) and ``attn_implementation``
        (``"sdpa"``, ``"flash_attention_2"``) go to both models' ``from_pretrained``; the Hub arguments
        (``revision``, ``token``, ``cache_dir``, ``local_files_only``) to every model and processor load.
        ``reasoner`` may also be a LoRA adapter saved by training (see :func:`load_reasoner`): it loads on its
        base model with the frame pixel bounds it was trained with (and an RL adapter with the config fields of its
        ``reasoner_config_overrides.json``: its one-pass ``reasoning_mode`` and its ``frame_presentation``).
        ``min_pixels`` / ``max_pixels`` set the reasoner's per-frame pixel bounds instead of the checkpoint's (or
        the adapter's). ``strategy`` is checked first (one of :data:`STRATEGIES`), before anything loads.
        Other ``kwargs`` go to :class:`HybridVideoQA`.
        """
        _check_strategy(strategy)
        hub = {
            "revision": revision,
            "token": token,
            "cache_dir": cache_dir,
            "local_files_only": local_files_only,
            "trust_remote_code": trust_remote_code,
        }
        load = {"dtype": dtype, "device_map": device_map, **hub}
        if attn_implementation:
            load["attn_implementation"] = attn_implementation
        use_selector = selector is not None and FRAME_RULES[strategy].needs_selector
        if use_selector:  # both configs are checked before either model's weights load
            check_selector(selector, hub)
        bounds = {name: value for name, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels))
                  if value is not None}  # fmt: skip
        reasoner_model, reasoner_processor = load_reasoner(reasoner, {**load, **bounds}, hub)
        selector_model = selector_processor = None
        if use_selector:
            selector_model, selector_processor = load_selector(selector, load, hub)
        return cls(
            reasoner_model,
            reasoner_processor,
            selector_model,
            selector_processor,
            strategy=strategy,
            **kwargs,
        )

    # ------------------------------------------------------------------ answering
    def answer(
        self,
        video: VideoInput,
        question: str,
        options: Sequence[str] | None = None,
        fps: float | None = None,
        *,
        evidence: str | None = None,
        **generate_kwargs,
    ) -> HybridAnswer:
        """Evidence and answer for one video (path, or decoded frames ``(N, H, W, 3)`` at ``fps``).

        ``evidence``: ground-truth evidence (the paper's GT-CoT setting); the reasoner then skips stage 1.
        """
        return self.answer_batch(
            [video], [question], [options], fps=fps, evidence=[evidence], **generate_kwargs
        )[0]

    def answer_batch(
        self,
        videos: Sequence[VideoInput],
        questions: Sequence[str],
        options: Sequence[Sequence[str] | None] | None = None,
        *,
        fps: float | None = None,
        batch_size: int = 4,
        evidence: Sequence[str | None] | None = None,
        **generate_kwargs,
    ) -> list[HybridAnswer]:
        """Answer many (video, question[, options]); the reasoner runs ``batch_size`` questions at once.

        The same video may appear several times (its captions are computed once, see ``caption_cache``).
        ``evidence``: per question, ground-truth evidence or ``None`` (stage 1 runs only for the ``None`` ones).
        """
        if len(videos) != len(questions):
            raise ValueError(f"got {len(videos)} videos for {len(questions)} questions")
        options = list(options) if options is not None else [None] * len(questions)
        clips: dict[int | str, _Clip] = {}
        prepared = []
        try:
            for position, (video, question) in enumerate(zip(videos, questions, strict=False)):
                key = str(video) if isinstance(video, (str, Path)) else position
                if key not in clips:
                    clips[key] = self._open(video, fps)
                clip = clips[key]
                selection = self._select(clip, question)
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
                evidence=evidence[start : start + batch_size] if evidence is not None else None,
                **generate_kwargs,
            )
            for output, (_, _, selection), question in zip(
                outputs, chunk, questions[start : start + batch_size], strict=False
            ):
                results.append(
                    HybridAnswer(question, output.evidence, output.answer, output.letter, selection)
                )
        return results


def reasoner_backbone(reasoner: str | Path, hub: dict) -> ReasonerBackbone:
    """The backbone row of a reasoner checkpoint, read from its ``config.json`` only.

    Raises:
        ValueError: not a family of :data:`~videoespresso_hf.models.reasoner.backbones.BACKBONES`
            (Qwen2-VL, …), naming the supported families.
    """
    from transformers import AutoConfig

    model_type = AutoConfig.from_pretrained(reasoner, **hub).model_type
    backbone = backbone_for(model_type)
    if backbone is None:
        raise ValueError(
            f"{reasoner} is a {model_type!r} model, which cannot be the reasoner; "
            f"supported families: {supported_families()}"
        )
    return backbone


def adapter_base_model(reasoner: str | Path, hub: dict) -> str | None:
    """The base model a LoRA adapter folder or repo names (``adapter_config.json``); ``None`` for a full checkpoint."""
    from transformers.utils import find_adapter_config_file

    download = {key: hub[key] for key in ("revision", "token", "cache_dir", "local_files_only") if key in hub}
    config_file = find_adapter_config_file(str(reasoner), **download)
    if config_file is None:
        return None
    return json.loads(Path(config_file).read_text(encoding="utf-8"))["base_model_name_or_path"]


def load_reasoner(reasoner: str | Path, load: dict, hub: dict):
    """A VideoEspresso reasoner checkpoint, or a stock checkpoint of a supported family (the CLI default
    ``Qwen/Qwen2.5-VL-7B-Instruct``) loaded into the family's VideoEspresso class: same weights, two-stage
    prompts from the config defaults, ``base_model_id`` = that checkpoint's Hub id.

    A LoRA adapter saved by ``videoespresso train reasoner`` (``OUT/stage2``) loads too, the way transformers
    loads any adapter: its base model, then the adapter (peft). The adapter has no config, so the frame
    pixel bounds training used come from the processor saved with it (see
    :func:`~videoespresso_hf.models.reasoner.modeling_reasoner.save_frame_bounds`); ``min_pixels`` /
    ``max_pixels`` given in ``load`` win over them.

    An unsupported family is refused (:func:`reasoner_backbone`) before any weights load.

    Returns:
        ``(model in eval mode, processor)``.
    """
    from transformers.utils import is_peft_available

    from videoespresso_hf.models.reasoner.modeling_reasoner import frame_bounds

    base = adapter_base_model(reasoner, hub)
    if base is not None and not is_peft_available():
        raise ValueError(f"{reasoner} is a LoRA adapter: loading it needs peft (pip install 'videoespresso-hf[train]')")
    # The family is the base model's; a revision pins the adapter, not its base.
    family_of = (base, {**hub, "revision": None}) if base else (reasoner, hub)
    _, model_class, processor_class = reasoner_backbone(*family_of).classes()
    model = model_class.from_pretrained(reasoner, **load).eval()
    processor = processor_class.from_pretrained(reasoner, **hub)
    if base is not None:
        for name, value in frame_bounds(processor).items():
            if load.get(name) is None:
                setattr(model.config, name, value)
        for name, value in _adapter_config_overrides(reasoner, hub).items():
            setattr(model.config, name, value)
    return model, processor


def _adapter_config_overrides(reasoner: str | Path, hub: dict) -> dict:
    """The :data:`ADAPTER_CONFIG_OVERRIDES` saved beside an adapter (``{}`` when it has none)."""
    from transformers.utils import cached_file

    download = {key: hub[key] for key in ("revision", "token", "cache_dir", "local_files_only") if key in hub}
    path = cached_file(str(reasoner), ADAPTER_CONFIG_OVERRIDES, _raise_exceptions_for_missing_entries=False,
                       _raise_exceptions_for_connection_errors=False, **download)  # fmt: skip
    return json.loads(Path(path).read_text(encoding="utf-8")) if path else {}


def check_selector(selector: str | Path, hub: dict) -> None:
    """Refuse, from its ``config.json``, a checkpoint that is not a :class:`VexFrameSelectorModel` (``ValueError``)."""
    from transformers import AutoConfig

    from videoespresso_hf.models.frame_selector.configuration_frame_selector import VexFrameSelectorConfig

    model_type = AutoConfig.from_pretrained(selector, **hub).model_type
    if model_type != VexFrameSelectorConfig.model_type:
        raise ValueError(
            f"{selector} is a {model_type!r} model, not a VideoEspresso frame selector "
            f"({VexFrameSelectorConfig.model_type!r}, saved by VexFrameSelectorModel.save_pretrained)"
        )


def load_selector(selector: str | Path, load: dict, hub: dict):
    """A saved :class:`VexFrameSelectorModel` and its processor (anything else: :func:`check_selector`).

    Returns:
        ``(model in eval mode, processor)``.
    """
    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor

    check_selector(selector, hub)
    model = VexFrameSelectorModel.from_pretrained(selector, **load).eval()
    return model, VexFrameSelectorProcessor.from_pretrained(selector, **hub)


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
