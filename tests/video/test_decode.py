"""Frames decoded by every backend are the right frames (checked through the stamped frame index)."""

from __future__ import annotations

import numpy as np
import pytest

from videoespresso_hf.testing.videos import read_stamped_index
from videoespresso_hf.video import (
    VideoReader,
    available_backends,
    read_frames,
    read_frames_at,
    uniform_indices,
)

BACKENDS = available_backends()


def stamps(frames: np.ndarray) -> list[int]:
    return [read_stamped_index(frame) for frame in frames]


def test_pyav_backends_always_available():
    assert {"pyav", "pyav-seek", "pyav-sequential"} <= set(BACKENDS)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("video", ["stamped_video", "stamped_short_gop_video"])
def test_frames_at_indices_are_exact(request, backend, video):
    spec = request.getfixturevalue(video)
    rng = np.random.default_rng(0)
    with VideoReader(spec.path, backend=backend) as reader:
        assert reader.num_frames == len(reader) == spec.num_frames
        # Several calls on one reader: sorted, unsorted with repeats, backwards, first/last frames.
        requests = [
            uniform_indices(spec.num_frames, 16),
            rng.integers(0, spec.num_frames, 25),
            np.array([spec.num_frames - 1, 0, 100, 99, 100]),
            np.arange(40, 60),
        ]
        for indices in requests:
            frames = reader.get_frames(indices)
            assert frames.shape == (len(indices), spec.height, spec.width, 3)
            assert frames.dtype == np.uint8
            assert stamps(frames) == list(indices)
            segments = [spec.identify_segment(frame) for frame in frames]
            assert segments == list(spec.frame_segment[indices])


@pytest.mark.parametrize("backend", BACKENDS)
def test_backends_agree_pixel_for_pixel(stamped_short_gop_video, backend):
    indices = [0, 7, 33, 80, 81, 150, 199]
    reference = read_frames(stamped_short_gop_video.path, indices, backend="pyav-sequential")
    frames = read_frames(stamped_short_gop_video.path, indices, backend=backend)
    # Same decoded pictures; the YUV->RGB conversion may differ by rounding between libraries.
    assert np.abs(frames.astype(np.int16) - reference.astype(np.int16)).mean() < 2.0


def test_timestamps_and_frames_at_times(stamped_video):
    with VideoReader(stamped_video.path) as reader:
        assert reader.frame_timestamps.shape == (stamped_video.num_frames,)
        np.testing.assert_allclose(
            reader.frame_timestamps, np.arange(stamped_video.num_frames) / 24, atol=1e-6
        )
        times = [0.0, 1.0, 2.5, 2.52, 7.99, 100.0]
        expected = [0, 24, 60, 60, 191, 191]
        assert list(reader.indices_at(times)) == expected
        assert stamps(reader.get_frames_at(times)) == expected
    assert stamps(read_frames_at(stamped_video.path, [1.0, 3.0])) == [24, 72]


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_while_decoding(stamped_video, backend):
    with VideoReader(stamped_video.path, backend=backend, size=(48, 32)) as reader:
        frames = reader.get_frames([0, 100])
        assert frames.shape == (2, 32, 48, 3)
        assert (reader.metadata.width, reader.metadata.height) == (96, 64)  # metadata describes the file
    assert stamped_video.identify_segment(frames[1]) == stamped_video.frame_segment[100]


def test_empty_and_out_of_range_requests(stamped_video):
    with VideoReader(stamped_video.path) as reader:
        assert reader.get_frames([]).shape == (0, 64, 96, 3)
        with pytest.raises(IndexError, match="out of range"):
            reader.get_frames([0, stamped_video.num_frames])
        with pytest.raises(IndexError):
            reader.get_frames([-1])
        assert "pyav" in repr(reader)


def test_unknown_backend(stamped_video):
    with pytest.raises(ValueError, match="unknown backend"):
        VideoReader(stamped_video.path, backend="ffmpeg-cli")
