"""The hybrid backend (evidence kept) and the selector frame rule on the hf backend."""

from __future__ import annotations

import json

import pytest
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl
from doubles.tiny_models import save_tiny_reasoner, save_tiny_selector

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.scorer import score_file


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("hybrid_ckpt")
    return save_tiny_reasoner(root / "reasoner"), save_tiny_selector(root / "selector")


def test_hybrid_keeps_evidence_and_frames(prepared_bench, checkpoints, tmp_path, capsys):
    reasoner, _ = checkpoints
    output = tmp_path / "hybrid.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--backend", "hybrid", "--model", str(reasoner),
                 "--frames", "uniform:2", "--output", str(output), "--batch-size", "4", "--max-new-tokens", "3",
                 "--no-progress"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    # The hybrid counts no tokens: its summary says nothing about them (never "tokens: 0 in, 0 out").
    assert "failures:    0" in printed and "tokens:" not in printed
    records = read_jsonl(output)
    assert len(records) == len(PREDICT_ITEMS)
    assert all(isinstance(r["model_evidence"], str) and isinstance(r["model_output"], str) for r in records)
    assert all(r["frames"]["rule"] == "uniform:2" and r["frames"]["indices"] == [0, 3] for r in records)
    assert records[0]["evidence"].startswith("In frame 480")  # the reference evidence is untouched
    assert score_file(output, "robust")["overall"]["n"] == len(PREDICT_ITEMS)
    identity = json.loads(output.with_name("hybrid.jsonl.meta.json").read_text())["identity"]
    assert identity["backend"] == "hybrid" and identity["strategy"] == "uniform"
    assert "{evidence}" in identity["reasoner_prompts"]["answer_prompt"]


def test_selector_rule_picks_frames_for_the_hf_backend(prepared_bench, checkpoints, tiny_vlm_dir, tmp_path):
    _, selector = checkpoints
    output = tmp_path / "selected.jsonl"
    assert main(["predict", "--data", str(prepared_bench), "--model", str(tiny_vlm_dir("qwen2_5_vl")),
                 "--frames", f"selector:{selector}", "--output", str(output), "--limit", "2", "--max-new-tokens", "1",
                 "--no-progress"]) == 0  # fmt: skip
    records = read_jsonl(output)
    assert all(r["frames"]["rule"] == f"selector:{selector}" and r["frames"]["indices"] for r in records)


def test_bad_selector_is_one_line_error(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    code = main(["predict", "--data", str(prepared_bench), "--model", str(tiny_vlm_dir("qwen2_5_vl")),
                 "--frames", f"selector:{tmp_path / 'nope'}", "--output", str(tmp_path / "x.jsonl")])  # fmt: skip
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # above it, at most the fixture's model-writing bar
    assert last == f"videoespresso predict: error: --frames selector:{tmp_path / 'nope'}: no such file or folder"


def test_a_checkpoint_that_is_no_selector_is_one_line_error(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    vlm = tiny_vlm_dir("qwen2_5_vl")
    code = main(["predict", "--data", str(prepared_bench), "--model", str(vlm), "--frames", f"selector:{vlm}",
                 "--output", str(tmp_path / "x.jsonl")])  # fmt: skip
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # above it: progress bars of the data and model loads
    assert last.startswith("videoespresso predict: error: cannot load the frame selector")
    assert "not a VideoEspresso frame selector" in last
    assert not (tmp_path / "x.jsonl").exists()  # refused before any item ran
