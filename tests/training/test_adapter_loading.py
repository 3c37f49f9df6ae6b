"""A LoRA adapter saved by training loads on its base model with the frame pixel bounds it was trained with.

Only a merged checkpoint carries the reasoner config; an adapter folder has none, so the bounds travel in
the processor saved next to the adapter (what ``AutoProcessor.from_pretrained(adapter)`` reads).
"""

from __future__ import annotations

import json

from training.conftest import GOOD_IDS

from videoespresso_hf.models.hybrid import HybridVideoQA
from videoespresso_hf.training import ReasonerTrainingArguments, train_reasoner
from videoespresso_hf.training.reasoner import load_reasoner_for_training
from videoespresso_hf.training.reasoner_data import build_sample
from videoespresso_hf.training.rows import load_rows


def _visual_tokens(processor, config, row) -> tuple[list[list[int]], int]:
    """What one sample costs in vision: the ``image_grid_thw`` of its frames and its image-token count."""
    sample = build_sample(processor, config, row, "1", max_length=6144)
    image_tokens = int((sample["input_ids"] == processor.tokenizer.convert_tokens_to_ids(processor.image_token)).sum())
    return sample["image_grid_thw"].tolist(), image_tokens


def test_adapter_loads_with_the_frame_pixels_it_was_trained_with(reasoner_path, prepared_data, tmp_path):
    from transformers import AutoProcessor

    adapter = train_reasoner(ReasonerTrainingArguments(
        model=str(reasoner_path), data=str(prepared_data), config="generated", output_dir=str(tmp_path / "out"),
        stage="1", max_steps=1, effective_batch_size=2, per_device_batch_size=2, dataloader_num_workers=0,
        trainer_overrides={"activation_checkpointing": False}))["stage1"]  # fmt: skip
    trained = json.loads((adapter / "training_summary.json").read_text())["frame_pixels"]
    assert trained == {"min_pixels": 224 * 224, "max_pixels": 224 * 224}
    base, base_processor = load_reasoner_for_training(str(reasoner_path))
    assert base.config.max_pixels != trained["max_pixels"]  # the base model's own bounds differ (else this proves nothing)

    # transformers users: the processor saved with the adapter holds training's bounds.
    processor = AutoProcessor.from_pretrained(adapter, trust_remote_code=True)
    size = processor.image_processor.size
    assert (size["shortest_edge"], size["longest_edge"]) == (trained["min_pixels"], trained["max_pixels"])

    # answer / predict load an adapter folder as the reasoner: its base model, the adapter, training's bounds.
    qa = HybridVideoQA.from_pretrained(str(adapter), strategy="uniform")
    assert any(name.endswith("lora_A") for name, _ in qa.reasoner.named_modules())
    config = qa.reasoner.config
    assert {"min_pixels": config.min_pixels, "max_pixels": config.max_pixels} == trained
    # ... so a frame costs the visual tokens it cost in training.
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[3])
    training_config = load_reasoner_for_training(str(reasoner_path), frame_size=224)[0].config  # as training loads it
    seen_in_training = _visual_tokens(base_processor, training_config, row)
    assert _visual_tokens(qa.reasoner_processor, config, row) == seen_in_training
    assert seen_in_training != _visual_tokens(base_processor, base.config, row)

    # An explicit setting still wins over the adapter's bounds.
    qa = HybridVideoQA.from_pretrained(str(adapter), strategy="uniform", min_pixels=56 * 56, max_pixels=112 * 112)
    assert (qa.reasoner.config.min_pixels, qa.reasoner.config.max_pixels) == (56 * 56, 112 * 112)
