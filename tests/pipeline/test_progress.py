"""Progress counts the work inside a video (frames captioned, requests answered), not only videos (issue #14).

One long video is hours of captioning: a bar counting videos would show nothing until it ends.
"""

from __future__ import annotations

import re
import threading

from doubles.openai_server import default_responder

from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages.base import StageContext, WorkProgress
from videoespresso_hf.pipeline.stages.caption import CaptionStage
from videoespresso_hf.pipeline.stages.sample_frames import SampleFramesStage
from videoespresso_hf.pipeline.video_record import VideoRecord

CHAT = "POST /v1/chat/completions"


class RecordingProgress(WorkProgress):
    def __init__(self) -> None:
        self.planned = 0
        self.done = 0
        self.moved = threading.Condition()

    def plan(self, units: int) -> None:
        self.planned += units

    def advance(self, units: int = 1) -> None:
        with self.moved:
            self.done += units
            self.moved.notify_all()


def test_captioning_one_video_reports_each_frame_as_its_answer_arrives(
    tmp_path, colour_videos, server, make_config
):
    config = make_config(llm={"max_concurrency": 1})
    ctx = StageContext(config=config, out_dir=tmp_path)
    record = SampleFramesStage().run(VideoRecord(video_id="v", path=str(colour_videos["three_static"])), ctx)
    frames = len(record.frames)
    ctx.progress = progress = RecordingProgress()
    # The server answers request k only once the bar shows the k-1 answers before it (or after 5 s):
    # a stage that reported progress only at the end of the video would leave every later request waiting.
    seen_by_request: list[int] = []

    def responder(request):
        with progress.moved:
            progress.moved.wait_for(lambda: progress.done >= len(seen_by_request), timeout=5)
            seen_by_request.append(progress.done)
        return default_responder(request)

    server.responder = responder

    CaptionStage().run(record, ctx)

    distinct = server.count(CHAT)
    assert progress.planned == frames and progress.done == frames
    assert distinct > 1
    # Request k was sent after the bar had moved for each of the k-1 answers before it (then the repeated
    # frames, answered by the cache, at once): the bar moves during the video, not only at its end.
    assert seen_by_request == list(range(distinct))


def test_the_build_bar_counts_frames_while_captioning_and_videos_while_sampling(
    tmp_path, colour_videos, make_config, capfd
):
    summary = run_build(list(colour_videos.values()), tmp_path / "out", make_config(), until="captions", workers=1)
    assert summary.ok, summary.format()
    err = capfd.readouterr().err
    frames = summary.frames_sampled
    assert re.search(rf"captions: 100%.*\b{frames}/{frames} .*frame.*2/2 videos", err), err
    assert re.search(r"frames: 100%.*\b2/2 .*video", err), err
