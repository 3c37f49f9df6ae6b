"""The qwen-vl-utils frame rule (lmms-eval's Qwen inputs, issue 23 item 2) without lmms-eval: its spelling, its
frame counts, its refusals. Its indices are checked against qwen-vl-utils itself in
tests/integrations/test_lmms_eval_parity.py (lmms-eval's virtualenv)."""

from __future__ import annotations

import pytest

from videoespresso_hf.benchmarking.frames import FrameSampler, PixelBounds
from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.frame_rules import parse_frame_rule
from videoespresso_hf.models.strategies import qwen_vl_utils_selection


@pytest.mark.parametrize(
    ("text", "spec"),
    [("qwen-vl-utils:nframes=32", "qwen-vl-utils:nframes=32"),
     ("qwen-vl-utils:fps=2", "qwen-vl-utils:fps=2,min_frames=4,max_frames=768"),
     ("qwen-vl-utils:max_frames=64,fps=0.5", "qwen-vl-utils:fps=0.5,min_frames=4,max_frames=64")],
)  # fmt: skip
def test_the_rule_parses_to_a_canonical_spec_that_parses_back(text, spec):
    rule = parse_frame_rule(text)
    assert rule.spec == spec and parse_frame_rule(spec) == rule


@pytest.mark.parametrize(
    ("text", "message"),
    [("qwen-vl-utils", "use qwen-vl-utils:nframes=N|fps=X"), ("qwen-vl-utils:nframes=2,fps=1", "use qwen-vl-utils"),
     ("qwen-vl-utils:fps=1,frames=3", "use qwen-vl-utils"), ("qwen-vl-utils:nframes=0", "every value must be positive"),
     ("qwen-vl-utils:nframes=800", "nframes is at most 768"),
     ("qwen-vl-utils:fps=2,min_frames=9,max_frames=8", "need min_frames <= max_frames <= 768")],
)  # fmt: skip
def test_bad_values_are_refused_in_one_line(text, message):
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        parse_frame_rule(text)


def test_frame_counts_follow_smart_nframes_and_lmms_eval():
    def count(total: int, **rule) -> int:
        return len(qwen_vl_utils_selection(total, 8.0, **rule).indices)

    # nframes: capped at the video's frames and floored to even (lmms-eval's probe), at least 2.
    assert [count(total, nframes=32) for total in (2, 3, 9, 31, 32, 100)] == [2, 2, 8, 30, 32, 32]
    # fps: duration x fps, raised to min_frames, capped at max_frames and the video, floored to even.
    assert [count(total, fps=2.0) for total in (4, 9, 40, 41, 4000)] == [4, 4, 10, 10, 768]
    assert count(4000, fps=2.0, min_frames=3, max_frames=17) == 16 and count(9, fps=0.1, min_frames=3) == 4
    assert qwen_vl_utils_selection(41, 8.0, nframes=4).indices == [0, 13, 27, 40]  # torch.linspace(...).round()
    with pytest.raises(ValueError, match="between 2 and 1 frames"):
        qwen_vl_utils_selection(1, 8.0, nframes=4)


def test_the_sampler_applies_the_rule_and_resizes_like_qwen_vl_utils(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", [Segment("moving", 2.5)], fps=8, size=(64, 48)).path
    frames = FrameSampler(parse_frame_rule("qwen-vl-utils:fps=2"), pixel_bounds=PixelBounds(3136, 12544)).sample(str(clip), "q")
    # 20 frames: 2.5 s x 2 fps = 5, floored to 4; 64x48 resized into 3136..12544 pixels: 56x56.
    assert frames.indices.tolist() == [0, 6, 13, 19] and frames.frames.shape == (4, 56, 56, 3)
    assert frames.timestamps.tolist() == [0.0, 6 / 8, 13 / 8, 19 / 8]


def test_the_hybrid_refuses_the_rule_in_one_line_before_loading_anything(prepared_bench, tmp_path, capsys):
    code = main(["predict", "--data", str(prepared_bench), "--backend", "hybrid", "--model", str(tmp_path / "none"),
                 "--frames", "qwen-vl-utils:nframes=4", "--output", str(tmp_path / "p.jsonl"), "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "lmms-eval's Qwen frame rule is for the hf backend" in err[0]
    assert not (tmp_path / "p.jsonl").exists()
