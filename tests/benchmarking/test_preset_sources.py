"""The SmolVLM2 preset against what transformers' SmolVLM video processor does offline (issue 23): its sampling
values come from the Hub config (the class has none), and `fps:1:64` only approximates its sampler; the preset
says both, and this test fails if transformers starts to agree or disagree differently."""

from __future__ import annotations

from transformers import SmolVLMVideoProcessor
from transformers.video_utils import VideoMetadata

from videoespresso_hf.benchmarking.presets import get_preset
from videoespresso_hf.frame_rules import parse_frame_rule
from videoespresso_hf.models.strategies import fps_selection


def test_smolvlm2_preset_is_labelled_an_approximation_of_transformers_sampler():
    preset = get_preset("smolvlm2")
    processor = SmolVLMVideoProcessor()
    # No default fps or frame count in transformers: the preset's 1 fps / 64 frames are the Hub config's.
    assert getattr(processor, "fps", None) is None and getattr(processor, "num_frames", None) is None
    assert "NOT checkable offline" in preset.source and "fps 1, max_frames 64" in preset.source
    assert processor.max_image_size == {"longest_edge": 364} and "longest_edge 364" in preset.source
    # Its sampler on a 10 s clip at 8 fps: np.linspace(0, 79, 10, dtype=int); fps:1:64 takes a frame every second.
    rule = parse_frame_rule(preset.frames)
    theirs = processor.sample_frames(VideoMetadata(total_num_frames=80, fps=8.0, duration=10.0), num_frames=64, fps=1)
    ours = fps_selection(80, 8.0, rule.rate, rule.max_frames).indices
    assert theirs.tolist() == [0, 8, 17, 26, 35, 43, 52, 61, 70, 79]
    assert ours == [0, 8, 16, 24, 32, 40, 48, 56, 64, 72] and "An approximation" in preset.source
