"""Reasoner: Auto round trip, two-stage wiring, prompts from the config (letters: test_answer_letters.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from doubles.tiny_models import build_tiny_reasoner
from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoProcessor

from videoespresso_hf.models.reasoner.configuration_reasoner import (
    VexLlavaReasonerConfig,
    VexQwen2_5_VLReasonerConfig,
    VexQwen3VLReasonerConfig,
)
from videoespresso_hf.models.reasoner.modeling_reasoner import (
    VexLlavaReasonerForConditionalGeneration,
    VexQwen2_5_VLReasonerForConditionalGeneration,
    VexQwen3VLReasonerForConditionalGeneration,
    build_stage_inputs,
    format_options,
)

FAMILIES = [
    ("qwen2_5_vl", VexQwen2_5_VLReasonerConfig, VexQwen2_5_VLReasonerForConditionalGeneration),
    ("qwen3_vl", VexQwen3VLReasonerConfig, VexQwen3VLReasonerForConditionalGeneration),
    ("llava", VexLlavaReasonerConfig, VexLlavaReasonerForConditionalGeneration),
]


def _contains(sequence: list[int], part: list[int]) -> bool:
    return any(sequence[start : start + len(part)] == part for start in range(len(sequence) - len(part) + 1))


@pytest.mark.parametrize(("family", "config_class", "model_class"), FAMILIES)
def test_save_and_auto_from_pretrained_give_identical_outputs(
    tmp_path, clips, family, config_class, model_class
):
    model, processor = build_tiny_reasoner(family, seed=3)
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file()
    assert not list(tmp_path.glob("*.bin"))

    assert type(AutoConfig.from_pretrained(tmp_path)) is config_class
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path).eval()
    assert type(reloaded) is model_class
    assert type(AutoModel.from_pretrained(tmp_path)) is model_class
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(reloaded_processor).__name__ == type(processor).__name__

    questions, options = ["What colour is the car?", "Why does it stop?"], [["red", "blue", "green"], None]
    before = model.generate_two_stage(processor, clips, questions, options)
    after = reloaded.generate_two_stage(reloaded_processor, clips, questions, options)
    assert [(o.evidence, o.answer, o.letter) for o in before] == [
        (o.evidence, o.answer, o.letter) for o in after
    ]
    assert all(
        torch.equal(a.answer_input_ids, b.answer_input_ids) for a, b in zip(before, after, strict=True)
    )

    inputs = build_stage_inputs(model.config, processor, "evidence", clips, ["describe"] * 2)
    with torch.no_grad():
        assert torch.allclose(model(**inputs).logits, reloaded(**inputs).logits, atol=1e-6)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl", "llava"])
def test_stage_two_sees_stage_one_evidence(clips, family):
    model, processor = build_tiny_reasoner(family, seed=1)
    outputs = model.generate_two_stage(
        processor, clips, ["What happens?", "Who is there?"], [["run", "walk"], None]
    )
    tokenizer = processor.tokenizer
    for output in outputs:
        assert output.evidence  # random weights still emit tokens
        assert (
            "Please provide evidence" in output.evidence_prompt and "Evidence:" not in output.evidence_prompt
        )
        assert f"Evidence: {output.evidence}\n" in output.answer_prompt
        evidence_ids = tokenizer(output.evidence, add_special_tokens=False)["input_ids"]
        assert _contains(output.answer_input_ids.tolist(), evidence_ids)
    assert outputs[0].answer_prompt.endswith(model.config.multiple_choice_suffix)
    assert "(A) run\n(B) walk\n" in outputs[0].answer_prompt
    assert not outputs[1].answer_prompt.endswith(model.config.multiple_choice_suffix)
    assert outputs[1].letter is None


def test_prompts_live_in_the_saved_config(tmp_path, clips):
    model, processor = build_tiny_reasoner(
        "qwen2_5_vl",
        evidence_prompt="Q: {question}\n{options}List the clues.",
        answer_prompt="{evidence} => {question}",
    )
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path)
    assert reloaded.config.evidence_prompt == "Q: {question}\n{options}List the clues."
    output = reloaded.answer(AutoProcessor.from_pretrained(tmp_path), clips[0], "Where?")
    assert output.evidence_prompt == "Q: Where?\nList the clues."
    assert output.answer_prompt == f"{output.evidence} => Where?"


def test_batched_answers_match_one_by_one(clips):
    model, processor = build_tiny_reasoner("qwen2_5_vl", seed=5)
    questions = ["A short one?", "A much longer question about what happens in the clip?"]
    batched = model.generate_two_stage(processor, clips, questions)
    single = [
        model.answer(processor, clip, question) for clip, question in zip(clips, questions, strict=True)
    ]
    assert [o.evidence for o in batched] == [o.evidence for o in single]
    assert [o.answer for o in batched] == [o.answer for o in single]


def test_mismatched_batch_is_rejected(clips):
    model, processor = build_tiny_reasoner("qwen2_5_vl")
    with pytest.raises(ValueError, match="2 videos for 1 questions"):
        model.generate_two_stage(processor, clips, ["only one"])


@pytest.mark.parametrize("presentation", ["images", "video"])
@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_one_frame_clip(family, presentation):
    """One core frame (the selector keeps one, --max-core-frames 1, a clip under 1 s) must be answerable.

    As a "video", Qwen3-VL's processor refuses clips shorter than its temporal patch (2 frames).
    """
    model, processor = build_tiny_reasoner(family, seed=2, frame_presentation=presentation)
    frame = np.random.default_rng(3).integers(0, 256, (1, 64, 64, 3), dtype=np.uint8)
    metadata = {"total_num_frames": 10, "fps": 10.0, "frames_indices": [4]}
    output = model.generate_two_stage(processor, [frame], ["Why?"], [["yes", "no"]], video_metadata=[metadata])[0]
    assert output.evidence and len(output.answer_input_ids) > 0
    assert metadata["frames_indices"] == [4]  # the caller's metadata is not modified


def test_format_options():
    assert format_options(["x", "y"], "({letter}) {option}\n", "ABC") == "(A) x\n(B) y\n"
    assert format_options(None, "({letter}) {option}\n", "ABC") == ""
    with pytest.raises(ValueError, match="4 options"):
        format_options(["1", "2", "3", "4"], "({letter}) {option}\n", "ABC")


def test_default_configs_describe_the_real_backbones():
    qwen25, qwen3, llava = VexQwen2_5_VLReasonerConfig(), VexQwen3VLReasonerConfig(), VexLlavaReasonerConfig()
    assert qwen25.base_model_id == "Qwen/Qwen2.5-VL-7B-Instruct"
    assert qwen3.base_model_id == "Qwen/Qwen3-VL-8B-Instruct"
    assert llava.base_model_id == "llava-hf/llava-interleave-qwen-7b-hf"
    assert "provide evidence" in qwen25.evidence_prompt and "{evidence}" in qwen25.answer_prompt
    # llava-interleave-qwen-7b-hf: SigLIP-so400m/14 at 384 px without head, every patch kept, <image> = 151646
    assert (llava.vision_config.model_type, llava.vision_config.image_size) == ("siglip_vision_model", 384)
    assert llava.vision_config.vision_use_head is False and llava.text_config.model_type == "qwen2"
    assert (llava.image_token_id, llava.vision_feature_select_strategy, llava.vision_feature_layer) == (
        151646,
        "full",
        -1,
    )
    # core frames are separate images by default; per-frame pixel caps are qwen-vl-utils' 128..768 tokens
    assert {qwen25.frame_presentation, qwen3.frame_presentation, llava.frame_presentation} == {"images"}
    assert (qwen25.min_pixels, qwen25.max_pixels) == (128 * 28 * 28, 768 * 28 * 28)
    assert (qwen3.min_pixels, qwen3.max_pixels) == (128 * 32 * 32, 768 * 32 * 32)
    assert qwen25.evidence_max_new_tokens == 512


def test_base_qwen_checkpoint_weights_load_into_the_reasoner(tmp_path):
    """Native Qwen2.5-VL checkpoints (as on the Hub) keep pre-5.0 key names; the reasoner must rename them too."""
    from doubles.tiny_models import build_tiny_captioner

    base, _ = build_tiny_captioner("qwen2_5_vl", seed=6)
    base.save_pretrained(tmp_path)
    reasoner = VexQwen2_5_VLReasonerForConditionalGeneration.from_pretrained(tmp_path)
    expected = base.state_dict()
    assert set(reasoner.state_dict()) == set(expected)
    for name, tensor in reasoner.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
