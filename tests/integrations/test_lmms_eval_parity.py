"""Parity with lmms-eval, item by item (issue 23 item 2): `predict --preset qwen2_5_vl` and lmms-eval 0.7.3's own
`--model qwen2_5_vl` on our `videoespresso` task feed a tiny random stock Qwen2.5-VL the same frames (indices and
times), the same pixels, the same prompt tokens and the same video positions, and get the same greedy answers.

lmms-eval runs in its own virtualenv (``scripts/setup_lmms_eval.sh``, see test_lmms_eval_run.py). A small driver wraps
qwen-vl-utils' ``fetch_video`` and the Qwen2.5-VL processor there to record what lmms-eval's model class feeds the
model; the same processor call is recorded in our run. The model arguments are lmms-eval's defaults except for
what a CPU test must shrink (frames, pixels), and predict gets the preset with the same values as flags.

Where the two cannot match by design, a test states the difference, so it fails if the difference changes:
an odd frame count (lmms-eval floors it to even, qwen-vl-utils alone rounds it), and Qwen3-VL's system message.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from doubles.predict_bench import prepare_bench, read_jsonl
from test_lmms_eval_run import ROOT, lmms_python  # noqa: F401  (the lmms-eval virtualenv fixture)

from videoespresso_hf.benchmarking.presets import get_preset
from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.releases import bench_record, write_json, zip_bytes
from videoespresso_hf.demo.videos import Segment, make_video
from videoespresso_hf.frame_rules import parse_frame_rule
from videoespresso_hf.models.strategies import qwen_vl_utils_selection

FPS = 8
# (clip frames, questions on it): lengths around the frame budget: fewer frames than asked, an odd count, longer.
CLIPS = [(3, 1), (9, 1), (20, 1), (41, 2)]
NFRAMES, MIN_PIXELS, MAX_PIXELS, MAX_NEW_TOKENS = 4, 4 * 28 * 28, 16 * 28 * 28, 4

# Runs inside lmms-eval's venv: record qwen-vl-utils' frames and the processor's output, then run lmms-eval's CLI.
DRIVER = r'''
import sys, torch
import qwen_vl_utils.vision_process as vision
from transformers import Qwen2_5_VLProcessor

out, argv = sys.argv[1], sys.argv[2:]
calls, pending = [], []
fetch_video, processor_call = vision.fetch_video, Qwen2_5_VLProcessor.__call__

def recording_fetch_video(ele, *args, **kwargs):
    result = fetch_video(ele, *args, **kwargs)
    (video, metadata), _sample_fps = result
    pending.append({"video": ele["video"], "indices": [int(i) for i in metadata["frames_indices"]],
                    "total": int(metadata["total_num_frames"]), "fps": float(metadata["fps"]),
                    "pixels": video.to(torch.uint8).permute(0, 2, 3, 1).contiguous()})
    return result

def recording_call(self, *args, **kwargs):
    inputs = processor_call(self, *args, **kwargs)
    calls.append({"text": list(kwargs["text"]), "frames": pending.pop(0),
                  **{key: inputs[key].clone() for key in ("input_ids", "pixel_values_videos", "video_grid_thw",
                                                           "second_per_grid_ts")}})
    return inputs

vision.fetch_video, Qwen2_5_VLProcessor.__call__ = recording_fetch_video, recording_call
sys.argv = ["lmms_eval", *argv]
from lmms_eval.__main__ import cli_evaluate
try:
    cli_evaluate()
finally:
    torch.save(calls, out)
'''


def _write_release(root: Path) -> Path:
    """A bench of moving clips of :data:`CLIPS` lengths (64x48 h264, 8 fps), one or two questions each."""
    root.mkdir(parents=True)
    records, members = [], {}
    for clip, (frames, questions) in enumerate(CLIPS):
        stem = f"clip{clip}"
        path = make_video(root / f"{stem}.mp4", [Segment("moving", frames / FPS, seed=clip, speed=5, amplitude=90)],
                          fps=FPS, size=(64, 48)).path  # fmt: skip
        members[f"all_video/vatex/{stem}.mp4"] = Path(path).read_bytes()
        for question in range(questions):
            record = bench_record("vatex", stem, "Cooking Process", (0,), correct="ABCD"[(clip + question) % 4])
            record["question"] = f"Question {len(records)}: what happens in {stem}?"
            records.append(record)
    write_json(root / "bench_hard.json", records)
    (root / "all_video.zip").write_bytes(zip_bytes(members))
    return root


@pytest.fixture(scope="module")
def parity_bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("parity_bench")
    return prepare_bench(_write_release(root / "release"), root / "hub")


@pytest.fixture(scope="module")
def stock_qwen(tmp_path_factory) -> Path:
    """A tiny random stock Qwen2.5-VL answering in letters A-D. Its matrices are drawn wider (std 0.3) than the
    default initialisation (0.02), under which every item gets the same answer: here the answers depend on the
    inputs, so equal answers mean something."""
    from doubles.tiny_vlms import build_tiny_vlm

    model, processor = build_tiny_vlm("qwen2_5_vl", letters="ABCD")
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() > 1:
                parameter.normal_(0, 0.3)
    path = tmp_path_factory.mktemp("parity_qwen") / "qwen2_5_vl"
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def _record_processor_calls(monkeypatch) -> list[dict]:
    from transformers import Qwen2_5_VLProcessor

    calls, original = [], Qwen2_5_VLProcessor.__call__

    def recording_call(self, *args, **kwargs):
        inputs = original(self, *args, **kwargs)
        calls.append({"text": list(kwargs["text"]), "videos": kwargs["videos"],
                      **{key: inputs[key].clone() for key in ("input_ids", "pixel_values_videos", "video_grid_thw",
                                                               "second_per_grid_ts")}})  # fmt: skip
        return inputs

    monkeypatch.setattr(Qwen2_5_VLProcessor, "__call__", recording_call)
    return calls


def _by_question(calls: list[dict], records: list[dict]) -> dict[str, dict]:
    """Each item's processor call (batch size 1), found by the item's question in the rendered prompt."""
    found = {}
    for record in records:
        (call,) = [call for call in calls if record["question"] in call["text"][0]]
        found[record["id"]] = call
    return found


@pytest.mark.slow
def test_predict_and_lmms_eval_qwen2_5_vl_feed_the_same_inputs_and_answer_the_same(
    lmms_python, parity_bench, stock_qwen, tmp_path, monkeypatch  # noqa: F811
):
    # lmms-eval: its own model class on our task, with its default settings except frames and pixels (CPU-sized).
    assert main(["lmms-eval-task", "--data", str(parity_bench), "--out", str(tmp_path / "tasks")]) == 0
    driver, recorded = tmp_path / "driver.py", tmp_path / "lmms_calls.pt"
    driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_DATASETS_CACHE": str(tmp_path / "lmms_datasets_cache")}  # fmt: skip
    run = subprocess.run(
        [str(lmms_python), str(driver), str(recorded), "--model", "qwen2_5_vl",
         "--model_args", f"pretrained={stock_qwen},device_map=cpu,max_num_frames={NFRAMES},min_pixels={MIN_PIXELS},"
                         f"max_pixels={MAX_PIXELS}",
         "--tasks", "videoespresso", "--include_path", str(tmp_path / "tasks"),
         "--gen_kwargs", f"max_new_tokens={MAX_NEW_TOKENS}", "--batch_size", "1", "--device", "cpu",
         "--log_samples", "--output_path", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "qwen-vl-utils using torchcodec to read video" in run.stderr  # their decoder (ours: PyAV; same pixels)
    samples = [json.loads(line) for line in next((tmp_path / "out").rglob("*_samples_videoespresso.jsonl")).open()]
    theirs_outputs = {sample["micro"]["id"]: sample["micro"]["model_output"] for sample in samples}
    theirs_calls = torch.load(recorded, weights_only=False)

    # predict: the preset (lmms-eval's protocol) with the same frame and pixel values as flags, bfloat16 as they load.
    calls = _record_processor_calls(monkeypatch)
    output = tmp_path / "preds.jsonl"
    assert main(["predict", "--data", str(parity_bench), "--model", str(stock_qwen), "--preset", "qwen2_5_vl",
                 "--frames", f"qwen-vl-utils:nframes={NFRAMES}", "--min-pixels", str(MIN_PIXELS),
                 "--max-pixels", str(MAX_PIXELS), "--dtype", "bfloat16", "--max-new-tokens", str(MAX_NEW_TOKENS),
                 "--batch-size", "1", "--output", str(output), "--no-progress"]) == 0  # fmt: skip
    records = read_jsonl(output)
    assert len(records) == len(samples) == sum(questions for _, questions in CLIPS)

    ours_by_item, theirs_by_item = _by_question(calls, records), _by_question(theirs_calls, records)
    counts = []
    for record in records:
        ours, theirs = ours_by_item[record["id"]], theirs_by_item[record["id"]]
        frames = theirs["frames"]
        # The same frames: indices and times (qwen-vl-utils' count and index formula, our rule).
        assert record["frames"]["indices"] == frames["indices"], record["id"]
        assert record["frames"]["timestamps"] == [round(index / frames["fps"], 3) for index in frames["indices"]]
        counts.append((frames["total"], len(frames["indices"])))
        # The same pixels (PyAV vs torchcodec decode alike; the same bicubic antialiased resize), prompt and positions.
        assert torch.equal(torch.as_tensor(ours["videos"][0]), frames["pixels"]), record["id"]
        assert ours["text"] == theirs["text"], record["id"]
        for key in ("input_ids", "pixel_values_videos", "video_grid_thw", "second_per_grid_ts"):
            assert torch.equal(ours[key], theirs[key]), (record["id"], key)
        # The same greedy answer.
        assert record["model_output"] == theirs_outputs[record["id"]], record["id"]
    # The lengths covered: fewer frames than asked (3 -> 2), an odd count (9 -> 4), and longer clips.
    assert counts == [(3, 2), (9, 4), (20, 4), (41, 4), (41, 4)]
    assert len({record["model_output"] for record in records}) > 1  # the answers depend on the inputs
    # lmms-eval's qwen2_5_vl sends no system message (so does predict): a real checkpoint's chat template adds its
    # default one ("You are a helpful assistant.") on both sides; this tiny template has none.
    assert all("<|im_start|>system" not in call["text"][0] for call in theirs_calls)


QWEN_VL_UTILS_GRID = r'''
import json, sys
from qwen_vl_utils.vision_process import smart_nframes
import torch
cases = json.loads(sys.argv[1])
answers = []
for total, video_fps, ele in cases:
    try:
        n = smart_nframes(ele, total_frames=total, video_fps=video_fps)
        answers.append(torch.linspace(0, total - 1, n).round().long().tolist())
    except ValueError as error:
        answers.append(str(error))
print(json.dumps(answers))
'''


@pytest.mark.slow
def test_the_fps_rule_is_qwen_vl_utils_smart_nframes(lmms_python):  # noqa: F811
    """``qwen-vl-utils:fps=X[,min_frames=N][,max_frames=N]`` picks the indices qwen-vl-utils picks (lmms-eval's
    ``qwen2_5_vl`` with ``fps=X`` passes exactly these to it) over video lengths, rates and bounds."""
    cases = [(total, video_fps, {"fps": fps, **bounds})
             for total in (4, 9, 30, 31, 240, 1801, 5000) for video_fps in (8.0, 24.0, 29.97)
             for fps in (0.5, 1.0, 2.0) for bounds in ({}, {"min_frames": 3, "max_frames": 17})]  # fmt: skip
    run = subprocess.run([str(lmms_python), "-c", QWEN_VL_UTILS_GRID, json.dumps(cases)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = json.loads(run.stdout)
    for (total, video_fps, ele), expected in zip(cases, theirs, strict=True):
        bounds = {key: ele[key] for key in ("min_frames", "max_frames") if key in ele}
        rule = parse_frame_rule("qwen-vl-utils:" + ",".join(f"{key}={value}" for key, value in ele.items()))
        assert (rule.rate, rule.min_frames or 4, rule.max_frames) == (ele["fps"], bounds.get("min_frames", 4),
                                                                      bounds.get("max_frames", 768))  # fmt: skip
        ours = qwen_vl_utils_selection(total, video_fps, fps=rule.rate, min_frames=rule.min_frames,
                                       max_frames=rule.max_frames).indices  # fmt: skip
        assert ours == expected, (total, video_fps, ele)


LMMS_EVAL_FACTS = r"""
import inspect
import qwen_vl_utils.vision_process as vision
from lmms_eval.models.chat.qwen2_5_vl import Qwen2_5_VL
from lmms_eval.models.chat import qwen3_vl
defaults = inspect.signature(Qwen2_5_VL.__init__).parameters
print(vision.smart_nframes({"nframes": 7}, total_frames=100, video_fps=8.0),
      vision.smart_nframes({"nframes": 5}, total_frames=100, video_fps=8.0),
      'messages.insert(0, {"role": "system"' in inspect.getsource(qwen3_vl),
      defaults["max_num_frames"].default, defaults["fps"].default, defaults["min_pixels"].default,
      min(defaults["max_pixels"].default, vision.VIDEO_MAX_TOKEN_NUM * 28 * 28))
