"""Missing, empty and corrupt files fail with a one-line VideoError that names the reason."""

from __future__ import annotations

import pickle

import pytest

from videoespresso_hf.demo.videos import make_corrupt_video, make_empty_video
from videoespresso_hf.video import (
    VideoError,
    VideoReader,
    available_backends,
    detect_shots,
    plan_adaptive_sampling,
    probe,
    read_frames,
)

OPERATIONS = {
    "probe": probe,
    "read_frames": lambda path: read_frames(path, [0, 5]),
    "detect_shots": detect_shots,
    "plan_adaptive_sampling": plan_adaptive_sampling,
    **{
        f"reader[{b}]": lambda path, b=b: VideoReader(path, backend=b).get_frames([0, 5])
        for b in available_backends()
    },
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "folder.mp4").mkdir()
    return {
        "missing": (root / "missing.mp4", "file not found"),
        "folder": (root / "folder.mp4", "not a regular file"),
        "empty": (make_empty_video(root / "empty.mp4"), "empty file"),
        "garbage": (make_corrupt_video(root / "garbage.mp4", "garbage"), "not a readable video"),
        "truncated": (make_corrupt_video(root / "truncated.mp4", "truncated"), "not a readable video"),
        "header_only": (make_corrupt_video(root / "header_only.mp4", "header_only"), None),
    }


KINDS = ["missing", "folder", "empty", "garbage", "truncated", "header_only"]
# probe() reads the container header only, and the header of "header_only" is intact (tested below).
CASES = [(op, kind) for op in sorted(OPERATIONS) for kind in KINDS if (op, kind) != ("probe", "header_only")]


@pytest.mark.parametrize(("operation", "kind"), CASES)
def test_bad_file_raises_video_error(bad_files, operation, kind):
    path, reason = bad_files[kind]
    with pytest.raises(VideoError) as info:
        OPERATIONS[operation](path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.path == str(path)
    assert "\n" not in str(error)
    assert str(error).startswith(f"{path}: ")
    if reason is not None:
        assert reason in error.reason
    else:
        assert error.reason


def test_header_only_reports_truncation(bad_files):
    path, _ = bad_files["header_only"]
    assert probe(path).num_frames == 48  # the header alone looks fine...
    with pytest.raises(VideoError, match="truncated or damaged: the header lists 48 frames"):
        VideoReader(path)


def test_video_error_pickles():
    error = VideoError("a.mp4", "empty file (0 bytes)\nsecond line")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.path, clone.reason) == ("a.mp4", "empty file (0 bytes) second line")
    assert str(clone) == "a.mp4: empty file (0 bytes) second line"
