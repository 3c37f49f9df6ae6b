from __future__ import annotations

import pytest

from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.video import VideoMetadata, VideoReader, probe


def test_probe_mp4(shots_video):
    meta = probe(shots_video.path)
    assert isinstance(meta, VideoMetadata)
    assert meta.fps == pytest.approx(24.0)
    assert meta.num_frames == 264
    assert meta.duration == pytest.approx(11.0, abs=0.05)
    assert (meta.width, meta.height) == (96, 64) == meta.size
    assert meta.codec == "h264"
    assert meta.path == str(shots_video.path)


@pytest.mark.parametrize(("codec", "suffix"), [("vp9", ".webm"), ("mpeg4", ".mkv")])
def test_probe_counts_frames_when_the_container_does_not(tmp_path, codec, suffix):
    spec = make_video(
        tmp_path / f"clip{suffix}", [Segment("moving", 1.5)], fps=20, size=(64, 48), codec=codec
    )
    meta = probe(spec.path)
    assert meta.num_frames == spec.num_frames == 30
    assert meta.fps == pytest.approx(20.0)
    assert (meta.width, meta.height) == (64, 48)
    assert meta.duration == pytest.approx(1.5, abs=0.06)
    with VideoReader(spec.path) as reader:  # the reader's own packet index agrees
        assert reader.num_frames == 30
        assert reader.metadata.duration == pytest.approx(1.5, abs=0.06)
        frames = reader.get_frames([0, 29])
    assert [spec.identify_segment(frame) for frame in frames] == [0, 0]
