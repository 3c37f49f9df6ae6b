"""Analytic forward FLOPs of the selector and reasoner backbones, read from their transformers configs.

Counts what ``torch.utils.flop_counter.FlopCounterMode`` counts — matrix multiplications, convolutions
and attention score/value products, 2 FLOPs per multiply-add — and ignores element-wise work (norms,
activations, rotary). Attention is counted over the full key range (no causal discount), as the
counter does. ``tests/models/test_flops.py`` checks every formula against the counter on small real
models; ``benchmarks/hybrid_inference_flops.py`` applies them to the real default configurations
(which cannot be downloaded here, and whose vision towers cannot run on the meta device because their
window/sequence bookkeeping is data-dependent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "DecoderSpec",
    "decoder_flops",
    "decoder_spec",
    "generation_flops",
    "internvl_image_flops",
    "qwen2_5_vl_video_flops",
    "qwen3_vl_video_flops",
    "qwen_video_tokens",
    "siglip_image_flops",
    "siglip_text_flops",
]


@dataclass(frozen=True)
class DecoderSpec:
    """The shape of a decoder-only LM (gated MLP, grouped-query attention)."""

    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int

    @property
    def linear_params(self) -> int:
        """Weights of the per-layer matrices (q, k, v, o, gate, up, down), all layers."""
        attention = self.hidden * self.head_dim * (2 * self.heads + 2 * self.kv_heads)
        return self.layers * (attention + 3 * self.hidden * self.intermediate)


def decoder_spec(text_config) -> DecoderSpec:
    """:class:`DecoderSpec` of a Qwen2/Qwen2.5/Qwen3 text config."""
    head_dim = (
        getattr(text_config, "head_dim", None) or text_config.hidden_size // text_config.num_attention_heads
    )
    return DecoderSpec(
        hidden=text_config.hidden_size,
        intermediate=text_config.intermediate_size,
        layers=text_config.num_hidden_layers,
        heads=text_config.num_attention_heads,
        kv_heads=text_config.num_key_value_heads or text_config.num_attention_heads,
        head_dim=head_dim,
        vocab=text_config.vocab_size,
    )


def decoder_flops(spec: DecoderSpec, new_tokens: int, past_tokens: int = 0, logits_tokens: int = 1) -> float:
    """One forward of ``new_tokens`` tokens after ``past_tokens`` cached ones; logits for ``logits_tokens``."""
    linear = 2 * new_tokens * spec.linear_params
    attention = 4 * new_tokens * (past_tokens + new_tokens) * spec.heads * spec.head_dim * spec.layers
    return float(linear + attention + 2 * logits_tokens * spec.hidden * spec.vocab)


def generation_flops(spec: DecoderSpec, prompt_tokens: int, new_tokens: int) -> float:
    """Greedy ``generate``: a prefill (its last logits give the first token), then one step per token."""
    total = decoder_flops(spec, prompt_tokens)
    for step in range(1, new_tokens):
        total += decoder_flops(spec, 1, past_tokens=prompt_tokens + step - 1)
    return total


def qwen_video_tokens(
    frames: int, height: int, width: int, patch: int, temporal_patch: int = 2, merge: int = 2
) -> tuple[int, int]:
    """``(vision patches, LM tokens)`` of a clip after Qwen's resize to multiples of ``patch * merge``.

    Frames are padded to a multiple of ``temporal_patch`` (Qwen repeats the last frame).
    """
    grid_h, grid_w = _qwen_grid(height, width, patch, merge)
    patches = math.ceil(frames / temporal_patch) * grid_h * grid_w
    return patches, patches // merge**2


def _qwen_grid(height: int, width: int, patch: int, merge: int) -> tuple[int, int]:
    factor = patch * merge
    return max(factor, round(height / factor) * factor) // patch, max(
        factor, round(width / factor) * factor
    ) // patch


def qwen2_5_vl_video_flops(vision_config, frames: int, height: int, width: int) -> float:
    """Qwen2.5-VL vision tower (window attention + full-attention layers + merger) on one clip."""
    c = vision_config
    h, inter, patch, merge, tp = (
        c.hidden_size,
        c.intermediate_size,
        c.patch_size,
        c.spatial_merge_size,
        c.temporal_patch_size,
    )
    grid_h, grid_w = _qwen_grid(height, width, patch, merge)
    groups = math.ceil(frames / tp)
    tokens = groups * grid_h * grid_w
    flops = 2 * tokens * h * (c.in_channels * tp * patch * patch)  # Conv3d patch embedding
    flops += c.depth * 2 * tokens * (4 * h * h + 3 * h * inter)  # qkv + proj, gated MLP
    # Window attention: windows of (window_size / patch / merge)² merged units, cut at the grid edge.
    unit = c.window_size // merge // patch
    rows = [min(unit, grid_h // merge - start) for start in range(0, grid_h // merge, unit)]
    cols = [min(unit, grid_w // merge - start) for start in range(0, grid_w // merge, unit)]
    window_sq = sum((r * q * merge * merge) ** 2 for r in rows for q in cols)
    full_layers = len(c.fullatt_block_indexes)
    flops += 4 * h * groups * window_sq * (c.depth - full_layers)
    flops += 4 * h * groups * (grid_h * grid_w) ** 2 * full_layers  # full attention within each frame pair
    merged, wide = tokens // merge**2, h * merge**2
    flops += 2 * merged * (wide * wide + wide * c.out_hidden_size)
    return float(flops)


def qwen3_vl_video_flops(vision_config, frames: int, height: int, width: int) -> float:
    """Qwen3-VL vision tower (full attention per frame pair, plain MLP, merger + deepstack mergers)."""
    c = vision_config
    h, inter, patch, merge, tp = (
        c.hidden_size,
        c.intermediate_size,
        c.patch_size,
        c.spatial_merge_size,
        c.temporal_patch_size,
    )
    grid_h, grid_w = _qwen_grid(height, width, patch, merge)
    groups = math.ceil(frames / tp)
    tokens = groups * grid_h * grid_w
    flops = 2 * tokens * h * (c.in_channels * tp * patch * patch)
    flops += c.depth * 2 * tokens * (4 * h * h + 2 * h * inter)
    flops += c.depth * 4 * h * groups * (grid_h * grid_w) ** 2
    merged, wide = tokens // merge**2, h * merge**2
    flops += (1 + len(c.deepstack_visual_indexes)) * 2 * merged * (wide * wide + wide * c.out_hidden_size)
    return float(flops)


def _encoder_flops(hidden: int, intermediate: int, layers: int, tokens: int) -> int:
    """A pre-norm transformer encoder with a plain (two-matrix) MLP and full attention."""
    return layers * (2 * tokens * (4 * hidden * hidden + 2 * hidden * intermediate) + 4 * tokens * tokens * hidden)


def internvl_image_flops(config) -> float:
    """InternVL vision tower (one tile, CLS token included) + pixel-shuffle projector, for one image."""
    v = config.vision_config
    size, patch = v.image_size[0], v.patch_size[0]
    patches = (size // patch) ** 2
    tokens = patches + 1
    h, inter = v.hidden_size, v.intermediate_size
    flops = 2 * patches * h * (v.num_channels * patch * patch)
    flops += _encoder_flops(h, inter, v.num_hidden_layers, tokens)
    shuffled = int(patches * config.downsample_ratio**2)
    wide = int(h / config.downsample_ratio**2)
    text_hidden = config.text_config.hidden_size
    flops += 2 * shuffled * (wide * text_hidden + text_hidden * text_hidden)
    return float(flops)


def siglip_image_flops(vision_config) -> float:
    """SigLIP vision tower on one image: patch embedding, encoder, attention-pooling head (one probe token)."""
    c = vision_config
    h, patches = c.hidden_size, (c.image_size // c.patch_size) ** 2
    flops = 2 * patches * h * (c.num_channels * c.patch_size**2)
    flops += _encoder_flops(h, c.intermediate_size, c.num_hidden_layers, patches)
    # Head: the probe's query projection, keys and values of every patch, one attention row, output
    # projection, then the MLP on the probe token.
    flops += 2 * h * h + 2 * 2 * patches * h * h + 4 * patches * h + 2 * h * h + 2 * 2 * h * c.intermediate_size
    return float(flops)


def siglip_text_flops(text_config, tokens: int) -> float:
    """SigLIP text tower on one text of ``tokens`` tokens (SigLIP pads to 64): encoder + projection head."""
    c = text_config
    projection = getattr(c, "projection_size", None) or c.hidden_size
    return float(_encoder_flops(c.hidden_size, c.intermediate_size, c.num_hidden_layers, tokens) + 2 * c.hidden_size * projection)
