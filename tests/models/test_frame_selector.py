"""Frame Selector: max_core_frames, valid indices/timestamps, Auto round trip, trainable chooser, selection rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from doubles.tiny_models import build_tiny_selector
from transformers import AutoConfig, AutoModel, AutoProcessor

from videoespresso_hf.models.frame_selector.configuration_frame_selector import (
    DEFAULT_CAPTIONER,
    DEFAULT_CHOOSER,
    VexFrameSelectorConfig,
)
from videoespresso_hf.models.frame_selector.modeling_frame_selector import (
    VexFrameSelectorModel,
    choose_frames,
)
from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor


@pytest.fixture(scope="module")
def selector():
    return build_tiny_selector(seed=2)


@pytest.fixture(scope="module")
def candidates():
    return np.random.default_rng(1).integers(0, 256, (7, 48, 80, 3), dtype=np.uint8)


@pytest.mark.parametrize("max_core_frames", [1, 2, 3])
@pytest.mark.parametrize("threshold", [0.0, 0.5, 1.1])
def test_select_respects_max_core_frames_and_returns_valid_frames(selector, candidates, max_core_frames, threshold):
    model, processor = selector
    model.config.score_threshold = threshold
    try:
        indices = [0, 12, 24, 36, 48, 60, 72]
        timestamps = [index / 12 for index in indices]
        selection = model.select(
            processor, candidates, "Why?", frame_indices=indices, timestamps=timestamps, max_core_frames=max_core_frames
        )
    finally:
        model.config.score_threshold = 0.5
    assert 1 <= len(selection.indices) <= max_core_frames
    if threshold == 0.0:  # every frame passes: exactly max_core_frames
        assert len(selection.indices) == max_core_frames
    if threshold > 1.0:  # no frame passes: min_core_frames (1)
        assert len(selection.indices) == 1
    assert selection.indices == sorted(selection.indices) and set(selection.indices) <= set(indices)
    assert selection.timestamps == [index / 12 for index in selection.indices]
    assert len(selection.scores) == len(selection.captions) == len(selection.indices)
    assert all(0.0 <= score <= 1.0 for score in selection.candidate_scores)
    best = sorted(range(7), key=lambda p: -selection.candidate_scores[p])[: len(selection.indices)]
    assert sorted(indices[p] for p in best) == selection.indices  # the best-scored candidates were chosen
    assert len(selection.candidate_captions) == 7


def test_scores_depend_on_the_question(selector):
    model, processor = selector
    captions = ["a red car", "a dog runs", "an empty street"]
    first = model.score_captions(processor, "Where is the dog?", captions, [0.0, 1.0, 2.0])
    second = model.score_captions(processor, "What colour is the car?", captions, [0.0, 1.0, 2.0])
    assert first != second
    single = [
        model.score_captions(processor, "Where is the dog?", [c], [t])[0]
        for c, t in zip(captions, [0.0, 1.0, 2.0], strict=True)
    ]
    assert np.allclose(first, single, atol=1e-5)  # left padding does not change a prompt's score


def test_default_timestamps_come_from_candidate_positions(selector, candidates):
    """frame_indices count source-video frames (12 fps here); the candidates were sampled at 1 fps."""
    model, processor = selector
    captions = [f"frame {k}" for k in range(len(candidates))]
    indices = [12 * k for k in range(len(candidates))]
    selection = model.select(processor, None, "Why?", frame_indices=indices, captions=captions)
    assert selection.timestamps == [index / 12 for index in selection.indices]


def test_bad_requests_fail_clearly(selector, candidates):
    model, processor = selector
    with pytest.raises(ValueError, match="max_core_frames must be at least 1"):
        model.select(processor, candidates, "q", max_core_frames=0)
    with pytest.raises(ValueError, match="no candidate frames"):
        model.select(processor, candidates[:0], "q")
    with pytest.raises(ValueError, match="min_core_frames <= max_core_frames"):
        VexFrameSelectorConfig(max_core_frames=1, min_core_frames=2)


def test_save_then_auto_from_pretrained_gives_identical_selection(tmp_path, selector, candidates):
    model, processor = selector
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not list(tmp_path.rglob("*.bin"))
    assert type(AutoConfig.from_pretrained(tmp_path)) is VexFrameSelectorConfig
    reloaded = AutoModel.from_pretrained(tmp_path)
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path)
    assert type(reloaded) is VexFrameSelectorModel and type(reloaded_processor) is VexFrameSelectorProcessor
    before = model.select(processor, candidates, "What is on the table?")
    after = reloaded.select(reloaded_processor, candidates, "What is on the table?")
    assert before == after
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name


def test_processor_loads_from_a_subfolder(tmp_path, selector):
    _, processor = selector
    processor.save_pretrained(tmp_path / "selector")
    reloaded = VexFrameSelectorProcessor.from_pretrained(tmp_path, subfolder="selector")
    assert reloaded.chooser_tokenizer.get_vocab() == processor.chooser_tokenizer.get_vocab()
    assert type(reloaded.captioner_processor) is type(processor.captioner_processor)


def test_forward_gives_a_loss_that_training_lowers(selector):
    model, processor = build_tiny_selector(seed=4)
    tokenizer = processor.chooser_tokenizer
    model.set_answer_tokens(tokenizer)
    inputs = model.chooser_inputs(
        tokenizer, ["Where is the dog?"] * 4, ["a dog", "a car", "a dog again", "sky"], [0.0, 1.0, 2.0, 3.0]
    )
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    model.train()
    optimizer = torch.optim.AdamW(model.chooser.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        output = model(**inputs, labels=labels)
        losses.append(output.loss.item())
        output.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert output.scores.shape == (4,) and output.logits.shape == (4,)
    assert losses[-1] < losses[0] * 0.5
    model.eval()
    scores = model(**inputs).scores
    assert scores[0] > 0.5 > scores[1] and scores[2] > 0.5 > scores[3]


@pytest.mark.parametrize(
    ("scores", "max_core_frames", "min_core_frames", "threshold", "expected"),
    [
        ([0.1, 0.9, 0.8, 0.7], 2, 1, 0.5, [1, 2]),
        ([0.1, 0.9, 0.2, 0.3], 3, 1, 0.5, [1]),
        ([0.1, 0.2, 0.3], 3, 1, 0.5, [2]),  # nothing passes: the best one
        ([0.1, 0.2, 0.3], 3, 2, 0.5, [1, 2]),
        ([0.5, 0.5, 0.5], 2, 1, 0.5, [0, 1]),  # ties keep earlier frames
        ([0.4], 3, 2, 0.5, [0]),
    ],
)
def test_choose_frames(scores, max_core_frames, min_core_frames, threshold, expected):
    assert choose_frames(scores, max_core_frames, min_core_frames, threshold) == expected


def test_default_config_is_the_documented_real_architecture():
    config = VexFrameSelectorConfig()
    assert (config.captioner_id, config.chooser_id) == (DEFAULT_CAPTIONER, DEFAULT_CHOOSER)
    assert config.captioner_config.model_type == "internvl"
    assert config.captioner_config.text_config.hidden_size == 896
    assert config.captioner_config.vision_config.num_hidden_layers == 24
    assert config.chooser_config.model_type == "qwen2" and config.chooser_config.num_hidden_layers == 24
    round_trip = VexFrameSelectorConfig.from_dict(config.to_dict())
    assert round_trip.chooser_config.to_dict() == config.chooser_config.to_dict()


def test_internvl_captioner_assembled_from_component_checkpoints(tmp_path, candidates):
    """The real default's family (InternVL captioner + Qwen2 chooser), assembled like from the Hub ids."""
    from doubles.tiny_models import build_tiny_captioner, tiny_chooser

    captioner, captioner_processor = build_tiny_captioner("internvl", seed=1)
    chooser, chooser_tokenizer = tiny_chooser(seed=2)
    for folder, parts in (
        ("captioner", (captioner, captioner_processor)),
        ("chooser", (chooser, chooser_tokenizer)),
    ):
        for part in parts:
            part.save_pretrained(tmp_path / folder)

    model = VexFrameSelectorModel.from_components(
        str(tmp_path / "captioner"), str(tmp_path / "chooser"), max_core_frames=2
    )
    processor = VexFrameSelectorProcessor.from_components(
        str(tmp_path / "captioner"), str(tmp_path / "chooser")
    )
    assert model.config.captioner_config.model_type == "internvl" and model.config.max_core_frames == 2
    assert model.config.caption_processor_kwargs == {"crop_to_patches": False}  # one tile per frame
    assert model.config.captioner_id == str(tmp_path / "captioner")

    selection = model.select(processor, candidates, "What is on the table?")
    assert 1 <= len(selection.indices) <= 2 and len(selection.candidate_captions) == len(candidates)

    model.save_pretrained(tmp_path / "selector")
    processor.save_pretrained(tmp_path / "selector")
    reloaded = AutoModel.from_pretrained(tmp_path / "selector")
    reloaded_processor = AutoProcessor.from_pretrained(tmp_path / "selector")
    assert type(reloaded_processor.captioner_processor).__name__ == "InternVLProcessor"
    assert reloaded.select(reloaded_processor, candidates, "What is on the table?") == selection
