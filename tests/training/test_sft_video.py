"""SFT with the frames as one native video (``--frame-presentation video``), recorded beside each adapter so that
inference, the next SFT stage and RL (``--init-adapter``) present the frames as it trained (tiny stock Qwen2.5-VL,
real encoded videos)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from videoespresso_hf.cli.main import main
from videoespresso_hf.models.hybrid import ADAPTER_CONFIG_OVERRIDES, load_reasoner


@pytest.fixture(scope="module")
def stock_qwen(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock") / "qwen2_5_vl", "qwen2_5_vl")


def _sft(stock_qwen, prepared_data, out: Path, *extra: str) -> int:
    argv = ["train", "reasoner", "--stage", "1", "--model", str(stock_qwen), "--data", str(prepared_data),
            "--config", "generated", "--max-steps", "1", "--frame-size", "56", "--output", str(out), "--workers", "0",
            "--effective-batch-size", "1", "--set", "activation_checkpointing=false", *extra]  # fmt: skip
    return main(argv)


@pytest.fixture(scope="module")
def video_sft(stock_qwen, prepared_data, tmp_path_factory):
    """One SFT step with --frame-presentation video; the keys of every batch it trained on (what model(**batch) got)."""
    from videoespresso_hf.training.reasoner_data import ReasonerCollator

    seen: list[set[str]] = []
    collate = ReasonerCollator.__call__

    def spy(self, samples):
        batch = collate(self, samples)
        seen.append(set(batch))
        return batch

    out = tmp_path_factory.mktemp("sft_video") / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ReasonerCollator, "__call__", spy)
        assert _sft(stock_qwen, prepared_data, out, "--frame-presentation", "video") == 0
    return out, seen


def test_sft_trains_on_the_native_video_and_records_it_beside_the_adapter(video_sft):
    out, seen = video_sft
    assert seen and all({"pixel_values_videos", "video_grid_thw"} <= keys and "pixel_values" not in keys for keys in seen)
    assert json.loads((out / "stage1" / ADAPTER_CONFIG_OVERRIDES).read_text()) == {"frame_presentation": "video"}
    assert json.loads((out / "stage1" / "training_summary.json").read_text())["frame_presentation"] == "video"
    reasoner, _ = load_reasoner(out / "stage1", {"dtype": torch.float32}, {})  # inference presents it as SFT trained
    assert reasoner.config.frame_presentation == "video"


def test_an_images_sft_adapter_records_images(stock_qwen, prepared_data, tmp_path, capsys):
    assert _sft(stock_qwen, prepared_data, tmp_path / "out") == 0
    assert "stage 1: frames as images" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "stage1" / ADAPTER_CONFIG_OVERRIDES).read_text()) == {"frame_presentation": "images"}


def test_rl_continuing_a_video_sft_adapter_trains_on_video_without_the_flag(video_sft, stock_qwen, prepared_data,
                                                                             tmp_path, capsys):  # fmt: skip
    adapter = video_sft[0] / "stage1"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_qwen), "--init-adapter", str(adapter),
            "--data", str(prepared_data), "--config", "generated", "--max-steps", "1", "--num-generations", "2",
            "--max-completion-length", "8", "--frame-size", "56", "--output", str(tmp_path / "rl"), "--workers", "0",
            "--effective-batch-size", "2", "--per-device-batch-size", "2", "--set", "activation_checkpointing=false"]  # fmt: skip
    assert main(argv) == 0
    assert "frames as video (VideoGRPOTrainer)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "rl" / "rl" / ADAPTER_CONFIG_OVERRIDES).read_text())
    assert saved == {"reasoning_mode": "one_pass", "frame_presentation": "video"}


def test_video_sft_on_llava_is_refused_in_one_line(prepared_data, tmp_path, capsys):
    from doubles.tiny_vlms import save_tiny_vlm

    llava = save_tiny_vlm(tmp_path / "llava", "llava_interleave")
    assert _sft(llava, prepared_data, tmp_path / "out", "--frame-presentation", "video") == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "frame_presentation='video' is not supported" in err.splitlines()[-1]
