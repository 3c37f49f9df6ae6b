"""Tiny random GroundingDINO and CLIP models, built offline from configs, for grounding tests.

Random weights give random boxes: tests built on these check the wiring (boxes inside the frame, the CLIP
check applied, dropped boxes recorded), never detection quality. The tokenizer is a ``BertTokenizer`` over
a character-level WordPiece vocabulary, so any lower-case English text tokenizes without files.
The shapes follow transformers' own ``GroundingDinoModelTester`` (Swin backbone built from a config,
no timm, no pretrained weights); ``decoder_layers`` must be at least 2 (the box heads are tied across layers).
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

__all__ = ["save_tiny_grounding_models", "tiny_bert_tokenizer", "tiny_clip", "tiny_grounding_dino"]

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_CHARS = list(string.ascii_lowercase + string.digits + ".,'-!?")


def tiny_bert_tokenizer():
    """A BERT WordPiece tokenizer whose vocabulary is single characters (and their ``##`` continuations)."""
    from transformers import BertTokenizer

    vocab = {token: i for i, token in enumerate(_SPECIALS + _CHARS + ["##" + c for c in _CHARS])}
    return BertTokenizer(vocab=vocab)


def tiny_grounding_dino(seed: int = 0, *, num_queries: int = 12, image_size: int = 96) -> tuple[Any, Any]:
    """A random ``GroundingDinoForObjectDetection`` (about 0.15 M parameters) and its processor."""
    import torch
    from transformers import (
        GroundingDinoConfig,
        GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor,
        GroundingDinoProcessor,
        SwinConfig,
    )

    tokenizer = tiny_bert_tokenizer()
    backbone = SwinConfig(
        window_size=7,
        embed_dim=8,
        depths=[1, 1, 1, 1],
        num_heads=[1, 1, 1, 1],
        image_size=image_size,
        out_indices=[2, 3, 4],
    )
    config = GroundingDinoConfig(
        d_model=32,
        encoder_layers=1,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=16,
        decoder_ffn_dim=16,
        num_queries=num_queries,
        num_feature_levels=4,
        encoder_n_points=2,
        decoder_n_points=2,
        use_timm_backbone=False,
        use_pretrained_backbone=False,
        backbone_config=backbone,
        max_text_len=64,
        text_config={
            "model_type": "bert",
            "hidden_size": 8,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "intermediate_size": 8,
            "max_position_embeddings": 64,
            "vocab_size": tokenizer.vocab_size,
        },
    )
    torch.manual_seed(seed)
    model = GroundingDinoForObjectDetection(config).eval()
    image_processor = GroundingDinoImageProcessor(
        size={"shortest_edge": image_size, "longest_edge": image_size * 4 // 3}
    )
    return model, GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer)


def tiny_clip(seed: int = 0, *, image_size: int = 32) -> tuple[Any, Any]:
    """A random ``CLIPModel`` (about 20 k parameters) and a ``CLIPProcessor`` over the tiny tokenizer."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    tokenizer = tiny_bert_tokenizer()
    config = CLIPConfig(
        text_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "vocab_size": tokenizer.vocab_size,
            "max_position_embeddings": 64,
            # CLIP pools the text at the EOS token: point it at the tokenizer's [SEP].
            "bos_token_id": tokenizer.cls_token_id,
            "eos_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 16,
            "intermediate_size": 16,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": image_size,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    return model, CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)


def save_tiny_grounding_models(folder: str | Path, seed: int = 0) -> dict[str, str]:
    """Save both tiny models (weights + processors) under ``folder``; returns ``{"detector", "clip"}`` paths.

    The paths load with ``SpatialGrounder.from_pretrained(detector_id=..., clip_id=...)``, i.e. through the
    same ``from_pretrained`` route a real build uses.
    """
    folder = Path(folder)
    paths = {"detector": str(folder / "tiny-grounding-dino"), "clip": str(folder / "tiny-clip")}
    for (model, processor), path in (
        (tiny_grounding_dino(seed), paths["detector"]),
        (tiny_clip(seed), paths["clip"]),
    ):
        model.save_pretrained(path)
        processor.save_pretrained(path)
    return paths
