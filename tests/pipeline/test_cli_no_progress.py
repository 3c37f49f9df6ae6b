"""`videoespresso build --no-progress` draws no progress bar, the libraries' own ones included."""

from __future__ import annotations

import pytest
from doubles.tiny_models import build_tiny_captioner

from videoespresso_hf.cli.main import main


@pytest.fixture()
def restore_library_bars():
    from huggingface_hub.utils import enable_progress_bars
    from transformers.utils.logging import enable_progress_bar

    yield
    enable_progress_bars()
    enable_progress_bar()


def test_no_progress_silences_the_weight_loading_bar(tmp_path, colour_videos, capfd, restore_library_bars):
    model, processor = build_tiny_captioner("qwen2_5_vl", seed=0)
    model.save_pretrained(tmp_path / "vlm")
    processor.save_pretrained(tmp_path / "vlm")
    capfd.readouterr()  # saving draws its own bars
    status = main([
        "build", str(colour_videos["three_static"]), "--out", str(tmp_path / "out"), "--until", "captions",
        "--captioner", "transformers", "--model", str(tmp_path / "vlm"), "--workers", "1", "--no-progress",
    ])  # fmt: skip
    err = capfd.readouterr().err
    assert status == 0, err
    assert "Loading weights" not in err and "it/s]" not in err
