"""The hf backend on six transformers VLM families, end to end: prepared bench → predict → score."""

from __future__ import annotations

import json

import pytest
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.scorer import score_file

FAMILIES = ["qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_interleave", "internvl", "smolvlm"]


@pytest.mark.parametrize("family", FAMILIES)
def test_family_predicts_every_item_and_score_reads_the_file(family, prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    output = tmp_path / "preds.jsonl"
    argv = ["predict", "--data", str(prepared_bench), "--model", str(tiny_vlm_dir(family)), "--output", str(output),
            "--frames", "uniform:4", "--max-new-tokens", "1", "--batch-size", "3", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    records = read_jsonl(output)
    assert [r["id"] for r in records] == [f"bench-{i:06d}" for i in range(len(PREDICT_ITEMS))]
    # Released layout kept, plus the model's answer (one of A-D: the tiny model is restricted to letters).
    assert all(r["model_output"] in {"A", "B", "C", "D"} for r in records)
    assert all(r["options"][0].startswith("(A): ") and r["correct_answer"].startswith("(") for r in records)
    assert all(r["frames"] == {"rule": "uniform:4", "indices": [0, 1, 2, 3], "timestamps": [0.0, 0.125, 0.25, 0.375]}
               for r in records)  # fmt: skip
    result = score_file(output, "robust")
    correct = sum(f"({r['model_output']})" == r["correct_answer"] for r in records)
    assert result["overall"]["n"] == len(PREDICT_ITEMS) and result["overall"]["correct"] == correct
    assert result["overall"]["unanswered"] == 0
    # The summary and the 14-task table are printed at the end.
    assert "failures:    0" in printed and "Narrative Analysis" in printed and f"correct={correct}" in printed
    meta = json.loads(output.with_name("preds.jsonl.meta.json").read_text())["identity"]
    expected_modality = "images" if family == "llava_interleave" else "video"
    assert (meta["backend"], meta["modality"], meta["frames"]) == ("hf", expected_modality, "uniform:4")


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava_interleave"])
def test_frames_reach_the_model(family, prepared_bench, tiny_vlm_dir):
    """The processor inputs carry the decoded frames: one video (or one image per frame)."""
    from videoespresso_hf.benchmarking.backends import GenerationSettings, Request, TransformersBackend
    from videoespresso_hf.benchmarking.frames import FrameSampler, parse_frame_rule
    from videoespresso_hf.benchmarking.items import load_bench_items

    item = load_bench_items(prepared_bench)[0]
    frames = FrameSampler(parse_frame_rule("uniform:3")).sample(item.video, item.question)
    backend = TransformersBackend(str(tiny_vlm_dir(family)), GenerationSettings(max_new_tokens=1))
    inputs = backend._inputs([Request(item, "Which option?", frames)])
    if family == "llava_interleave":
        assert inputs["pixel_values"].shape[0] == 3
    else:
        assert inputs["video_grid_thw"].tolist() == [[2, 4, 4]]  # 3 frames (padded to 4) → 2 temporal patches, 56² → 4x4


def test_an_item_that_breaks_its_batch_fails_alone(prepared_bench, tiny_vlm_dir):
    """The local backends' batch loop: a batch that raises is answered again item by item."""
    from videoespresso_hf.benchmarking.backends import GenerationSettings, Request, TransformersBackend
    from videoespresso_hf.benchmarking.frames import FrameSampler, parse_frame_rule
    from videoespresso_hf.benchmarking.items import load_bench_items

    items = load_bench_items(prepared_bench)[:3]
    sampler = FrameSampler(parse_frame_rule("uniform:2"))
    requests = [Request(item, "Which option?", sampler.sample(item.video, item.question)) for item in items]
    requests[1].frames = None  # the processor cannot build this item's inputs
    backend = TransformersBackend(str(tiny_vlm_dir("qwen2_5_vl")), GenerationSettings(max_new_tokens=1))
    outcomes = backend.predict(requests)
    assert [outcome.error is None for outcome in outcomes] == [True, False, True]
    assert outcomes[1].error.startswith("generation failed: AttributeError") and outcomes[1].output is None
    assert outcomes[0].output in {"A", "B", "C", "D"} and outcomes[2].output in {"A", "B", "C", "D"}


def test_open_ended_prompt_has_no_options(prepared_bench, tiny_vlm_dir, tmp_path):
    from videoespresso_hf.benchmarking.prompts import render_prompt

    output = tmp_path / "open.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", str(tiny_vlm_dir("qwen2_5_vl")), "--output",
                 str(output), "--open-ended", "--limit", "2", "--max-new-tokens", "2", "--no-progress"]) == 0  # fmt: skip
    meta = json.loads(output.with_name("open.jsonl.meta.json").read_text())["identity"]
    assert meta["open_ended"] is True and meta["prompt"]["name"] == "open_ended.v1"
    assert len(read_jsonl(output)) == 2
    prompt = render_prompt("multiple_choice.official", task="Causal Analysis", question="Why?", options=["x", "y", "z", "w"])
    assert prompt == ("Please finish the Causal Analysis task. Question: Why?. You have the following options: "
                      "\n(A) x\n(B) y\n(C) z\n(D) w\n. Select the answer and only give the option letters.")  # fmt: skip
    assert "(A)" not in render_prompt("open_ended.v1", task="Causal Analysis", question="Why?", options=["x"])
