"""Frame rules on a real clip, released-record round trip, store edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from videoespresso_hf.benchmarking.frames import FrameSampler, parse_frame_rule
from videoespresso_hf.benchmarking.items import load_bench_items
from videoespresso_hf.benchmarking.store import PredictionStore, RunMismatchError
from videoespresso_hf.cli.main import main
from videoespresso_hf.demo.videos import Segment, make_video


@pytest.mark.parametrize(
    ("text", "spec"),
    [("uniform:16", "uniform:16"), ("fps:0.5", "fps:0.5"), ("shots", "shots:16"), ("shots:3", "shots:3"),
     ("selector:org/sel", "selector:org/sel"), ("uniform:500", "uniform:128")],
)  # fmt: skip
def test_frame_rules_parse(text, spec):
    assert parse_frame_rule(text).spec == spec


@pytest.mark.parametrize("text", ["uniform", "uniform:0", "fps:-1", "fps:x", "selector", "random:3", "uniform:2.5"])
def test_bad_frame_rules_say_what_to_use(text):
    usage = r"uniform:N, fps:X\[:N\], shots\[:N\], qwen-vl-utils:nframes=N\|fps=X\[,min_frames=N\]\[,max_frames=N\] or selector:PATH"
    with pytest.raises(ValueError, match=rf"{usage}|selector needs a path"):
        parse_frame_rule(text)


def test_rules_pick_frames_of_a_real_clip(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", [Segment("static", 2.0), Segment("moving", 2.0)], fps=10, size=(64, 48)).path
    uniform = FrameSampler(parse_frame_rule("uniform:5")).sample(str(clip), "q")
    assert uniform.indices.tolist() == [0, 10, 20, 29, 39] and uniform.frames.shape == (5, 48, 64, 3)
    fps = FrameSampler(parse_frame_rule("fps:1")).sample(str(clip), "q")
    assert fps.indices.tolist() == [0, 10, 20, 30] and fps.timestamps.tolist() == [0.0, 1.0, 2.0, 3.0]
    shots = FrameSampler(parse_frame_rule("shots")).sample(str(clip), "q")
    assert 1 <= len(shots.indices) <= 16 and shots.num_frames == 40


def test_records_keep_the_released_layout(prepared_bench):
    record = load_bench_items(prepared_bench)[0].record
    assert list(record) == ["id", "core_frames_paths", "core_frames_captions", "question", "answer", "key_items",
                            "evidence", "task", "correct_answer", "video_path", "options"]  # fmt: skip
    assert record["correct_answer"] == "(B)" and record["options"][1].startswith("(B): Because")
    assert "<obj_start>person<obj_end>" in record["evidence"]  # released tags kept
    assert record["video_path"].startswith("all_video/XD-Violence/")


def test_store_refuses_a_file_that_is_not_predictions(tmp_path):
    path = tmp_path / "preds.jsonl"
    with PredictionStore(path, {"model": "m"}, {}) as store:
        store.append({"id": "a", "model_output": "B"})
    assert PredictionStore(path, {"model": "m"}, {}).finished == {"a"}
    path.write_text(json.dumps({"no_id": 1}) + "\n")
    with pytest.raises(RunMismatchError, match="line 1 is not a prediction record"):
        PredictionStore(path, {"model": "m"}, {})


def test_two_prepared_folders_of_the_same_name_are_not_confused(prepared_bench_template, tmp_path):
    """`datasets` caches a local folder by its name and card: each must still give its own videos."""
    import shutil

    from doubles.predict_bench import prepare_bench

    for name in ("one", "two"):  # same length: same Parquet sizes, so the cache cannot tell them apart by size
        release = Path(shutil.copytree(prepared_bench_template / "release", tmp_path / name / "release"))
        hub = prepare_bench(release, tmp_path / name / "hub")
        assert load_bench_items(hub)[0].video.startswith(str(release))


@pytest.mark.parametrize(
    ("data", "says"),
    [("someone/not-a-dataset", "--data someone/not-a-dataset: no local file or folder of that name, and no dataset "
      "someone/not-a-dataset in the Hub cache while HF_HUB_OFFLINE=1"),
     ("{missing}", "--data {missing}: no such file or folder"),
     ("{empty}", "{empty} has no prepared 'bench' config; run `videoespresso data prepare --config bench")],
)  # fmt: skip
def test_data_that_cannot_be_loaded_is_one_line_error(data, says, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    paths = {"missing": tmp_path / "not-prepared", "empty": tmp_path / "empty"}
    data, says = data.format(**paths), says.format(**paths)
    # Offline (the test session is), a Hub id is looked up in the Hub cache only.
    # --model: an existing folder, so that the data is what fails (a model is checked before any data is loaded).
    assert main(["predict", "--data", data, "--model", str(tmp_path), "--output", str(tmp_path / "p.jsonl")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith(f"videoespresso predict: error: {says}")
    assert not (tmp_path / "p.jsonl").exists() and not (tmp_path / "p.jsonl.meta.json").exists()