"""


@pytest.mark.slow
def test_the_documented_differences_from_qwen_vl_utils_alone_and_qwen3_vl(lmms_python):  # noqa: F811
    """What predict does NOT reproduce, stated so that a change on either side fails here; and the preset's values
    are lmms-eval's qwen2_5_vl defaults."""
    run = subprocess.run([str(lmms_python), "-c", LMMS_EVAL_FACTS], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    odd, even, qwen3_system, nframes, fps, min_pixels, max_pixels = run.stdout.split()[-7:]
    # 1. An odd nframes: qwen-vl-utils alone rounds it to even (7 -> 8); lmms-eval's qwen2_5_vl floors it first
    #    (7 -> 6) and predict follows lmms-eval; an even one is kept by all.
    assert (odd, even) == ("8", "4")
    assert len(qwen_vl_utils_selection(100, 8.0, nframes=7).indices) == 6
    assert len(qwen_vl_utils_selection(100, 8.0, nframes=5).indices) == 4
    # 2. lmms-eval's qwen3_vl adds a system message predict does not send; the preset says so.
    assert qwen3_system == "True" and "adds the system message" in get_preset("qwen3_vl").source
    # 3. The preset's values are lmms-eval's qwen2_5_vl defaults (max_pixels as qwen-vl-utils caps a video frame).
    preset = get_preset("qwen2_5_vl")
    assert (preset.frames, fps, preset.min_pixels, preset.max_pixels) == (
        f"qwen-vl-utils:nframes={nframes}", "None", int(min_pixels), int(max_pixels))
