"""How frames reach the reasoner: separate timestamped images vs one video, per-frame pixel caps, and
the training view of :func:`build_stage_inputs` (same prompt as inference, labels on the target only)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from doubles.tiny_models import build_tiny_reasoner

from videoespresso_hf.models.reasoner.configuration_reasoner import (
    VexQwen2_5_VLReasonerConfig,
    VexQwen3VLReasonerConfig,
)
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs

FAMILIES = ["qwen2_5_vl", "qwen3_vl", "llava"]


def _visual_tokens(config, inputs) -> int:
    ids = {config.image_token_id, getattr(config, "video_token_id", None)} - {None}
    return sum(int((inputs["input_ids"] == token).sum()) for token in ids)


@pytest.mark.parametrize("family", FAMILIES)
def test_visual_token_counts_of_both_presentations(family):
    frames = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    counts = {}
    for presentation in ("images", "video"):
        model, processor = build_tiny_reasoner(family, frame_presentation=presentation)
        if presentation not in model.config.supported_presentations:
            with pytest.raises(ValueError, match="not supported"):
                build_stage_inputs(model.config, processor, "evidence", [frames], ["Why?"])
            continue
        counts[presentation] = [
            _visual_tokens(
                model.config, build_stage_inputs(model.config, processor, "evidence", [frames[:n]], ["Why?"])
            )
            for n in range(1, 5)
        ]
    print(f"{family}: visual tokens for 1..4 frames: {counts}")
    per_frame = counts["images"][0]
    assert per_frame > 0 and counts["images"] == [per_frame * n for n in range(1, 5)]  # one image per frame
    if family == "llava":
        assert set(counts) == {"images"}
        return
    # a video merges every 2 consecutive frames into one temporal patch: 2 frames cost what 1 costs
    video = counts["video"]
    assert video[0] == video[1] and video[2] == video[3] and video[2] > video[1]


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_images_presentation_keeps_each_frame_and_its_timestamp(family):
    """As a video, two frames seconds apart became one patch; as images, swapping them changes the input."""
    model, processor = build_tiny_reasoner(family, seed=3)
    rng = np.random.default_rng(5)
    frames = rng.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    forward = build_stage_inputs(model.config, processor, "evidence", [frames], ["Why?"], timestamps=[[3.2, 9.0]])
    text = processor.tokenizer.decode(forward["input_ids"][0])
    assert text.index("Frame 1 (at 3.2 s): <|vision_start|>") < text.index("Frame 2 (at 9.0 s): <|vision_start|>")
    assert forward["image_grid_thw"].shape[0] == 2  # two images, not one 2-frame temporal patch
    swapped = build_stage_inputs(
        model.config, processor, "evidence", [frames[::-1].copy()], ["Why?"], timestamps=[[3.2, 9.0]]
    )
    with torch.no_grad():
        assert not torch.allclose(model(**forward).logits, model(**swapped).logits)


# What the Hub repositories ship: no per-frame cap worth the name (12.8 M / 16.8 M pixels per image).
HUB_IMAGE_SIZES = {
    "qwen2_5_vl": ({"shortest_edge": 3136, "longest_edge": 12845056}, VexQwen2_5_VLReasonerConfig),
    "qwen3_vl": ({"shortest_edge": 65536, "longest_edge": 16777216}, VexQwen3VLReasonerConfig),
}


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
@pytest.mark.parametrize("presentation", ["images", "video"])
def test_a_1080p_frame_is_capped_by_the_config_defaults(family, presentation):
    _, processor = build_tiny_reasoner(family)
    hub_size, config_class = HUB_IMAGE_SIZES[family]
    processor.image_processor.size = dict(hub_size)
    frames = np.zeros((2, 1080, 1920, 3), dtype=np.uint8)
    grid_key = "image_grid_thw" if presentation == "images" else "video_grid_thw"

    def tokens(config) -> int:
        grids = build_stage_inputs(config, processor, "evidence", [frames], ["Why?"])[grid_key]
        return int(grids.prod(dim=1).sum()) // 4  # 2×2 patches merge into one token

    capped = tokens(config_class(frame_presentation=presentation))
    units = 2 if presentation == "images" else 1  # a 2-frame video is one temporal patch
    print(f"{family} {presentation}, two 1080p frames: {capped} visual tokens")
    assert 128 * units <= capped <= 768 * units  # qwen-vl-utils' per-frame budget
    if presentation == "images":  # what the Hub's image processor alone gives (Qwen2.5-VL: 2641 per frame)
        uncapped = tokens(config_class(frame_presentation=presentation, min_pixels=None, max_pixels=None))
        print(f"{family} images without the config's bounds: {uncapped} visual tokens")
        assert uncapped > 2.5 * capped


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava"])
def test_training_targets_reuse_the_inference_prompt(family, clips):
    model, processor = build_tiny_reasoner(family)
    questions, options = ["What colour is the car?", "Why does it stop?"], [["red", "blue"], None]
    evidence = ["The <obj_start>car<obj_end><box_start>[1, 2, 3, 4]<box_end> is red.", "A light turns red."]
    targets = ["A", "Because the light is red."]
    kwargs = {"timestamps": [[0.0, 1.5, 4.0], [2.0, 2.5]]}
    prompt = build_stage_inputs(model.config, processor, "answer", clips, questions, options, evidence, **kwargs)
    train = build_stage_inputs(
        model.config, processor, "answer", clips, questions, options, evidence,
        targets=targets, padding_side="right", **kwargs,
    )  # fmt: skip
    tokenizer = processor.tokenizer
    for row, target in enumerate(targets):
        prompt_ids = prompt["input_ids"][row][prompt["attention_mask"][row].bool()]
        train_ids = train["input_ids"][row][train["attention_mask"][row].bool()]
        assert torch.equal(train_ids[: len(prompt_ids)], prompt_ids)  # training sees the inference prompt
        labels = train["labels"][row]
        learned = labels[labels != -100]
        assert tokenizer.decode(learned) == f"{target}<|im_end|>\n"
        assert torch.equal(learned, train_ids[len(prompt_ids) :])
    assert train["attention_mask"][1][-1] == 0 or train["attention_mask"][0][-1] == 0  # right padding
    with torch.no_grad():
        loss = model(**train).loss
    assert torch.isfinite(loss)
