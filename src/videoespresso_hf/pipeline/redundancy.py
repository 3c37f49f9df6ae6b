"""Semantic-aware redundancy removal (paper §1.4), as pure functions over caption embeddings.

The paper embeds every frame caption with BGE-M3, compares adjacent captions by cosine similarity and
keeps a caption only if its similarity is below a threshold τ, dropping redundant frames "last in, first
out": in a run of near-identical consecutive captions the *earlier* frame stays and the later ones go.

Precise rule implemented here (``compare_to="last_kept"``, the default): walk the frames in time order;
frame 0 is kept; frame i is dropped when ``cos(e_i, e_r) >= tau`` where r is the most recent *kept* frame,
and kept otherwise. Comparing with the last kept frame rather than literally with frame i-1 matters for
slow drifts: with adjacent comparisons a scene that changes a little at every step (each pair above τ)
would be collapsed to its first frame however far it drifts; against the last kept frame a new frame is
kept as soon as it differs enough from what was kept. For a run of exact repeats both rules agree.
``compare_to="previous"`` gives the literal adjacent-frame reading for comparison.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["redundancy_trace", "select_non_redundant"]

CompareTo = Literal["last_kept", "previous"]


def redundancy_trace(
    embeddings: np.ndarray, tau: float, *, compare_to: CompareTo = "last_kept"
) -> tuple[np.ndarray, np.ndarray]:
    """Run the LIFO rule and return what it decided and why.

    Args:
        embeddings: ``(N, D)`` caption embeddings in time order (any scale; rows are L2-normalised here).
        tau: cosine-similarity threshold; similarity ``>= tau`` marks the later frame redundant.
        compare_to: ``"last_kept"`` or ``"previous"`` (see the module docstring).

    Returns:
        ``(kept, similarity)``: ``kept`` is an ``(N,)`` bool mask; ``similarity`` is ``(N,)`` float, the cosine
        similarity of each frame to the frame it was compared with (NaN for frame 0).
    """
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (N, D), got {embeddings.shape}")
    if compare_to not in ("last_kept", "previous"):
        raise ValueError(f"compare_to must be 'last_kept' or 'previous', got {compare_to!r}")
    n = embeddings.shape[0]
    kept = np.zeros(n, dtype=bool)
    similarity = np.full(n, np.nan)
    if n == 0:
        return kept, similarity
    unit = embeddings / np.clip(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12, None)
    kept[0] = True
    reference = 0
    for i in range(1, n):
        similarity[i] = float(unit[i] @ unit[reference])
        kept[i] = similarity[i] < tau
        if compare_to == "previous" or kept[i]:
            reference = i
    return kept, similarity


def select_non_redundant(
    embeddings: np.ndarray, tau: float, *, compare_to: CompareTo = "last_kept"
) -> list[int]:
    """Indices (ascending) of the frames that survive redundancy removal; see :func:`redundancy_trace`.

    Args:
        embeddings: ``(N, D)`` caption embeddings in time order.
        tau: cosine-similarity threshold in [-1, 1].

    Returns:
        The kept indices; always contains 0 when N > 0.
    """
    kept, _ = redundancy_trace(embeddings, tau, compare_to=compare_to)
    return [int(i) for i in np.flatnonzero(kept)]
