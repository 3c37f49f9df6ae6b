"""Training-free frame-selection strategies, with the same output as the model selector.

Every strategy returns a :class:`FrameSelection` (``indices``, ``timestamps``, ``scores``, ``captions``)
with at most ``max_core_frames`` frames in temporal order, so strategies can be swapped in
:class:`~videoespresso_hf.models.hybrid.HybridVideoQA` to compare cost and quality:

* ``uniform`` — ``max_core_frames`` evenly spaced frames (no model; the usual VLM baseline);
* ``fps`` — one frame every ``1/fps`` s, thinned evenly to ``max_core_frames`` (no model);
* ``shots`` — the middle frame of the longest shots (PySceneDetect; no model);
* ``embedding`` — cosine similarity of the question and each candidate's caption in a sentence-embedding
  space (default ``sentence-transformers/all-MiniLM-L6-v2``); captions come from the selector's
  captioner, so it costs the captioner but not the chooser;
* ``image_text`` — cosine similarity of the question and each candidate *frame* in a SigLIP-style image-text
  space (default ``google/siglip-base-patch16-224``, :mod:`~videoespresso_hf.models.image_text`): no captions,
  one vision pass per frame (cached per video) and one text pass per question;
* ``model`` — :class:`VexFrameSelectorModel` (captioner + chooser), in ``modeling_frame_selector``.

Functions here are pure (no decoding): they take frame counts, shots or captions.

:data:`FRAME_RULES` (defined in the torch-free leaf :mod:`videoespresso_hf.frame_rules`, re-exported here) is
THE table of these rules: each row names a strategy, its selection function here
(:func:`selection_function`), what it needs (a selector, a text embedder, an image-text model) and, for the
rules predict's ``--frames`` offers, its spelling there and how its argument parses (:func:`parse_frame_rule`).
``select``/``answer``'s ``--strategy``, :class:`~videoespresso_hf.models.hybrid.HybridVideoQA` and predict's
frame sampler all read their rule names from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from videoespresso_hf.defaults import STRATEGY_EMBEDDER
from videoespresso_hf.embeddings import cosine_matrix
from videoespresso_hf.frame_rules import (
    DEFAULT_SHOTS,
    FRAME_RULES,
    MAX_FRAMES,
    QWEN_FPS,
    QWEN_FRAME_FACTOR,
    QWEN_MAX_FRAMES,
    QWEN_MIN_FRAMES,
    STRATEGIES,
    FrameRule,
    FrameRuleKind,
    frames_rule_names,
    parse_frame_rule,
    rule_kind,
)
from videoespresso_hf.models.frame_selector.modeling_frame_selector import FrameSelection, choose_frames
from videoespresso_hf.video import Shot, fps_indices, timestamps_of, uniform_indices

Strategy = Literal["model", "uniform", "fps", "shots", "embedding", "image_text"]
DEFAULT_EMBEDDER = STRATEGY_EMBEDDER

__all__ = [
    "DEFAULT_EMBEDDER",
    "DEFAULT_SHOTS",
    "FRAME_RULES",
    "MAX_FRAMES",
    "STRATEGIES",
    "FrameRule",
    "FrameRuleKind",
    "FrameSelection",
    "Strategy",
    "candidate_indices",
    "embedding_selection",
    "fps_selection",
    "frames_rule_names",
    "image_text_selection",
    "model_selection",
    "parse_frame_rule",
    "qwen_vl_utils_selection",
    "rule_kind",
    "selection_function",
    "shot_selection",
    "thin_evenly",
    "uniform_selection",
]


def _check_max_core_frames(max_core_frames: int) -> None:
    if max_core_frames < 1:
        raise ValueError(f"max_core_frames must be at least 1, got {max_core_frames}")


def thin_evenly(indices: Sequence[int], limit: int) -> list[int]:
    """Keep at most ``limit`` of ``indices``, evenly spread (first and last kept)."""
    if limit < 1:
        raise ValueError(f"cannot keep fewer than 1 frame, got a limit of {limit}")
    indices = list(indices)
    if len(indices) <= limit:
        return indices
    return [indices[position] for position in uniform_indices(len(indices), limit)]


def candidate_indices(num_frames: int, video_fps: float, candidate_fps: float, max_candidates: int) -> list[int]:
    """The selector's candidate frames (paper eq. 4): one every ``1/candidate_fps`` s, thinned evenly to
    ``max_candidates``. Hybrid inference and selector training both sample by this rule, so the chooser is
    trained on the candidates it will be shown."""
    return thin_evenly(fps_indices(num_frames, video_fps, candidate_fps).tolist(), max_candidates)


def uniform_selection(num_frames: int, video_fps: float, max_core_frames: int) -> FrameSelection:
    """``max_core_frames`` evenly spaced frames of a ``num_frames``-frame video."""
    _check_max_core_frames(max_core_frames)
    indices = uniform_indices(num_frames, max_core_frames)
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        candidate_indices=indices.tolist(),
        strategy="uniform",
    )


def fps_selection(num_frames: int, video_fps: float, fps: float, max_core_frames: int) -> FrameSelection:
    """One frame every ``1/fps`` seconds, evenly thinned to at most ``max_core_frames``."""
    candidates = fps_indices(num_frames, video_fps, fps)
    _check_max_core_frames(max_core_frames)
    indices = np.asarray(thin_evenly(candidates.tolist(), max_core_frames), dtype=np.int64)
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        candidate_indices=candidates.tolist(),
        strategy="fps",
    )


def qwen_vl_utils_selection(
    num_frames: int,
    video_fps: float,
    *,
    nframes: int | None = None,
    fps: float = QWEN_FPS,
    min_frames: int = QWEN_MIN_FRAMES,
    max_frames: int = QWEN_MAX_FRAMES,
) -> FrameSelection:
    """The frames lmms-eval's ``qwen2_5_vl`` (and ``qwen3_vl``) model feeds: qwen-vl-utils' ``smart_nframes`` and index
    formula (qwen-vl-utils 0.0.14 ``vision_process.py``; lmms-eval 0.7.3 ``models/chat/qwen2_5_vl.py``).

    * ``nframes``: lmms-eval probes the video and asks for ``min(nframes, frames in the video)`` floored to a multiple
      of ``FRAME_FACTOR`` (2), at least 2 (qwen-vl-utils alone would round an odd ``nframes`` to the nearest even);
    * else ``fps``: ``duration * fps`` frames, raised to ``min_frames`` and capped at ``max_frames`` and the video's
      frame count (the bounds rounded inward to multiples of 2), floored to a multiple of 2.

    The indices are ``torch.linspace(0, total - 1, n).round()`` (float32, half to even), as qwen-vl-utils computes
    them. Raises ``ValueError`` for a video of fewer than 2 frames (qwen-vl-utils refuses it too).
    """
    import torch

    factor = QWEN_FRAME_FACTOR
    if nframes is not None:
        count = max(factor, min(nframes, num_frames) // factor * factor)
    else:
        low = math.ceil(min_frames / factor) * factor
        high = max_frames // factor * factor
        count = math.floor(min(max(num_frames / video_fps * fps, low), high, num_frames) / factor) * factor
    if not factor <= count <= num_frames:
        raise ValueError(f"qwen-vl-utils samples between {factor} and {num_frames} frames of this video, not {count}")
    indices = torch.linspace(0, num_frames - 1, count).round().long().numpy()
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        candidate_indices=indices.tolist(),
        strategy="qwen_vl_utils",
    )


def shot_selection(shots: Sequence[Shot], video_fps: float, max_core_frames: int) -> FrameSelection:
    """The middle frame of each shot; with more shots than ``max_core_frames``, those of the longest shots.

    Scores are each shot's share of the video's frames.
    """
    _check_max_core_frames(max_core_frames)
    if not shots:
        raise ValueError("no shots to select from")
    total = sum(shot.num_frames for shot in shots)
    middles = [(shot.start_frame + shot.end_frame - 1) // 2 for shot in shots]
    shares = [shot.num_frames / total for shot in shots]
    chosen = choose_frames(shares, max_core_frames, min_core_frames=max_core_frames, threshold=float("inf"))
    indices = np.asarray([middles[position] for position in chosen], dtype=np.int64)
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        scores=[shares[position] for position in chosen],
        candidate_indices=middles,
        candidate_scores=shares,
        strategy="shots",
    )


def embedding_selection(
    question: str,
    captions: Sequence[str],
    candidate_indices: Sequence[int],
    candidate_timestamps: Sequence[float],
    max_core_frames: int,
    embed: Callable[[Sequence[str]], np.ndarray],
    threshold: float = float("inf"),
) -> FrameSelection:
    """The candidates whose captions are most similar to the question (cosine), at most ``max_core_frames``.

    Args:
        embed: texts → ``(N, D)`` embeddings (e.g. ``videoespresso_hf.embeddings.load_text_embedder()``); normalised here.
        threshold: keep only similarities ≥ this (then at least one frame); the default keeps
            exactly ``min(max_core_frames, N)`` frames.
    """
    _check_max_core_frames(max_core_frames)
    if not captions:
        raise ValueError("no candidate captions to select from")
    if not len(captions) == len(candidate_indices) == len(candidate_timestamps):
        raise ValueError("captions, candidate_indices and candidate_timestamps must have the same length")
    vectors = np.asarray(embed([question, *captions]), dtype=np.float64)
    similarities = cosine_matrix(vectors[1:], vectors[:1])[:, 0].tolist()
    min_core_frames = max_core_frames if threshold == float("inf") else 1
    chosen = choose_frames(similarities, max_core_frames, min_core_frames=min_core_frames, threshold=threshold)
    return FrameSelection(
        indices=[int(candidate_indices[position]) for position in chosen],
        timestamps=[float(candidate_timestamps[position]) for position in chosen],
        scores=[similarities[position] for position in chosen],
        captions=[captions[position] for position in chosen],
        candidate_indices=[int(index) for index in candidate_indices],
        candidate_scores=similarities,
        candidate_captions=list(captions),
        strategy="embedding",
    )


def image_text_selection(
    question_vector: np.ndarray,
    frame_vectors: np.ndarray,
    candidate_indices: Sequence[int],
    candidate_timestamps: Sequence[float],
    max_core_frames: int,
) -> FrameSelection:
    """The ``min(max_core_frames, N)`` candidates whose frame embeddings are closest to the question's.

    Args:
        question_vector: ``(D,)`` unit-norm question embedding; frame_vectors: ``(N, D)`` unit-norm frames.
    """
    _check_max_core_frames(max_core_frames)
    if not len(frame_vectors) == len(candidate_indices) == len(candidate_timestamps):
        raise ValueError("frame_vectors, candidate_indices and candidate_timestamps must have the same length")
    if not len(frame_vectors):
        raise ValueError("no candidate frames to select from")
    similarities = (np.asarray(frame_vectors, dtype=np.float64) @ np.asarray(question_vector, dtype=np.float64)).tolist()
    chosen = choose_frames(similarities, max_core_frames, min_core_frames=max_core_frames, threshold=float("inf"))
    return FrameSelection(
        indices=[int(candidate_indices[position]) for position in chosen],
        timestamps=[float(candidate_timestamps[position]) for position in chosen],
        scores=[similarities[position] for position in chosen],
        candidate_indices=[int(index) for index in candidate_indices],
        candidate_scores=similarities,
        strategy="image_text",
    )


def model_selection(
    selector,
    processor,
    question: str,
    captions: Sequence[str],
    candidate_indices: Sequence[int],
    candidate_timestamps: Sequence[float],
    max_core_frames: int | None = None,
) -> FrameSelection:
    """The core frames a :class:`VexFrameSelectorModel` chooses among captioned candidates (its chooser only;
    the captions come from its captioner, cached by the caller since they do not depend on the question)."""
    return selector.select(
        processor,
        None,
        question,
        frame_indices=candidate_indices,
        timestamps=candidate_timestamps,
        max_core_frames=max_core_frames,
        captions=captions,
    )


def selection_function(strategy: str) -> Callable[..., FrameSelection]:
    """The function of this module that samples ``strategy`` (named by its row of :data:`FRAME_RULES`)."""
    return globals()[FRAME_RULES[strategy].function]
