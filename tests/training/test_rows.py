"""Core-frame times of the rows training reads."""

from __future__ import annotations

import pytest

from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.training.rows import core_frame_times


def test_frame_numbers_without_an_fps_take_the_videos(tmp_path):
    # The released train_video annotations name key frames by frame number (".../30.jpg") and store no fps:
    # the video's own frame rate turns them into times.
    spec = make_video(tmp_path / "v.mp4", [Segment("static", 2.0)], fps=8, size=(32, 24))
    row = {"core_frames": [{"frame_index": 0}, {"frame_index": 12}], "fps": None, "video": {"path": str(spec.path)}}
    assert core_frame_times(row) == [0.0, 1.5]
    assert core_frame_times({**row, "fps": 4.0}) == [0.0, 3.0]  # the row's fps wins where it has one
    assert core_frame_times({**row, "core_frames": [{"timestamp": 0.25}]}) == [0.25]


def test_frame_numbers_with_no_fps_anywhere_are_refused():
    row = {"core_frames": [{"frame_index": 3}], "fps": None, "video": None}
    with pytest.raises(ValueError, match="no timestamp"):
        core_frame_times(row)
