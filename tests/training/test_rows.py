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


def test_checking_rows_reads_each_video_header_once_and_again_when_the_file_changes(tmp_path, monkeypatch):
    from videoespresso_hf.training import rows as rows_module

    calls = []
    real_probe = rows_module.probe
    monkeypatch.setattr(rows_module, "probe", lambda path: calls.append(path) or real_probe(path))
    spec = make_video(tmp_path / "v.mp4", [Segment("static", 2.0)], fps=8, size=(32, 24))
    # Rows without an fps need the video's frame rate (for times) and its duration (for the range check).
    rows = [
        {"id": f"r{k}", "core_frames": [{"frame_index": k}], "fps": None, "video": {"path": str(spec.path)}}
        for k in range(3)
    ]
    log = rows_module.SkipLog(tmp_path / "skipped.jsonl")
    good, reasons = rows_module.check_rows(rows, (), log, "check")
    assert good == [0, 1, 2] and not reasons
    assert calls == [str(spec.path)]

    make_video(tmp_path / "v.mp4", [Segment("static", 0.5)], fps=8, size=(32, 24))  # replaced: now 0.5 s long
    rows.append(
        {"id": "late", "core_frames": [{"frame_index": 15}], "fps": None, "video": {"path": str(spec.path)}}
    )
    good, reasons = rows_module.check_rows(rows, (), log, "check")
    assert len(calls) == 2 and good == [0, 1, 2] and reasons == {"core frame outside the video": 1}
