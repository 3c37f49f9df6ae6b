"""Real encoded test videos shared by the video tests (built once per session, ~1 s in total)."""

from __future__ import annotations

import pytest

from videoespresso_hf.demo.videos import Segment, make_video


@pytest.fixture(scope="session")
def videos_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="session")
def shots_video(videos_dir):
    """11 s at 24 fps: static 2 s | moving 3 s | moving 2 s | static 2 s | static 2 s (cuts 48, 120, 168, 216)."""
    segments = [
        Segment("static", 2.0),
        Segment("moving", 3.0, seed=1),
        Segment("moving", 2.0, seed=2),
        Segment("static", 2.0),
        Segment("static", 2.0),
    ]
    return make_video(videos_dir / "shots.mp4", segments, fps=24)


@pytest.fixture(scope="session")
def stamped_video(videos_dir):
    """8 s at 24 fps with the frame index stamped on every frame; default (long) keyframe interval."""
    segments = [Segment("moving", 3.0, seed=1), Segment("static", 2.0), Segment("moving", 3.0, seed=2)]
    return make_video(videos_dir / "stamped.mp4", segments, fps=24, stamp_index=True)


@pytest.fixture(scope="session")
def stamped_short_gop_video(videos_dir):
    """Like ``stamped_video`` at 25 fps with a keyframe every 10 frames (exercises the seek path)."""
    segments = [Segment("moving", 3.0, seed=3), Segment("static", 2.0), Segment("moving", 3.0, seed=4)]
    return make_video(videos_dir / "stamped_gop10.mp4", segments, fps=25, gop=10, stamp_index=True)
