from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.video import (
    SampledFrames,
    VideoMetadata,
    fps_indices,
    sample_fps,
    sample_uniform,
    timestamps_of,
    uniform_indices,
)


@pytest.mark.parametrize(("num_frames", "n"), [(100, 16), (1800, 64), (17, 16), (2, 2), (1000, 1)])
def test_uniform_indices_properties(num_frames, n):
    indices = uniform_indices(num_frames, n)
    assert len(indices) == n
    assert indices.dtype == np.int64
    assert np.all(np.diff(indices) > 0)
    assert indices.min() >= 0 and indices.max() < num_frames
    if n > 1:
        assert indices[0] == 0 and indices[-1] == num_frames - 1
        gaps = np.diff(indices)
        assert gaps.max() - gaps.min() <= 1  # evenly spread


def test_uniform_indices_short_video():
    assert list(uniform_indices(5, 8)) == [0, 1, 2, 3, 4]
    repeated = uniform_indices(5, 8, allow_repeats=True)
    assert len(repeated) == 8 and set(repeated) == {0, 1, 2, 3, 4}
    with pytest.raises(ValueError):
        uniform_indices(0, 4)
    with pytest.raises(ValueError):
        uniform_indices(10, 0)


def test_fps_indices_one_per_second():
    assert list(fps_indices(240, 24.0, 1.0)) == [0, 24, 48, 72, 96, 120, 144, 168, 192, 216]
    assert list(fps_indices(240, 24.0, 4.0)[:5]) == [0, 6, 12, 18, 24]
    assert len(fps_indices(240, 24.0, 4.0)) == 40


def test_fps_indices_non_integer_rates():
    indices = fps_indices(300, 29.97, 2.0)
    times = indices / 29.97
    np.testing.assert_allclose(np.diff(times), 0.5, atol=1 / 29.97)
    assert len(indices) == 21  # 10.01 s -> samples at 0, 0.5, ..., 10.0


def test_fps_indices_range_and_limits():
    assert list(fps_indices(240, 24.0, 1.0, start_frame=50, end_frame=100)) == [50, 74, 98]
    assert list(fps_indices(10, 24.0, 1.0)) == [0]  # a short range still gets its first frame
    assert list(fps_indices(5, 10.0, 30.0)) == [0, 1, 2, 3, 4]  # never more than every frame
    assert len(fps_indices(240, 24.0, 1.0, start_frame=240)) == 0
    with pytest.raises(ValueError):
        fps_indices(10, 24.0, 0.0)


def test_sample_helpers_return_indices_and_timestamps():
    meta = VideoMetadata(
        path="x.mp4", fps=25.0, num_frames=250, duration=10.0, width=64, height=48, codec="h264"
    )
    uniform = sample_uniform(meta, 5)
    assert isinstance(uniform, SampledFrames) and len(uniform) == 5
    np.testing.assert_allclose(uniform.timestamps, uniform.indices / 25.0)
    per_second = sample_fps(meta, 1.0)
    assert list(per_second.timestamps) == [float(t) for t in range(10)]
    np.testing.assert_allclose(timestamps_of(np.array([0, 50]), 25.0), [0.0, 2.0])
