"""Hybrid inference and the `answer` / `select` CLI on a real encoded video with tiny checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.extraction import extract_robust
from videoespresso_hf.models.hybrid import HybridVideoQA
from videoespresso_hf.video import read_frames


def test_answer_cli_on_a_real_video(video, reasoner_path, selector_path, capsys):
    path, spec = video
    argv = [
        "answer",
        str(path),
        "--question",
        "What colour is the first shot?",
        "--options",
        "red",
        "green",
        "blue",
    ]
    argv += ["--selector", str(selector_path), "--reasoner", str(reasoner_path), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    frames = result["frames"]
    assert frames["strategy"] == "model"
    assert 1 <= len(frames["indices"]) <= 2  # the tiny selector was saved with max_core_frames=2
    assert all(0 <= index < spec.num_frames for index in frames["indices"])
    assert frames["timestamps"] == [round(index / 12, 3) for index in frames["indices"]]
    assert frames["indices"] == sorted(frames["indices"]) and all(
        index % 12 == 0 for index in frames["indices"]
    )
    assert isinstance(result["evidence"], str) and result["evidence"]
    # the letter is what the scorer's robust protocol reads from the same answer text
    assert result["letter"] == extract_robust(result["answer"], ["red", "green", "blue"], "ABC").letter


@pytest.mark.parametrize("flag", ["--max-core-frames", "--max-frames"])
def test_answer_cli_text_output_and_uniform_strategy(video, reasoner_path, capsys, flag):
    path, _ = video
    argv = ["answer", str(path), "-q", "Why?", "--reasoner", str(reasoner_path), flag, "4"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0].startswith("frames (uniform): #0 @ 0.00s") and out[0].count("#") == 4
    assert out[1].startswith("evidence: ") and out[2].startswith("answer: ")
    assert ("--max-frames is deprecated" in captured.err) == (flag == "--max-frames")


def test_qwen3_vl_reasoner_answers_from_one_core_frame(video, reasoner3_path):
    """Qwen3-VL's video processor needs 2 frames per temporal patch; one core frame is a normal selection."""
    qa = HybridVideoQA.from_pretrained(reasoner3_path, strategy="uniform", max_core_frames=1)
    result = qa.answer(video[0], "Why?", ["yes", "no"])
    assert len(result.selection.indices) == 1 and result.evidence


