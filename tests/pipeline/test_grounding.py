"""Spatial grounding wiring with tiny random GroundingDINO and CLIP models built from configs.

Random weights mean random boxes: these tests check that boxes are pixel boxes inside the frame, that every
candidate goes through the CLIP check, and that a box failing a check is dropped *and recorded*.
"""

from __future__ import annotations

import numpy as np
import pytest
from doubles.grounding_models import (
    save_tiny_grounding_models,
    tiny_clip,
    tiny_grounding_dino,
)

from videoespresso_hf.pipeline.stages.grounding import SpatialGrounder, detector_prompt

H, W = 72, 120


@pytest.fixture(scope="module")
def models():
    return tiny_grounding_dino(seed=0), tiny_clip(seed=0)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (rng.random((H, W, 3)) * 255).astype(np.uint8)


def _grounder(models, **kwargs) -> SpatialGrounder:
    (detector, detector_processor), (clip, clip_processor) = models
    kwargs.setdefault("box_threshold", 0.0)
    kwargs.setdefault("text_threshold", 0.0)
    return SpatialGrounder(detector, detector_processor, clip, clip_processor, **kwargs)


def test_detector_prompt_follows_grounding_dino_convention():
    assert detector_prompt("  Red  Car. ") == "red car."


def test_boxes_are_pixel_boxes_inside_the_frame_and_every_candidate_is_checked(models, frame):
    labels = ["red car", "woman", "red car"]
    result = _grounder(models, max_boxes_per_object=3, background_prompts=()).ground(frame, labels)
    assert list(result) == ["red car", "woman"]  # duplicates grounded once, order kept
    checks = [check for found in result.values() for check in found]
    assert all(len(found) == 3 for found in result.values())
    for check in checks:
        x1, y1, x2, y2 = check.box
        assert 0 <= x1 <= x2 <= W and 0 <= y1 <= y2 <= H
        assert check.clip_prob is not None and 0.0 <= check.clip_prob <= 1.0
        assert check.kept == (check.clip_top == check.label)
        assert check.kept or check.reason.startswith("clip_mismatch")
    scores = [check.detector_score for check in result["red car"]]
    assert scores == sorted(scores, reverse=True)
    # Without background prompts the CLIP top-1 is one of the two labels: both outcomes occur over 6 boxes.
    assert {check.kept for check in checks} == {True, False}


def test_a_box_failing_the_clip_check_is_dropped_and_recorded(models, frame):
    result = _grounder(models, clip_min_prob=1.01).ground(frame, ["dog"])
    assert result["dog"] and not any(check.kept for check in result["dog"])
    assert all(check.reason.startswith("clip_mismatch") for check in result["dog"])
    assert all(check.to_dict()["box"] == list(check.box) for check in result["dog"])


def test_degenerate_boxes_are_dropped_before_clip(models, frame):
    result = _grounder(models, min_box_side=10_000).ground(frame, ["dog"])
    assert all(not c.kept and c.reason == "degenerate_box" and c.clip_prob is None for c in result["dog"])


def test_labels_split_over_several_passes_give_the_same_boxes(models, frame):
    labels = ["dog", "red car", "woman"]
    one_pass = _grounder(models, background_prompts=()).ground(frame, labels)
    per_label = _grounder(models, background_prompts=(), labels_per_pass=1).ground(frame, labels)
    for label in labels:
        assert [c.box for c in one_pass[label]] == [c.box for c in per_label[label]]


def test_thresholds_filter_candidates(models, frame):
    assert _grounder(models, box_threshold=1.0).ground(frame, ["dog"]) == {"dog": []}
    assert _grounder(models).ground(frame, []) == {}


def test_from_pretrained_loads_saved_models_like_a_real_build(tmp_path, frame):
    paths = save_tiny_grounding_models(tmp_path, seed=1)
    grounder = SpatialGrounder.from_pretrained(
        paths["detector"], paths["clip"], box_threshold=0.0, text_threshold=0.0, max_boxes_per_object=2
    )
    assert grounder.model_ids == {"detector": paths["detector"], "clip": paths["clip"]}
    found = grounder.ground(frame, ["chair"])["chair"]
    assert len(found) == 2 and all(0 <= c.box[2] <= W and 0 <= c.box[3] <= H for c in found)
