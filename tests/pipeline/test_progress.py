"""Progress counts the work inside a video (frames captioned, requests answered), not only videos (issue #14).

One long video is hours of captioning: a bar counting videos would show nothing until it ends.
"""

from __future__ import annotations

import re

from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages.base import StageContext, WorkProgress
from videoespresso_hf.pipeline.stages.caption import CaptionStage
from videoespresso_hf.pipeline.stages.sample_frames import SampleFramesStage
from videoespresso_hf.pipeline.video_record import VideoRecord

CHAT = "POST /v1/chat/completions"


class RecordingProgress(WorkProgress):
    def __init__(self, server) -> None:
        self.server = server
        self.planned = 0
        self.done: list[tuple[int, int]] = []  # (units done so far, requests the server had received then)

    def plan(self, units: int) -> None:
        self.planned += units

    def advance(self, units: int = 1) -> None:
        if units:
            total = (self.done[-1][0] if self.done else 0) + units
            self.done.append((total, self.server.count(CHAT)))


def test_captioning_one_video_reports_each_frame_as_its_answer_arrives(
    tmp_path, colour_videos, server, make_config
):
    config = make_config(llm={"max_concurrency": 1})
    ctx = StageContext(config=config, out_dir=tmp_path)
    record = SampleFramesStage().run(VideoRecord(video_id="v", path=str(colour_videos["three_static"])), ctx)
    frames = len(record.frames)
    ctx.progress = progress = RecordingProgress(server)

    CaptionStage().run(record, ctx)

    distinct = server.count(CHAT)
    assert progress.planned == frames and progress.done[-1][0] == frames
    # One step per answer received while the video is still being captioned (then the repeated frames,
    # answered by the cache, at once): the bar moves during the video, not only at its end.
    assert len(progress.done) >= distinct > 1
    assert [sent for _, sent in progress.done[: distinct]] == list(range(1, distinct + 1))


def test_the_build_bar_counts_frames_while_captioning_and_videos_while_sampling(
    tmp_path, colour_videos, make_config, capfd
):
    summary = run_build(list(colour_videos.values()), tmp_path / "out", make_config(), until="captions", workers=1)
    assert summary.ok, summary.format()
    err = capfd.readouterr().err
    frames = summary.frames_sampled
    assert re.search(rf"captions: 100%.*\b{frames}/{frames} .*frame.*2/2 videos", err), err
    assert re.search(r"frames: 100%.*\b2/2 .*video", err), err
