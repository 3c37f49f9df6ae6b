"""Training-free frame-selection strategies, with the same output as the model selector.

Every strategy returns a :class:`FrameSelection` (``indices``, ``timestamps``, ``scores``, ``captions``)
with at most ``max_frames`` frames in temporal order, so strategies can be swapped in
:class:`~videoespresso_hf.models.hybrid.HybridVideoQA` to compare cost and quality:

* ``uniform`` — ``max_frames`` evenly spaced frames (no model; the usual VLM baseline);
* ``fps`` — one frame every ``1/fps`` s, thinned evenly to ``max_frames`` (no model);
* ``shots`` — the middle frame of the longest shots (PySceneDetect; no model);
* ``embedding`` — cosine similarity of the question and each candidate frame in an image-text embedding
  space (CLIP / SigLIP, default ``openai/clip-vit-base-patch32``): :func:`image_text_selection`. No selector,
  no captions, nothing trained for the task: the usual "CLIP top-k" baseline;
* ``model`` — :class:`VexFrameSelectorModel` (captioner + chooser), in ``modeling_frame_selector``.

:func:`embedding_selection` scores captions instead of pixels (question-caption similarity in a sentence
embedding space), for captions one already has (e.g. the selector's or the construction pipeline's).

Functions here decode nothing: they take frame counts, shots, captions or decoded frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from videoespresso_hf.embeddings import DEFAULT_IMAGE_TEXT_MODEL, ImageTextEmbedder, cosine_matrix
from videoespresso_hf.models.frame_selector.modeling_frame_selector import FrameSelection, choose_frames
from videoespresso_hf.video import Shot, fps_indices, timestamps_of, uniform_indices

Strategy = Literal["model", "uniform", "fps", "shots", "embedding"]
STRATEGIES: tuple[str, ...] = ("model", "uniform", "fps", "shots", "embedding")
DEFAULT_EMBEDDER = DEFAULT_IMAGE_TEXT_MODEL  # what `strategy="embedding"` loads (`--embedding-model` overrides)

__all__ = [
    "DEFAULT_EMBEDDER",
    "STRATEGIES",
    "FrameSelection",
    "Strategy",
    "embedding_selection",
    "fps_selection",
    "image_text_selection",
    "shot_selection",
    "thin_evenly",
    "uniform_selection",
]


def _check_max_frames(max_frames: int) -> None:
    if max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")


def thin_evenly(indices: Sequence[int], max_frames: int) -> list[int]:
    """Keep at most ``max_frames`` of ``indices``, evenly spread (first and last kept)."""
    _check_max_frames(max_frames)
    indices = list(indices)
    if len(indices) <= max_frames:
        return indices
    return [indices[position] for position in uniform_indices(len(indices), max_frames)]


def uniform_selection(num_frames: int, video_fps: float, max_frames: int) -> FrameSelection:
    """``max_frames`` evenly spaced frames of a ``num_frames``-frame video."""
    _check_max_frames(max_frames)
    indices = uniform_indices(num_frames, max_frames)
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        candidate_indices=indices.tolist(),
        strategy="uniform",
    )


def fps_selection(num_frames: int, video_fps: float, fps: float, max_frames: int) -> FrameSelection:
    """One frame every ``1/fps`` seconds, evenly thinned to at most ``max_frames``."""
    candidates = fps_indices(num_frames, video_fps, fps)
    indices = np.asarray(thin_evenly(candidates.tolist(), max_frames), dtype=np.int64)
    return FrameSelection(
        indices=indices.tolist(),
        timestamps=timestamps_of(indices, video_fps).tolist(),
        candidate_indices=candidates.tolist(),
        strategy="fps",
    )


def shot_selection(shots: Sequence[Shot], video_fps: float, max_frames: int) -> FrameSelection:
    """The middle frame of each shot; with more shots than ``max_frames``, those of the longest shots.

    Scores are each shot's share of the video's frames.
    """
    _check_max_frames(max_frames)
    if not shots:
        raise ValueError("no shots to select from")
    total = sum(shot.num_frames for shot in shots)
    middles = [(shot.start_frame + shot.end_frame - 1) // 2 for shot in shots]
    shares = [shot.num_frames / total for shot in shots]
    chosen = choose_frames(shares, max_frames, min_frames=max_frames, threshold=float("inf"))
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
    max_frames: int,
    embed: Callable[[Sequence[str]], np.ndarray],
    threshold: float = float("inf"),
) -> FrameSelection:
    """The candidates whose captions are most similar to the question (cosine), at most ``max_frames``.

    Args:
        embed: texts → ``(N, D)`` embeddings (e.g. ``videoespresso_hf.embeddings.load_text_embedder()``); normalised here.
        threshold: keep only similarities ≥ this (then at least one frame); the default keeps
            exactly ``min(max_frames, N)`` frames.
    """
    _check_max_frames(max_frames)
    if not captions:
        raise ValueError("no candidate captions to select from")
    if not len(captions) == len(candidate_indices) == len(candidate_timestamps):
        raise ValueError("captions, candidate_indices and candidate_timestamps must have the same length")
    vectors = np.asarray(embed([question, *captions]), dtype=np.float64)
    similarities = cosine_matrix(vectors[1:], vectors[:1])[:, 0].tolist()
    min_frames = max_frames if threshold == float("inf") else 1
    chosen = choose_frames(similarities, max_frames, min_frames=min_frames, threshold=threshold)
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
    question: str,
    frames: np.ndarray,
    candidate_indices: Sequence[int],
    candidate_timestamps: Sequence[float],
    max_frames: int,
    embedder: ImageTextEmbedder,
) -> FrameSelection:
    """The ``max_frames`` candidate frames most similar to the question in an image-text space (CLIP, SigLIP).

    Args:
        frames: the decoded candidates ``(N, H, W, 3)`` uint8, in the order of ``candidate_indices``.
        embedder: e.g. ``videoespresso_hf.embeddings.load_image_text_embedder()``.
    """
    _check_max_frames(max_frames)
    if not len(frames):
        raise ValueError("no candidate frames to select from")
    if not len(frames) == len(candidate_indices) == len(candidate_timestamps):
        raise ValueError("frames, candidate_indices and candidate_timestamps must have the same length")
    similarities = (embedder.embed_images(frames) @ embedder.embed_texts([question])[0]).tolist()
    chosen = choose_frames(similarities, max_frames, min_frames=max_frames, threshold=float("inf"))
    return FrameSelection(
        indices=[int(candidate_indices[position]) for position in chosen],
        timestamps=[float(candidate_timestamps[position]) for position in chosen],
        scores=[similarities[position] for position in chosen],
        candidate_indices=[int(index) for index in candidate_indices],
        candidate_scores=similarities,
        strategy="embedding",
    )
