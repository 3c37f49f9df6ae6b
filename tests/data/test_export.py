"""`videoespresso data export` for verl/EasyR1 and ms-swift, and the reward file they load (issue 20.6).

The export is read back with pyarrow / datasets and checked against the documented layout (verl's
``RLHFDataset`` columns; ms-swift's ``messages`` + ``videos``/``images`` JSONL); the reward file is loaded by
path, as verl's ``custom_reward_function.path`` does, and called with verl's signature.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
from doubles.keyframe_release import FOREIGN, key_frame_truth, write_keyframe_release

from videoespresso_hf.cli.main import main
from videoespresso_hf.data.export import ExportConfig, export_dataset
from videoespresso_hf.data.sources import DataError

VERL_COLUMNS = ["data_source", "prompt", "videos", "ability", "reward_model", "extra_info"]
GROUNDED = ("<think>The <obj_start>cup<obj_end><box_start>[100,200,900,950]<box_end> at <t>{t}</t>s falls."
            "</think><answer>{answer}</answer>")  # fmt: skip


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """train_video and train_multi_image prepared from the key-frame release (times recovered by matching)."""
    root = tmp_path_factory.mktemp("export")
    video_dir, image_dir, _ = write_keyframe_release(root / "release")
    out = root / "prepared"
    for args in (["--config", "train_video", "--data-dir", str(video_dir), "--keyframes-dir", str(image_dir)],
                 ["--config", "train_multi_image", "--data-dir", str(image_dir), "--videos-dir", str(video_dir)]):  # fmt: skip
        assert main(["data", "prepare", "--quiet", *args, "--out", str(out)]) == 0
    return out


def _export(capsys, *args: str) -> str:
    code = main(["data", "export", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


def _load_reward_file(path: Path):
    spec = importlib.util.spec_from_file_location("custom_module", path)  # what verl's load_extern_type does
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_verl_parquet_has_the_documented_columns_and_ground_truth(prepared, tmp_path, capsys):
    out = tmp_path / "verl"
    printed = _export(capsys, str(prepared), "--config", "train_video", "--format", "verl", "--out", str(out))
    assert "train: 6 rows (6 with recovered key-frame times, 6 with decided boxes)" in printed
    table = pq.read_table(out / "train.parquet")
    assert table.column_names == VERL_COLUMNS
    rows = datasets.load_dataset("parquet", data_files=str(out / "train.parquet"), split="train",
                                 cache_dir=str(tmp_path / "cache"))  # fmt: skip
    truth = key_frame_truth()
    multiple_choice = 0
    times_by_video: dict[str, set] = {}
    for row in rows:
        assert row["data_source"] == "videoespresso/train_video" and row["ability"] == "video_reasoning"
        (message,) = row["prompt"]
        assert message["role"] == "user" and message["content"].startswith("<video>\n")
        assert "<answer></answer>" in message["content"] and "<t>seconds</t>" in message["content"]
        assert Path(row["videos"][0]["video"]).is_file()
        extra = row["extra_info"]
        reward = row["reward_model"]
        assert reward["style"] == "rule"
        if extra["question_type"] == "multiple_choice":
            multiple_choice += 1
            assert reward["ground_truth"] == "B" and "(B) The cup falls." in message["content"]
        else:
            assert reward["ground_truth"] == "The cup falls." and extra["options"] == []
        stem = Path(row["videos"][0]["video"]).stem
        times_by_video.setdefault(stem, set()).update(extra["keyframe_times"])
        assert extra["boxes"] == [{"label": "cup", "box": pytest.approx([0.1, 0.2, 0.9, 0.95])}]
        assert extra["box_reading"] == "per-mille-xyxy" and extra["image_size"] == [192, 128]
        assert "<obj_start>cup<obj_end>" in extra["evidence"]
    assert multiple_choice == 3
    # The rows' times are the matched ones, the seconds the images were cut at; the foreign key frame of 00299
    # (which --fps would have put at 9 s) contributes none.
    expected: dict[str, set] = {}
    for path, second in truth.items():
        expected.setdefault(Path(path).parent.name, set()).add(second)
    assert times_by_video == expected and FOREIGN.endswith("/9.jpg") and 9.0 not in times_by_video["00299"]
    assert [row["extra_info"]["index"] for row in rows] == list(range(6))
    assert (out / "verl_reward.py").is_file()


def test_verl_image_rows_and_easyr1_layout(prepared, tmp_path, capsys, reward):
    _export(capsys, str(prepared), "--config", "train_multi_image", "--format", "verl", "--out", str(tmp_path / "v"))
    table = pq.read_table(tmp_path / "v" / "train.parquet")
    assert table.column_names == [name if name != "videos" else "images" for name in VERL_COLUMNS]
    first = table.to_pylist()[0]
    assert first["prompt"][0]["content"].count("<image>") == len(first["images"]) > 0
    assert all(Path(image["image"]).is_file() for image in first["images"])
    _export(capsys, str(prepared), "--config", "train_video", "--format", "easyr1", "--out", str(tmp_path / "e"))
    rows = pq.read_table(tmp_path / "e" / "train.parquet").to_pylist()
    assert set(rows[0]) == {"problem", "answer", "data_source", "id", "videos"}
    assert rows[0]["problem"].startswith("<video>\n") and Path(rows[0]["videos"][0]).is_file()
    # EasyR1 hands the reward only the answer column: the labels travel inside it, and the reward reads them.
    labels = json.loads(rows[0]["answer"])
    assert labels["answer"] == "B" and labels["keyframe_times"] == [3.0]
    (scores,) = reward.compute_score_batch([{"response": GROUNDED.format(t=3.0, answer="B"), "ground_truth": rows[0]["answer"]}])
    assert scores["answer"] == 1.0 and scores["temporal"] == 1.0 and scores["spatial"] == pytest.approx(1.0)


def test_swift_jsonl_has_messages_media_and_solution(prepared, tmp_path, capsys):
    out = tmp_path / "swift"
    _export(capsys, str(prepared), "--config", "train_multi_image", "--format", "swift", "--out", str(out))
    lines = [json.loads(line) for line in (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6
    for record in lines:
        (message,) = record["messages"]
        assert message["role"] == "user" and "videos" not in record
        # One <image> placeholder per image, as ms-swift and LLaMA-Factory pair them.
        assert message["content"].count("<image>") == len(record["images"]) > 0
        assert all(Path(image).is_file() for image in record["images"])
        assert record["solution"] in ("B", "The cup falls.")
        assert isinstance(record["keyframe_times"], list) and record["boxes"]


def test_export_refuses_bad_input_with_one_line(prepared, tmp_path, capsys):
    code = main(["data", "export", str(tmp_path / "nothing"), "--config", "train_video", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "no 'train_video' config folder" in err and "Traceback" not in err
    with pytest.raises(DataError, match="no split 'test'"):
        export_dataset(prepared=str(prepared), out=str(tmp_path / "o"), config="train_video", split="test")
    with pytest.raises(DataError, match="--format"):
        ExportConfig(prepared=str(prepared), out=str(tmp_path / "o"), format="csv")


def test_limit_and_python_entry_point(prepared, tmp_path):
    result = export_dataset(ExportConfig(prepared=str(prepared), out=str(tmp_path / "o"), config="train_video", limit=2))
    assert result.rows == {"train": 2} and pq.read_table(result.files["train"]).num_rows == 2
    assert "train: 2 rows" in result.summary and result.reward_file.is_file()


# -- the reward file --------------------------------------------------------------------------------------------

EXTRA = {"options": ["It rolls.", "The cup falls.", "Nothing.", "It flies."], "keyframe_times": [3.0, 5.5],
         "boxes": [{"label": "cup", "box": [0.1, 0.2, 0.9, 0.95]}]}  # fmt: skip


@pytest.fixture(scope="module")
def reward():
    from videoespresso_hf.integrations import verl_reward

    return _load_reward_file(Path(verl_reward.__file__))


def test_reward_file_is_self_contained():
    from videoespresso_hf.integrations import verl_reward

    tree = ast.parse(Path(verl_reward.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported <= {"__future__", "json", "math", "re", "collections", "typing", "swift"}  # swift: only in register_swift


def test_compute_score_with_verls_signature(reward):
    perfect = reward.compute_score(data_source="videoespresso/train_video", solution_str=GROUNDED.format(t=3.0, answer="B"),
                                   ground_truth="B", extra_info=EXTRA)  # fmt: skip
    assert {k: perfect[k] for k in ("answer", "format", "temporal", "spatial")} == {
        "answer": 1.0, "format": 1.0, "temporal": 1.0, "spatial": pytest.approx(1.0)}
    assert perfect["score"] == pytest.approx(4.0)
    # One second off the nearest key frame: exp(-1/2) with σ = 1 s; the box still counts (within 1 s).
    off = reward.compute_score("videoespresso/train_video", GROUNDED.format(t=4.0, answer="(C)"), "B", EXTRA)
    assert off["answer"] == 0.0 and off["temporal"] == pytest.approx(math.exp(-0.5)) and off["spatial"] == pytest.approx(1.0)
    # A box claimed 2 s away from every key frame is not counted: spatial 0, not its IoU.
    far = reward.compute_score("videoespresso/train_video", GROUNDED.format(t=8.0, answer="B"), "B", EXTRA)
    assert far["spatial"] == 0.0 and far["spatial_scored"] == 1.0
    # think + answer without grounding → 0.5; no think at all → 0.
    plain = reward.compute_score("x", "<think>It falls.</think><answer>B</answer>", "B", EXTRA)
    assert plain["format"] == 0.5 and plain["temporal"] == 0.0
    assert reward.compute_score("x", "B", "B", EXTRA)["format"] == 0.0


def test_rows_without_labels_give_none_never_zero(reward):
    components = reward.reward_components(GROUNDED.format(t=3.0, answer="B"), "B", {"options": EXTRA["options"]})
    assert components["temporal"] is None and components["spatial"] is None
    scored = reward.compute_score("x", GROUNDED.format(t=3.0, answer="B"), "B", {"options": EXTRA["options"]})
    assert scored["temporal_scored"] == 0.0 and scored["score"] == pytest.approx(2.0)  # answer + format only
    no_boxes = reward.reward_components(GROUNDED.format(t=3.0, answer="B"), "B", {**EXTRA, "boxes": []})
    assert no_boxes["spatial"] is None and no_boxes["temporal"] == 1.0


def test_free_form_answers_score_rouge_l(reward):
    half = reward.reward_components("<think>x</think><answer>the cup</answer>", "The cup falls.", {"options": []})
    assert half["answer"] == pytest.approx(2 * 1.0 * (2 / 3) / (1.0 + 2 / 3))
    assert reward.rouge_l("a b c", "a b c") == 1.0 and reward.rouge_l("x", "a b") == 0.0


def test_iou_and_weights(reward):
    assert reward.box_iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    weighted = reward.compute_score("x", GROUNDED.format(t=3.0, answer="B"), "B", EXTRA,
                                    weights={"answer": 2.0, "format": 0.0})  # fmt: skip
    assert weighted["score"] == pytest.approx(2.0 + 0.0 + 1.0 + 1.0)


def test_batch_and_swift_forms(reward):
    batch = reward.compute_score_batch([{"response": GROUNDED.format(t=5.5, answer="B"), "ground_truth": "B",
                                         "extra_info": EXTRA}])  # fmt: skip
    assert batch[0]["overall"] == pytest.approx(4.0)
    temporal = reward.TemporalReward()
    values = temporal([GROUNDED.format(t=5.5, answer="B"), "no format"], ["B", "B"],
                      keyframe_times=[[3.0, 5.5], []], options=[EXTRA["options"]] * 2)  # fmt: skip
    assert values == [1.0, None]


def test_generated_rows_keep_the_pipelines_times_and_pixel_boxes(generated_release, tmp_path, capsys):
    prepared = tmp_path / "prepared"
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(generated_release),
                 "--out", str(prepared)]) == 0  # fmt: skip
    capsys.readouterr()
    result = export_dataset(prepared=str(prepared), out=str(tmp_path / "o"), config="generated", split="train")
    extra = pq.read_table(result.files["train"]).to_pylist()[0]["extra_info"]
    assert extra["keyframe_times"] == [1.5]  # the pipeline decoded that frame itself: trusted as is
    assert extra["box_reading"] == "pixels-xyxy" and extra["image_size"] == [64, 48]
    assert extra["boxes"][0]["box"] == pytest.approx([1 / 64, 2 / 48, 3 / 64, 4 / 48], abs=1e-5)


def test_rollout_parsing_rules(reward):
    text = ("<think>At <t>2.0</t>s the <obj_start>cup<obj_end><box_start>[[1,2,3,4],[5,6,7,8]]<box_end> tips; "
            "the <obj_start>hand<obj_end><box_start>[9,9,20,20]<box_end> at <t>5.5</t>s lets go; "
            "a <obj_start>dog<obj_end><box_start>[]<box_end> barks.</think><answer>(B) it falls</answer>")  # fmt: skip
    parsed = reward.parse_rollout(text)
    # A box takes the <t> after it (before the next object), else the last one before it.
    assert parsed["claims"] == [("cup", (1.0, 2.0, 3.0, 4.0), 2.0), ("cup", (5.0, 6.0, 7.0, 8.0), 2.0),
                                ("hand", (9.0, 9.0, 20.0, 20.0), 5.5)]  # fmt: skip
    assert parsed["times"] == [2.0, 5.5] and parsed["well_formed"] and parsed["answer"] == "(B) it falls"
    assert reward.answer_reward(parsed["answer"], "B", True) == 1.0
    assert reward.answer_reward("Answer: B", "B", True) == 0.0  # must start with the letter
    assert reward.reward_components(text + " trailing", "B", EXTRA)["format"] == 0.0
    only_times = "<think>At <t>3</t>s it falls.</think><answer>B</answer>"
    assert reward.reward_components(only_times, "B", EXTRA)["format"] == 0.5  # grounded = a time AND a box


def test_embedded_media_are_written_under_out_whatever_the_row_id(generated_release, tmp_path, capsys):
    rows = generated_release / "generated" / "train.jsonl"
    lines = [json.loads(line) for line in rows.read_text().splitlines()]
    lines[0]["id"] = "../../escaped"
    rows.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    prepared = tmp_path / "prepared"
    assert main(["data", "prepare", "--quiet", "--config", "generated", "--data-dir", str(generated_release),
                 "--out", str(prepared), "--embed-videos"]) == 0  # fmt: skip
    capsys.readouterr()
    out = tmp_path / "deep" / "o"
    result = export_dataset(prepared=str(prepared), out=str(out), config="generated", split="train")
    videos = [row["videos"][0]["video"] for row in pq.read_table(result.files["train"]).to_pylist()]
    assert all(Path(video).parent == (out / "media" / "generated").resolve() for video in videos)
    assert not list(tmp_path.glob("escaped*")) and not list((tmp_path / "deep").glob("escaped*"))
