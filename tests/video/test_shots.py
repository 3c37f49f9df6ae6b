from __future__ import annotations

import itertools

import pytest

from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.video import Shot, detect_shots


@pytest.mark.parametrize("detector", ["adaptive", "content", "histogram"])
def test_finds_the_known_cuts(shots_video, detector):
    shots = detect_shots(shots_video.path, detector)
    assert all(isinstance(shot, Shot) for shot in shots)
    starts = [shot.start_frame for shot in shots[1:]]
    assert len(starts) == len(shots_video.cuts)
    for found, cut in zip(starts, shots_video.cuts, strict=True):
        assert abs(found - cut) <= 1
    # Contiguous and covering the whole video.
    assert shots[0].start_frame == 0 and shots[-1].end_frame == shots_video.num_frames
    for before, after in itertools.pairwise(shots):
        assert before.end_frame == after.start_frame
        assert before.end_s == pytest.approx(after.start_s)
    assert shots[1].start_s == pytest.approx(2.0, abs=0.05)
    assert shots[1].num_frames == pytest.approx(72, abs=2) and shots[1].duration == pytest.approx(
        3.0, abs=0.1
    )


def test_video_without_cuts_is_one_shot(tmp_path):
    spec = make_video(tmp_path / "one.mp4", [Segment("moving", 2.0, seed=5)])
    assert detect_shots(spec.path) == [Shot(0, 48, 0.0, 2.0)]


def test_pyav_backend_and_unknown_detector(shots_video):
    shots = detect_shots(shots_video.path, backend="pyav")
    assert [shot.start_frame for shot in shots[1:]] == list(shots_video.cuts)
    with pytest.raises(ValueError, match="unknown shot detector"):
        detect_shots(shots_video.path, "magic")
