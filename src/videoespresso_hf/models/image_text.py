"""Image-text similarity scoring of candidate frames (SigLIP): a selector that writes no captions.

The paper's selector captions every candidate frame with a 1B VLM, which costs more than the reasoner saves
(``benchmarks/hybrid_inference_flops.py``). A dual encoder scores a frame against the question with one
vision-tower pass per frame and one text pass per question; frame embeddings do not depend on the question,
so :class:`~videoespresso_hf.models.hybrid.HybridVideoQA` caches them per video and frame like captions.
Used by the ``image_text`` strategy; the default checkpoint is ``google/siglip-base-patch16-224``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from videoespresso_hf.defaults import IMAGE_TEXT_MODEL

__all__ = ["DEFAULT_IMAGE_TEXT_MODEL", "ImageTextScorer"]

DEFAULT_IMAGE_TEXT_MODEL = IMAGE_TEXT_MODEL


def _pooled(output) -> torch.Tensor:
    # transformers 5 returns a model output whose pooler_output is the projected embedding.
    return getattr(output, "pooler_output", output)


class ImageTextScorer:
    """Unit-norm frame and question embeddings from a SigLIP-style dual encoder (``AutoModel`` + ``AutoProcessor``).

    Args:
        model / processor: a loaded dual encoder with ``get_image_features`` / ``get_text_features``.
        batch_size: frames per vision forward.
    """

    def __init__(self, model, processor, batch_size: int = 16):
        self.model = model.eval()
        self.processor = processor
        self.batch_size = batch_size

    @classmethod
    def from_pretrained(cls, name_or_path: str = DEFAULT_IMAGE_TEXT_MODEL, **kwargs) -> ImageTextScorer:
        """Load model and processor (``kwargs``: ``dtype``, ``device_map``, Hub arguments...)."""
        from transformers import AutoModel, AutoProcessor

        hub = {key: kwargs[key] for key in ("revision", "token", "cache_dir", "local_files_only") if key in kwargs}
        return cls(AutoModel.from_pretrained(name_or_path, **kwargs), AutoProcessor.from_pretrained(name_or_path, **hub))

    @torch.no_grad()
    def embed_frames(self, frames: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """``(N, D)`` unit-norm embeddings of uint8 ``(H, W, 3)`` frames."""
        frames = [np.asarray(frame) for frame in frames]
        vectors = []
        for start in range(0, len(frames), self.batch_size):
            inputs = self.processor(images=frames[start : start + self.batch_size], return_tensors="pt")
            pixel_values = inputs["pixel_values"].to(self.model.device, self.model.dtype)
            vectors.append(_pooled(self.model.get_image_features(pixel_values=pixel_values)).float())
        return torch.nn.functional.normalize(torch.cat(vectors), dim=-1).cpu().numpy()

    @torch.no_grad()
    def embed_text(self, text: str) -> np.ndarray:
        """``(D,)`` unit-norm embedding of ``text`` (padded to the length SigLIP was trained with)."""
        inputs = self.processor(text=[text], padding="max_length", truncation=True, return_tensors="pt")
        inputs = {key: value.to(self.model.device) for key, value in inputs.items()}
        vector = _pooled(self.model.get_text_features(**inputs)).float()
        return torch.nn.functional.normalize(vector, dim=-1)[0].cpu().numpy()
