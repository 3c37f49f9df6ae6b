"""The test-video encoder itself: real files whose ground truth matches what a decoder reads back."""

from __future__ import annotations

import av
import numpy as np
import pytest

from videoespresso_hf.demo.videos import (
    PALETTE,
    Segment,
    make_corrupt_video,
    make_empty_video,
    make_video,
    read_stamped_index,
)


def decode_all(path):
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_spec_describes_segments_and_cuts(shots_video):
    spec = shots_video
    assert spec.num_frames == 264
    assert spec.cuts == (48, 120, 168, 216)
    assert spec.segment_starts == (0, *spec.cuts)
    assert spec.segment_ranges[1] == (48, 120)
    assert spec.frame_segment.shape == (264,)
    assert spec.frame_segment[47] == 0 and spec.frame_segment[48] == 1 and spec.frame_segment[-1] == 4
    assert spec.colors == PALETTE[:5]
    assert spec.duration == pytest.approx(11.0)


def test_decoded_frames_are_identifiable(stamped_video):
    frames = decode_all(stamped_video.path)
    assert len(frames) == stamped_video.num_frames
    assert frames[0].shape == (64, 96, 3)
    for index, frame in enumerate(frames):
        assert read_stamped_index(frame) == index
        assert stamped_video.identify_segment(frame) == stamped_video.frame_segment[index]


def test_static_is_constant_and_moving_changes(shots_video):
    frames = np.stack(decode_all(shots_video.path)).astype(np.int16)
    static_diff = np.abs(np.diff(frames[0:48], axis=0)).mean()
    moving_diff = np.abs(np.diff(frames[48:120], axis=0)).mean()
    assert static_diff < 1.0
    assert moving_diff > 5.0


def test_gop_sets_keyframe_interval(tmp_path):
    spec = make_video(tmp_path / "gop.mp4", [Segment("moving", 2.0)], fps=24, gop=12)
    with av.open(str(spec.path)) as container:
        keyframes = [i for i, frame in enumerate(container.decode(video=0)) if frame.key_frame]
    assert keyframes == [0, 12, 24, 36]


@pytest.mark.parametrize("kind", ["truncated", "garbage", "header_only"])
def test_corrupt_videos_do_not_decode(tmp_path, kind):
    path = make_corrupt_video(tmp_path / f"{kind}.mp4", kind)
    assert path.stat().st_size > 0
    with pytest.raises(av.FFmpegError), av.open(str(path)) as container:
        for _ in container.decode(video=0):
            pass


def test_empty_video(tmp_path):
    assert make_empty_video(tmp_path / "a" / "empty.mp4").stat().st_size == 0


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        Segment("blurry", 1.0)
    with pytest.raises(ValueError):
        make_video(tmp_path / "x.mp4", [])
    with pytest.raises(ValueError):
        make_video(tmp_path / "x.mp4", [Segment("static", 1.0)], size=(95, 64))
