"""Frames decoded by every backend are the right frames (checked through the stamped frame index)."""

from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from videoespresso_hf.demo.videos import Segment, _draw_stamp, make_video, read_stamped_index
from videoespresso_hf.video import (
    VideoError,
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


def test_torchcodec_backend_is_available():
    """torchcodec is pinned (requirements/dev.txt): its parametrized tests must run, not vanish from BACKENDS."""
    from videoespresso_hf.video.backends import backend_unavailable_reason

    assert "torchcodec" in BACKENDS, backend_unavailable_reason("torchcodec")


def test_decord_is_not_a_backend(stamped_video):
    """decord2 bundles a CPU-dependent FFmpeg build (``from_size == to_size`` failures): benchmark comparator only."""
    assert "decord" not in BACKENDS
    with pytest.raises(ValueError, match="unknown backend 'decord'"):
        VideoReader(stamped_video.path, backend="decord")


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
def test_frame_by_frame_requests_on_one_reader(tmp_path, backend):
    """One frame per call, forward: the decoder is reused across calls, so a frame that an earlier call
    sent to it as unwanted (skipped, or held for B-frame reordering) must still come back when asked for.
    A 4-frame clip at 2 fps failed here with 'frame 2 could not be decoded'."""
    spec = make_video(tmp_path / "short.mp4", [Segment("moving", 2.0, seed=5)], fps=2, stamp_index=True)
    with VideoReader(spec.path, backend=backend) as reader:
        for order in ([0], [2], [3], [1]), ([1], [0], [2]), ([0], [1], [2], [3]):
            assert [stamps(reader.get_frames(indices)) for indices in order] == list(order)


def _open_descriptors(path) -> int:
    """File descriptors of this process open on ``path`` (Linux ``/proc``)."""
    target = os.path.realpath(path)
    return sum(os.path.realpath(f"/proc/self/fd/{fd}") == target for fd in os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through Linux /proc")
@pytest.mark.parametrize("backend", BACKENDS)
def test_close_twice_is_harmless(stamped_video, backend):
    with VideoReader(stamped_video.path, backend=backend) as reader:
        assert stamps(reader.get_frames([3])) == [3]
        assert _open_descriptors(stamped_video.path) >= 1  # guard: the count sees the reader's file
    assert _open_descriptors(stamped_video.path) == 0  # the first close released the file
    assert reader.close() is None  # the second raises nothing
    with VideoReader(stamped_video.path, backend=backend) as again:  # and left nothing behind that breaks a reopen
        assert stamps(again.get_frames([3])) == [3]


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
        with pytest.raises(IndexError, match="frame index 192 out of range"):
            reader.get_frames([0, stamped_video.num_frames])
        with pytest.raises(VideoError, match="out of range"):  # a pipeline's per-video catch sees it
            reader.get_frames([-1])
        assert "pyav" in repr(reader)


def test_unknown_backend(stamped_video):
    with pytest.raises(ValueError, match="unknown backend"):
        VideoReader(stamped_video.path, backend="ffmpeg-cli")


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_gop_stream_with_audio(tmp_path, backend):
    """Open GOPs (leading B-frames reference the previous GOP) and an audio track, as in real videos."""
    spec = make_video(
        tmp_path / "open_gop.mp4",
        [Segment("moving", 2.0, seed=7), Segment("moving", 2.0, seed=8)],
        gop=24,
        stamp_index=True,
        audio=True,
        encoder_options={"x264-params": "open-gop=1"},
    )
    indices = [95, 0, 23, 24, 25, 47, 48, 50, 70, 22, 21]
    with VideoReader(spec.path, backend=backend) as reader:
        assert reader.num_frames == 96
        assert stamps(reader.get_frames(indices)) == indices


def test_variable_frame_rate_timestamps(tmp_path):
    """Frame times come from the stream's timestamps, not from index / fps."""
    times = [0.0, 0.1, 0.2, 0.5, 0.6, 1.0, 1.1, 1.2, 2.0, 2.1]
    path = tmp_path / "vfr.mkv"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "veryfast", "bframes": "0"})
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 10)
        for index, seconds in enumerate(times):
            image = np.zeros((64, 96, 3), dtype=np.uint8)
            _draw_stamp(image, index)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(seconds * 10), Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with VideoReader(path) as reader:
        assert reader.num_frames == len(times)
        np.testing.assert_allclose(reader.frame_timestamps, times, atol=1e-3)
        assert list(reader.indices_at([0.0, 0.3, 0.55, 1.5, 5.0])) == [0, 2, 3, 7, 9]
        assert stamps(reader.get_frames_at([0.3, 1.5])) == [2, 7]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("codec", "suffix"), [("hevc", ".mp4"), ("vp9", ".webm"), ("mpeg4", ".avi"), ("h264", ".mov")]
)
def test_other_codecs_and_containers(tmp_path, backend, codec, suffix):
    spec = make_video(
        tmp_path / f"clip{suffix}",
        [Segment("moving", 2.0), Segment("static", 1.0)],
        codec=codec,
        gop=12,
        stamp_index=True,
    )
    indices = [71, 0, 13, 12, 45, 46, 47, 30, 36]
    with VideoReader(spec.path, backend=backend) as reader:
        assert reader.num_frames == 72
        assert stamps(reader.get_frames(indices)) == indices
