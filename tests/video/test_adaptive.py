from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.video import (
    AdaptiveSamplingConfig,
    Shot,
    VideoMetadata,
    choose_fps,
    motion_score,
    plan_adaptive_sampling,
    plan_from_motion,
)


def test_static_shots_get_1fps_and_moving_shots_at_least_2fps(shots_video):
    plan = plan_adaptive_sampling(shots_video.path)
    assert len(plan.shots) == 5
    kinds = [decision.kind for decision in plan.shots]
    assert kinds == ["static", "dynamic", "dynamic", "static", "static"]
    for decision, segment in zip(plan.shots, shots_video.segments, strict=True):
        if segment.kind == "static":
            assert decision.fps == 1.0
            assert decision.motion < 0.02
        else:
            assert 2.0 <= decision.fps <= 4.0
            assert decision.motion >= 0.02
        assert decision.reason
    # The sampled frames: 1 per second in static shots, >= 2 per second in moving ones.
    for (start, end), segment in zip(shots_video.segment_ranges, shots_video.segments, strict=True):
        inside = plan.indices[(plan.indices >= start) & (plan.indices < end)]
        seconds = (end - start) / shots_video.fps
        if segment.kind == "static":
            assert len(inside) == round(seconds)
        else:
            assert len(inside) >= 2 * seconds
    assert np.all(np.diff(plan.indices) > 0)
    np.testing.assert_allclose(plan.timestamps, plan.indices / 24.0, atol=1e-6)
    assert plan.metadata.num_frames == shots_video.num_frames


def test_thresholds_are_configurable(shots_video):
    everything_static = AdaptiveSamplingConfig(static_threshold=0.5, high_motion_threshold=0.9)
    plan = plan_adaptive_sampling(shots_video.path, everything_static)
    assert {decision.fps for decision in plan.shots} == {1.0}
    capped = plan_adaptive_sampling(shots_video.path, AdaptiveSamplingConfig(max_frames=6))
    assert len(capped) == 6


def test_precomputed_shots_are_used(shots_video):
    plan = plan_adaptive_sampling(shots_video.path, shots=[Shot(0, 264, 0.0, 11.0)])
    assert len(plan.shots) == 1 and plan.shots[0].kind == "dynamic"


def test_motion_score():
    still = np.full((3, 8, 8), 100, dtype=np.uint8)
    assert motion_score(still) == 0.0
    flicker = np.stack([np.zeros((8, 8, 3)), np.full((8, 8, 3), 255.0)])
    assert motion_score(flicker) == pytest.approx(1.0)
    assert motion_score(still[:1]) == 0.0


def test_choose_fps_rule():
    config = AdaptiveSamplingConfig()
    assert choose_fps(0.0, 5.0, config)[:2] == (1.0, "static")
    assert choose_fps(0.02, 5.0, config)[:2] == (2.0, "dynamic")
    assert choose_fps(0.05, 5.0, config)[:2] == (3.0, "dynamic")
    assert choose_fps(0.5, 5.0, config)[:2] == (4.0, "dynamic")
    fps, kind, reason = choose_fps(0.0, 0.5, config)  # rapid cuts count as dynamic
    assert (fps, kind) == (2.0, "dynamic") and "rapid cuts" in reason
    assert choose_fps(0.0, 0.5, AdaptiveSamplingConfig(fast_cut_seconds=None))[1] == "static"


def test_plan_from_motion_is_pure():
    meta = VideoMetadata(
        path="x.mp4", fps=10.0, num_frames=100, duration=10.0, width=64, height=48, codec="h264"
    )
    shots = [Shot(0, 50, 0.0, 5.0), Shot(50, 100, 5.0, 10.0)]
    indices, decisions = plan_from_motion(shots, [0.0, 0.2], meta, AdaptiveSamplingConfig())
    assert list(indices[:5]) == [0, 10, 20, 30, 40]
    assert list(indices[5:9]) == [50, 52, 55, 57]  # 4 fps at 10 fps video
    assert [d.num_samples for d in decisions] == [5, 20]


def test_invalid_config():
    with pytest.raises(ValueError):
        AdaptiveSamplingConfig(static_fps=3.0)
    with pytest.raises(ValueError):
        AdaptiveSamplingConfig(static_threshold=0.1, high_motion_threshold=0.05)
