"""The paper's backbone, LLaVA-NeXT-Interleave: base checkpoints in the Hub layout load exactly, answers work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from doubles.tiny_models import build_tiny_llava_interleave, build_tiny_reasoner
from safetensors import safe_open
from transformers import AutoProcessor, LlavaForConditionalGeneration

from videoespresso_hf.models.hybrid import HybridVideoQA
from videoespresso_hf.models.reasoner.modeling_reasoner import (
    VexLlavaReasonerForConditionalGeneration,
    build_stage_inputs,
)


@pytest.fixture(scope="module")
def base_checkpoint(tmp_path_factory):
    """A tiny llava-interleave-qwen saved by the stock classes: the layout of the Hub repository, in a Hub
    cache snapshot of llava-hf/llava-interleave-qwen-0.5b-hf."""
    model, processor = build_tiny_llava_interleave(seed=4)
    root = tmp_path_factory.mktemp("hub")
    path = root / "models--llava-hf--llava-interleave-qwen-0.5b-hf" / "snapshots" / "0123abcd"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_base_checkpoint_loads_with_no_missing_key_and_same_logits(base_checkpoint):
    with safe_open(base_checkpoint / "model.safetensors", "pt") as weights:
        keys = list(weights.keys())
    assert any(key.startswith("language_model.model.layers.") for key in keys)  # pre-5.0 names, as on the Hub

    stock = LlavaForConditionalGeneration.from_pretrained(base_checkpoint).eval()
    reasoner, info = VexLlavaReasonerForConditionalGeneration.from_pretrained(
        base_checkpoint, output_loading_info=True
    )
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert info["mismatched_keys"] == set()

    processor = AutoProcessor.from_pretrained(base_checkpoint)  # the stock LlavaProcessor
    frames = np.random.default_rng(1).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    inputs = build_stage_inputs(
        reasoner.config, processor, "evidence", [frames], ["What happens?"], timestamps=[[0.5, 2.0, 7.25]]
    )
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    assert "Frame 1 (at 0.5 s): <image>" in text and "Frame 3 (at 7.2 s): <image>" in text
    assert (inputs["input_ids"] == reasoner.config.image_token_id).sum() == 3 * 16
    with torch.no_grad():
        torch.testing.assert_close(reasoner.eval()(**inputs).logits, stock(**inputs).logits, rtol=0, atol=0)


def test_hybrid_turns_a_base_llava_checkpoint_into_the_reasoner(base_checkpoint, video):
    qa = HybridVideoQA.from_pretrained(base_checkpoint, strategy="uniform", max_core_frames=3)
    assert type(qa.reasoner) is VexLlavaReasonerForConditionalGeneration
    assert qa.reasoner.config.base_model_id == "llava-hf/llava-interleave-qwen-0.5b-hf"  # not the 7B default
    stock = LlavaForConditionalGeneration.from_pretrained(base_checkpoint)
    for name, tensor in stock.state_dict().items():
        assert torch.equal(tensor, qa.reasoner.state_dict()[name]), name
    result = qa.answer(video[0], "Which shot moves?", ["the first", "the second"])
    assert len(result.selection.indices) == 3 and result.evidence


@pytest.mark.parametrize("frames", [1, 10])
def test_one_and_ten_frame_answers(frames):
    model, processor = build_tiny_reasoner("llava", seed=2)
    clip = np.random.default_rng(frames).integers(0, 256, (frames, 48, 80, 3), dtype=np.uint8)
    output = model.answer(processor, clip, "What changes?", ["light", "sound"], timestamps=[2.0 * i for i in range(frames)])
    assert output.evidence and output.answer
    image_tokens = (output.answer_input_ids == model.config.image_token_id).sum().item()
    print(f"llava, {frames} frame(s): {len(output.answer_input_ids)} stage-2 tokens, {image_tokens} image tokens")
    assert image_tokens == 16 * frames
    rendered = processor.tokenizer.decode(output.answer_input_ids)
    assert f"Frame {frames} (at {2.0 * (frames - 1):.1f} s): <image>" in rendered


def test_llava_offers_only_the_images_presentation(clips):
    model, processor = build_tiny_reasoner("llava", frame_presentation="video")
    with pytest.raises(ValueError, match=r"frame_presentation=.video. is not supported.*use one of images"):
        model.answer(processor, clips[0], "Why?")


def test_llava_reasoner_loads_as_remote_code_without_the_package(tmp_path):
    from doubles.tiny_models import save_tiny_reasoner

    path = save_tiny_reasoner(tmp_path / "llava", "llava", seed=6)
    frames = np.random.default_rng(8).integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
    np.save(tmp_path / "frames.npy", frames)
    script = (
        "import json, sys, numpy as np, torch\n"
        "torch.set_num_threads(1)\n"
        "from transformers import AutoModelForImageTextToText, AutoProcessor\n"
        "model = AutoModelForImageTextToText.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "processor = AutoProcessor.from_pretrained(sys.argv[1], trust_remote_code=True)\n"
        "output = model.answer(processor, np.load(sys.argv[2]), 'Why?', ['a', 'b'], timestamps=[1.0, 4.0])\n"
        "imported = [name for name in sys.modules if name.startswith('videoespresso_hf')]\n"
        "print('RESULT' + json.dumps([type(model).__module__, output.evidence, output.answer, imported]))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", HF_MODULES_CACHE=str(tmp_path / "modules"))
    completed = subprocess.run(
        [sys.executable, "-c", script, str(path), str(tmp_path / "frames.npy")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    module, evidence, answer, imported = json.loads(completed.stdout.split("RESULT", 1)[1])
    assert module.startswith("transformers_modules.") and imported == []
    model = VexLlavaReasonerForConditionalGeneration.from_pretrained(path)
    expected = model.answer(AutoProcessor.from_pretrained(path), frames, "Why?", ["a", "b"], timestamps=[1.0, 4.0])
    assert [evidence, answer] == [expected.evidence, expected.answer]
