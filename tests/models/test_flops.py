"""The analytic FLOP formulas of the benchmark agree with torch's FlopCounterMode on real (small) models."""

from __future__ import annotations

import pytest
import torch
from doubles.tiny_models import build_tiny_reasoner
from torch.utils.flop_counter import FlopCounterMode
from transformers import InternVLConfig, InternVLForConditionalGeneration, Qwen2Config, Qwen2ForCausalLM

from videoespresso_hf.models.flops import (
    decoder_flops,
    decoder_spec,
    generation_flops,
    internvl_image_flops,
    qwen2_5_vl_video_flops,
    qwen3_vl_video_flops,
    qwen_video_tokens,
    siglip_image_flops,
    siglip_text_flops,
)
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs


def _count(fn) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize(
    ("family", "formula"), [("qwen2_5_vl", qwen2_5_vl_video_flops), ("qwen3_vl", qwen3_vl_video_flops)]
)
@pytest.mark.parametrize(("frames", "grid_h", "grid_w"), [(2, 4, 4), (3, 14, 18), (4, 8, 12)])
def test_qwen_vision_tower(family, formula, frames, grid_h, grid_w):
    model, _ = build_tiny_reasoner(family)
    model.set_attn_implementation("eager")
    vision = model.config.vision_config
    groups = -(-frames // vision.temporal_patch_size)
    patch_dim = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    pixels = torch.randn(groups * grid_h * grid_w, patch_dim)
    grid = torch.tensor([[groups, grid_h, grid_w]])
    counted = _count(lambda: model.model.visual(pixels, grid_thw=grid))
    height, width = grid_h * vision.patch_size, grid_w * vision.patch_size
    assert formula(vision, frames, height, width) == counted  # partial 56-px windows included (14 x 18 grid)
    patches, tokens = qwen_video_tokens(frames, height, width, vision.patch_size)
    assert (patches, tokens) == (groups * grid_h * grid_w, groups * grid_h * grid_w // 4)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_reasoner_prefill_is_vision_plus_decoder(family, clips):
    model, processor = build_tiny_reasoner(family, frame_presentation="video")
    model.set_attn_implementation("eager")
    inputs = build_stage_inputs(model.config, processor, "evidence", clips[:1], ["What happens in the video?"])
    counted = _count(lambda: model(**inputs, logits_to_keep=1))
    _, grid_h, grid_w = inputs["video_grid_thw"][0].tolist()
    vision = model.config.vision_config
    formula = qwen2_5_vl_video_flops if family == "qwen2_5_vl" else qwen3_vl_video_flops
    expected = formula(vision, len(clips[0]), grid_h * vision.patch_size, grid_w * vision.patch_size)
    expected += decoder_flops(decoder_spec(model.config.text_config), inputs["input_ids"].shape[1])
    assert expected == counted


def test_generation_with_cache():
    config = Qwen2Config(
        vocab_size=300,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        attn_implementation="eager",
    )
    model = Qwen2ForCausalLM(config).eval()
    input_ids = torch.randint(0, 300, (1, 17))
    counted = _count(lambda: model.generate(input_ids, max_new_tokens=6, min_new_tokens=6, do_sample=False))
    assert generation_flops(decoder_spec(config), 17, 6) == counted
    assert decoder_flops(decoder_spec(config), 17) == _count(lambda: model(input_ids, logits_to_keep=1))


def test_internvl_image_tower():
    config = InternVLConfig(
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": [56, 56],
            "patch_size": [14, 14],
            "attn_implementation": "eager",
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": 300,
            "hidden_size": 48,
            "intermediate_size": 96,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
        },
        image_seq_length=4,
    )
    model = InternVLForConditionalGeneration(config).eval()
    model.set_attn_implementation("eager")
    pixels = torch.randn(1, 3, 56, 56)
    counted = _count(lambda: model.model.get_image_features(pixels))
    assert internvl_image_flops(config) == counted


def test_siglip_towers():
    from doubles.tiny_models import build_tiny_siglip

    model, processor = build_tiny_siglip()
    model.set_attn_implementation("eager")
    pixels = torch.randn(1, 3, 32, 32)
    assert siglip_image_flops(model.config.vision_config) == _count(lambda: model.get_image_features(pixel_values=pixels))
    ids = processor(text=["why?"], padding="max_length", return_tensors="pt")["input_ids"]
    assert siglip_text_flops(model.config.text_config, ids.shape[1]) == _count(lambda: model.get_text_features(input_ids=ids))
