from __future__ import annotations

import json

import pytest

from videoespresso_hf.data.records import (
    core_frames_from_record,
    generated_record_to_row,
    parse_correct_letter,
    parse_frame_name,
    release_record_to_row,
    row_to_release_record,
    source_from_path,
    strip_option_letter,
)
from videoespresso_hf.data.schema import FIELDS, encode_row, features
from videoespresso_hf.demo.releases import BENCH_ITEMS, bench_record


def test_bench_record_maps_every_field():
    record = bench_record(*BENCH_ITEMS[0])
    assert list(record)[:4] == ["core_frames_paths", "core_frames_captions", "question", "answer"]
    row = release_record_to_row(record, id_prefix="bench", index=7)
    assert tuple(row) == FIELDS or set(row) == set(FIELDS)
    assert row["id"] == "bench-000007"
    assert row["options"][0] == "A distractor answer." and row["options"][3] == "A: tricky distractor."
    assert row["correct_answer"] == "B"
    assert (row["task"], row["task_group"]) == ("Causal Analysis", "Logical Reasoning")
    assert row["source"] == "XD-Violence"
    assert row["evidence"].endswith("the person raises a hand while the crowd watches.")
    assert [obj["box_status"] for obj in row["key_objects"]] == ["ok", "empty"]
    assert [frame["frame_index"] for frame in row["core_frames"]] == [480, 512]
    assert all(frame["timestamp"] is None for frame in row["core_frames"])  # the test set has no fps
    # The undocumented 5th key survives in metadata.
    assert json.loads(row["metadata"])["extra_fields"]["key_items"][0]["object"] == "person"
    assert features().encode_example(row)["task"] == 3


def test_key_frame_field_variants_give_identical_core_frames():
    frames, captions = ["CUVA/2_image/00299/4560.jpg", "CUVA/2_image/00299/4600.jpg"], ["a", "b"]
    variants = [
        {"core_frames_paths": frames, "core_frames_captions": captions},
        {"path": frames, "caption": captions},
        {"keyframe_path": frames, "keyframe_caption": captions},
    ]
    results = [core_frames_from_record(variant, fps=2.0) for variant in variants]
    assert results[0] == results[1] == results[2]
    assert results[0][0] == {"path": frames[0], "caption": "a", "frame_index": 4560, "timestamp": 2280.0}


def test_frame_names_and_sources():
    assert parse_frame_name("vatex/vatex_image/RgtipEqA7ZA_000046_000056/0.jpg") == (0, None)
    assert parse_frame_name("Storystream/Rabbids/rabbids/000027/000027_keyframe_1-38-11-958.jpg") == (
        None, pytest.approx(5891.958))  # fmt: skip
    assert parse_frame_name("x/cover.jpg") == (None, None)
    assert source_from_path("all_video/XD-Violence/a.mp4") == "XD-Violence"
    assert source_from_path("storystream/Rabbids/x.jpg") == "Storystream"
    assert source_from_path("all_video/NewSet/a.mp4") == "NewSet"
    assert source_from_path("a.mp4") == ""


def test_options_and_letters():
    assert strip_option_letter("(C): Another (with parentheses).") == "Another (with parentheses)."
    assert strip_option_letter("B. text") == "text"
    assert strip_option_letter("A man walks") == "A man walks"
    assert [parse_correct_letter(v) for v in ("(A)", "D", "(B): x", 2, None, "")] == ["A", "D", "B", "C", "", ""]


def test_per_source_fps_and_unknown_task():
    record = {"question": "q?", "path": ["vatex/vatex_image/id/10.jpg"], "video_path": "vatex/id.mp4",
              "task": "Mystery Task"}  # fmt: skip
    row = release_record_to_row(record, id_prefix="train", index=0, fps=4.0, fps_by_source={"VATEX": 1.0})
    assert row["fps"] == 1.0 and row["core_frames"][0]["timestamp"] == 10.0
    assert row["task"] is None and json.loads(row["metadata"])["task_raw"] == "Mystery Task"
    assert encode_row(row)["task"] is None
    with pytest.raises(ValueError, match="no 'question'"):
        release_record_to_row({"answer": "x"}, id_prefix="train", index=3)


def test_generated_rows_are_normalised_and_validated():
    row = generated_record_to_row({"question": "q", "task": "Event Process", "video": "/v.mp4",
                                   "core_frames": [{"path": "f.jpg", "frame_index": "3"}],
                                   "evidence_raw": "<obj_start>a<obj_end><box_start>[1,2,3,4]<box_end>"})  # fmt: skip
    assert row["task"] == "Event Dynamic" and row["task_group"] == "Logical Reasoning"
    assert row["id"].startswith("gen-") and row["evidence"] == "a"
    assert row["core_frames"][0]["frame_index"] == 3
    unknown_group = generated_record_to_row({"question": "q", "task_group": "Astrology"})
    assert unknown_group["task_group"] is None and json.loads(unknown_group["metadata"])["task_group_raw"] == "Astrology"
    assert encode_row(unknown_group)["task_group"] is None
    known_group = generated_record_to_row({"question": "q", "task_group": "Reality Application"})
    assert encode_row(known_group)["task_group"] == 3
    with pytest.raises(ValueError, match="4 numbers"):
        generated_record_to_row({"question": "q", "key_objects": [{"label": "a", "boxes": [[1, 2]]}]}, 5)
    with pytest.raises(ValueError, match="line 9"):
        generated_record_to_row({"question": "q", "metadata": "{not json"}, 9)


def test_record_conversion_does_not_import_datasets():
    # The pipeline's export and `records` only need FIELDS/empty_row; `datasets` costs seconds to import.
    import subprocess
    import sys

    code = "import sys, videoespresso_hf.data.records, videoespresso_hf.data.evidence; print('datasets' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "False"


def test_a_row_written_back_in_the_released_layout_reads_back_as_the_same_row():
    # What models and lmms-eval tasks see of a bench item is the released record again, key order included.
    record = bench_record(*BENCH_ITEMS[0])
    row = release_record_to_row(record, id_prefix="bench", index=7)
    written = row_to_release_record(row, row["task"])
    assert written["id"] == "bench-000007"
    assert {key: value for key, value in written.items() if key != "id"} == record
    assert list(written)[1:] == list(record)
    again = release_record_to_row({key: value for key, value in written.items() if key != "id"}, id_prefix="bench", index=7)
    assert again == row