def test_answer_with_a_base_qwen_checkpoint_as_reasoner(tmp_path, video, capsys):
    """The CLI default reasoner is a base Qwen VLM, not a VideoEspresso checkpoint: it must still answer."""
    from doubles.tiny_models import build_tiny_captioner

    from videoespresso_hf.models.reasoner.modeling_reasoner import (
        VexQwen2_5_VLReasonerForConditionalGeneration,
    )

    base, processor = build_tiny_captioner("qwen2_5_vl", seed=3)
    base.save_pretrained(tmp_path / "base")
    processor.save_pretrained(tmp_path / "base")
    qa = HybridVideoQA.from_pretrained(tmp_path / "base", strategy="uniform")
    assert type(qa.reasoner) is VexQwen2_5_VLReasonerForConditionalGeneration
    assert qa.reasoner.config.base_model_id is None  # a plain local folder names no Hub model
    for name, tensor in base.state_dict().items():
        assert torch.equal(tensor, qa.reasoner.state_dict()[name]), name
    path, _ = video
    assert main(["answer", str(path), "-q", "Why?", "--reasoner", str(tmp_path / "base"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"]["strategy"] == "uniform" and result["evidence"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["answer", "missing.mp4", "-q", "x"], "missing.mp4: file not found"),
        (["answer", "{video}", "-q", "x", "--strategy", "model"], "--strategy model needs --selector"),
        (["answer", "{video}", "-q", "x", "--reasoner", "/nonexistent/ckpt"], "--reasoner /nonexistent/ckpt: no such file or folder"),
        (["answer", "{video}", "-q", "x", "--reasoner", "runs/ckpt/stage2"], "--reasoner runs/ckpt/stage2: no such file or folder"),
        (["answer", "{video}", "-q", "x", "--reasoner", "./ckpt"], "--reasoner ./ckpt: no such file or folder"),
        (["answer", "{video}", "-q", "x", "--reasoner", "nobody-here/no-model"],
         "no local file or folder of that name, and no model nobody-here/no-model in the Hub cache while HF_HUB_OFFLINE=1"),
        (["select", "{video}", "-q", "x", "--strategy", "embedding", "--selector", "{reasoner}", "--embedding-model",
          "~/no/such/embedder"], "--embedding-model ~/no/such/embedder: no such file or folder"),
        (["select", "{video}", "-q", "x", "--strategy", "image_text", "--image-text-model", "nobody-here/siglip"],
         "--image-text-model nobody-here/siglip: no local file or folder of that name"),
        (["answer", "{dir}", "-q", "x"], "is a directory; give a video file"),
        (["select", "{video}", "-q", "x", "--max-core-frames", "0"], "expected a positive whole number, got '0'"),
        (["select", "{video}", "-q", "x", "--strategy", "fps", "--candidate-fps", "-1"], "expected a number above 0, got '-1'"),
        (["select", "{video}", "-q", "x", "--strategy", "fps", "--candidate-fps", "0"], "expected a number above 0, got '0'"),
        (["select", "{video}", "-q", "x", "--strategy", "fps", "--candidate-fps", "nan"], "expected a number above 0"),
        (["answer", "{video}", "-q", "x", "--max-new-tokens", "0"], "expected a positive whole number"),
        (["select", "{video}", "--strategy", "fps"], "the following arguments are required: --question/-q (see"),
        (["answer", "{corrupt}", "-q", "x", "--reasoner", "{reasoner}"], "corrupt.mp4"),
        (["select", "{video}", "-q", "x", "--selector", "{empty}"], "cannot load the selector"),
        (["select", "{video}", "-q", "x", "--selector", "{reasoner}"], "not a VideoEspresso frame selector"),
        (
            ["answer", "{video}", "-q", "x", "--selector", "{reasoner}", "--reasoner", "{reasoner}"],
            "not a VideoEspresso frame selector",
        ),
        (["answer", "{video}", "-q", "x", "--options", *"abcdefghijk"], "at most 10 are supported"),
        (["answer", "{video}", "-q", "x", "--reasoner", "{qwen2_vl}"], "supported families: Qwen2.5-VL"),
    ],
)
def test_cli_user_errors_are_one_line(tmp_path, video, reasoner_path, capsys, monkeypatch, argv, message):
    from transformers import Qwen2VLConfig

    monkeypatch.chdir(tmp_path)  # relative paths name nothing here

    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    (tmp_path / "empty").mkdir()
    Qwen2VLConfig().save_pretrained(tmp_path / "qwen2_vl")  # an unsupported family (config only)
    paths = {"video": video[0], "corrupt": corrupt, "reasoner": reasoner_path, "empty": tmp_path / "empty"}
    argv = [a.format(**paths, qwen2_vl=tmp_path / "qwen2_vl", dir=tmp_path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors (bad values, missing arguments) exit while parsing
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_select_cli_json(video, selector_path, capsys):
    path, spec = video
    assert main(["select", str(path), "-q", "Which shot moves?", "--strategy", "shots", "--json"]) == 0
    selection = json.loads(capsys.readouterr().out)
    assert [spec.frame_segment[index] for index in selection["indices"]] == [0, 1, 2]
    assert (
        main(["select", str(path), "-q", "Which shot moves?", "--selector", str(selector_path), "--json"])
        == 0
    )
    selection = json.loads(capsys.readouterr().out)
    assert 1 <= len(selection["indices"]) <= 2 and len(selection["candidate_indices"]) == 6


def test_hybrid_batch_shares_captions_and_matches_decoded_frames(video, reasoner_path, selector_path):
    path, spec = video
    qa = HybridVideoQA.from_pretrained(reasoner_path, selector_path)
    calls = []
    caption_frames = qa.selector.caption_frames
    qa.selector.caption_frames = lambda *a, **k: calls.append(1) or caption_frames(*a, **k)
    results = qa.answer_batch([path, path], ["Why?", "What colour?"], [None, ["red", "blue"]], batch_size=2)
    assert len(calls) == 1  # two questions, one video: captioned once
    assert [r.question for r in results] == ["Why?", "What colour?"]
    for result in results:
        assert 1 <= len(result.selection.indices) <= qa.max_core_frames

    # decoded frames in, the same selection out (candidates at 1 fps of a 12 fps clip)
    frames = read_frames(path, list(range(spec.num_frames)))
    from_frames = qa.select(frames, "Why?", fps=12.0)
    assert from_frames.indices == results[0].selection.indices
    np.testing.assert_allclose(from_frames.candidate_scores, results[0].selection.candidate_scores, atol=1e-5)


def test_captions_are_cached_by_video_content_across_calls(tmp_path, video, reasoner_path, selector_path):
    import shutil

    qa = HybridVideoQA.from_pretrained(reasoner_path, selector_path)
    captioned = []
    caption_frames = qa.selector.caption_frames
    qa.selector.caption_frames = lambda processor, frames: captioned.append(len(frames)) or caption_frames(
        processor, frames
    )
    first = qa.select(video[0], "Why?")
    copy = shutil.copy(video[0], tmp_path / "same_video_other_name.mp4")
    again = qa.select(copy, "What colour is it?")  # another call, another name, another question
    assert captioned == [6]  # 6 candidates captioned once
    assert again.candidate_captions == first.candidate_captions
    qa.candidate_fps = 2.0  # new candidate frames: only those are captioned
    qa.select(video[0], "Why?")
    assert captioned == [6, 6] and len(qa.caption_cache) == 12


def test_image_text_strategy_scores_frames_without_captions(tmp_path, video, reasoner_path, capsys):
    from doubles.tiny_models import save_tiny_siglip

    from videoespresso_hf.models.image_text import ImageTextScorer

    siglip = save_tiny_siglip(tmp_path / "siglip")
    scorer = ImageTextScorer.from_pretrained(str(siglip))
    embedded = []
    embed_frames = scorer.embed_frames
    scorer.embed_frames = lambda frames: embedded.append(len(frames)) or embed_frames(frames)
    qa = HybridVideoQA.from_pretrained(reasoner_path, strategy="image_text", image_text_scorer=scorer)
    first = qa.select(video[0], "Which shot moves?")
    second = qa.answer(video[0], "What colour is the first shot?", ["red", "blue"])
    assert embedded == [6]  # the 6 candidates' embeddings are reused by the second question
    assert first.strategy == second.selection.strategy == "image_text" and second.evidence
    assert len(first.indices) == qa.max_core_frames and first.captions is None
    texts = [scorer.embed_text(q) for q in ("Which shot moves?", "What colour is the first shot?")]
    assert not np.allclose(*texts)  # the question changes the scores
    frames = read_frames(video[0], first.candidate_indices)
    np.testing.assert_allclose(first.candidate_scores, embed_frames(frames) @ texts[0], atol=1e-5)

    argv = ["select", str(video[0]), "-q", "Why?", "--strategy", "image_text", "--image-text-model", str(siglip)]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["strategy"] == "image_text"


def test_console_script_answers(video, reasoner_path, selector_path):
    script = Path(sys.executable).with_name("videoespresso")
    if not script.exists():
        pytest.skip("console script not installed (pip install -e .)")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    argv = [str(script), "answer", str(video[0]), "--question", "Why?", "--options", "yes", "no"]
    argv += ["--selector", str(selector_path), "--reasoner", str(reasoner_path)]
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("frames (model): #") and lines[3].startswith("letter: ")


def test_gpu_smoke_script_exits_cleanly():
    script = Path(__file__).resolve().parents[2] / "scripts" / "gpu_smoke.py"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-2000:]
    import torch

    if not torch.cuda.is_available():
        assert "needs a GPU" in completed.stdout
    else:
        assert "peak GPU memory" in completed.stdout


def test_an_unreachable_hub_is_one_line_in_seconds(monkeypatch, tmp_path):
    """An ``org/name`` neither local nor cached, with the Hub online but silent: one request with a short timeout,
    then one line saying both what was looked for and what to set."""
    import socket
    import time

    from huggingface_hub import constants

    from videoespresso_hf import locations
    from videoespresso_hf.cli import _common
    from videoespresso_hf.cli.main import UserError

    silent = socket.socket()  # accepts connections (the kernel's backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setattr(locations, "HUB_TIMEOUT_S", 0.5)
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    try:
        with pytest.raises(UserError) as error:
            _common.model_source("nobody-here/no-model", "--reasoner")
    finally:
        silent.close()
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert message.startswith("--reasoner nobody-here/no-model: no local file or folder of that name, and the Hub is unreachable")
    assert "HF_HUB_OFFLINE=1" in message and "\n" not in message


def test_model_source_uses_a_local_thing_as_it_is_and_resolves_it(tmp_path, monkeypatch):
    from videoespresso_hf.cli._common import model_source

    (tmp_path / "org" / "name").mkdir(parents=True)  # a local folder spelled like a Hub id wins over the Hub
    monkeypatch.chdir(tmp_path)
    assert model_source("org/name", "--model") == str((tmp_path / "org" / "name").resolve())
    assert model_source("./org/name", "--model") == model_source(str(tmp_path / "org" / "name"), "--model")
    assert model_source("all-MiniLM-L6-v2", "--embedding-model") == "all-MiniLM-L6-v2"  # a bare name: the loader's
