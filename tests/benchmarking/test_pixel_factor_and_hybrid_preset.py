"""Review fixes of predict's presets: frames resized to the model's own side multiple (Qwen3-VL: 32, not
Qwen2.5-VL's 28), decided in one place; a Qwen preset under --backend hybrid runs uniform:N with a note; one
stated frame cap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from doubles.tiny_models import save_tiny_reasoner

from videoespresso_hf.benchmarking import job
from videoespresso_hf.benchmarking.backends import GenerationSettings
from videoespresso_hf.benchmarking.frames import PixelBounds, fit_pixels
from videoespresso_hf.benchmarking.items import load_bench_items
from videoespresso_hf.benchmarking.presets import PRESETS
from videoespresso_hf.cli.main import main
from videoespresso_hf.frame_rules import MAX_FRAMES, QWEN_MAX_FRAMES, parse_frame_rule

DOCS = Path(__file__).resolve().parents[2] / "docs" / "guides"


@pytest.fixture(scope="module")
def tiny_reasoner_dir(tmp_path_factory) -> Path:
    return save_tiny_reasoner(tmp_path_factory.mktemp("hybrid_preset") / "reasoner")


def _plan(prepared_bench, model, tmp_path, **settings) -> job._Plan:
    return job._plan(job.PredictConfig(data=str(prepared_bench), model=str(model), output=tmp_path / "p.jsonl", **settings))


def test_the_factor_comes_from_the_loaded_processor_else_the_preset(prepared_bench, tiny_vlm_dir, tmp_path):
    for family, factor in (("qwen3_vl", 32), ("qwen2_5_vl", 28)):
        plan = _plan(prepared_bench, tiny_vlm_dir(family), tmp_path, preset="qwen2_5_vl", min_pixels=3136)
        backend = job._load_backend(plan, GenerationSettings(max_new_tokens=1))
        try:  # the processor wins over the preset (here the other family's preset)
            assert job._pixel_factor(backend, plan.preset) == factor
        finally:
            backend.close()
    # Before any model loads (the plan) and for a processor that does not say: the preset's, else Qwen2.5-VL's 28.
    assert job._pixel_factor(None, PRESETS["qwen3_vl"]) == 32 and job._pixel_factor(None, PRESETS["qwen2_5_vl"]) == 28
    assert job._pixel_factor(None, None) == 28
    assert _plan(prepared_bench, tiny_vlm_dir("qwen3_vl"), tmp_path, preset="qwen3_vl").pixel_bounds.factor == 32


def test_a_qwen3_vl_presets_frames_are_multiples_of_32(prepared_bench, tiny_vlm_dir, tmp_path):
    plan = _plan(prepared_bench, tiny_vlm_dir("qwen3_vl"), tmp_path, preset="qwen3_vl", min_pixels=12544, max_pixels=20480)
    backend = job._load_backend(plan, GenerationSettings(max_new_tokens=1))
    try:
        item = load_bench_items(prepared_bench)[0]
        frames = job._frame_sampler(plan, backend).sample(item.video, item.question)
        height, width = frames.frames.shape[1:3]
        # 64x48 clips scaled into 12544..20480 pixels: 128x160 at Qwen3-VL's 32 (Qwen2.5-VL's 28 would give 112x140).
        assert (height, width) == (128, 160) and height % 32 == 0 and width % 32 == 0
        assert backend.identity["pixel_bounds"]["factor"] == 32  # what the sidecar records
    finally:
        backend.close()


@pytest.mark.parametrize(("family", "preset", "patch"), [("qwen3_vl", "qwen3_vl", 16), ("qwen2_5_vl", "qwen2_5_vl", 14)])
def test_the_processor_keeps_the_frames_the_sampler_sized(family, preset, patch, prepared_bench, tiny_vlm_dir, tmp_path):
    """The sampler is the one resize: the model's patch grid is the sampled frame's size over the patch. (Qwen3-VL's
    video processor reads a pixel bound as the budget of the whole clip, so handing it the per-frame bound shrank
    every frame again.)"""
    plan = _plan(prepared_bench, tiny_vlm_dir(family), tmp_path, preset=preset, min_pixels=12544, max_pixels=20480)
    backend = job._load_backend(plan, GenerationSettings(max_new_tokens=1))
    try:
        item = load_bench_items(prepared_bench)[0]
        frames = job._frame_sampler(plan, backend).sample(item.video, item.question)
        height, width = frames.frames.shape[1:3]
        request = type("Request", (), {"frames": frames, "prompt": item.question})()
        grid = backend._inputs([request])["video_grid_thw"][0].tolist()
        assert grid[1:] == [height // patch, width // patch]
    finally:
        backend.close()


def test_the_reproduce_guides_pixel_claim_holds():
    text = " ".join((DOCS / "predict-reproduce.md").read_text(encoding="utf-8").split())
    claim = re.search(r"under `--preset qwen3_vl` a (\d+) × (\d+) frame becomes (\d+) × (\d+)", text)
    assert claim, "the guide's Qwen3-VL pixel example moved: update this test"
    source_h, source_w, out_h, out_w = map(int, claim.groups())
    preset = PRESETS["qwen3_vl"]
    bounds = PixelBounds(preset.min_pixels, preset.max_pixels, job._pixel_factor(None, preset))
    assert fit_pixels(source_h, source_w, bounds) == (out_h, out_w) == (640, 1152)  # lmms-eval's qwen3_vl
    wrong = fit_pixels(source_h, source_w, PixelBounds(preset.min_pixels, preset.max_pixels, 28))
    assert f"{wrong[0]} × {wrong[1]} would be wrong" in text


@pytest.mark.parametrize("preset", ["qwen2_5_vl", "qwen3_vl"])
def test_the_hybrid_runs_a_qwen_presets_frames_as_uniform_with_a_note(preset, prepared_bench, tmp_path):
    plan = _plan(prepared_bench, tmp_path, tmp_path, backend="hybrid", preset=preset)
    assert plan.rule.spec == "uniform:32" and plan.rule.hybrid_settings() == {"max_core_frames": 32}
    assert plan.notes == [f"--preset {preset}'s frames (qwen-vl-utils:nframes=32) are for the hf backend; the hybrid "
                          "backend runs uniform:32 (the same frame count; --frames sets another rule)"]  # fmt: skip
    # The hf backend keeps the preset's rule; an explicit --frames wins with no note.
    assert _plan(prepared_bench, tmp_path, tmp_path, preset=preset).rule.spec == "qwen-vl-utils:nframes=32"
    explicit = _plan(prepared_bench, tmp_path, tmp_path, backend="hybrid", preset=preset, frames="shots:4")
    assert explicit.rule.spec == "shots:4" and explicit.notes == []


def test_the_hybrid_notes_reach_the_summary(prepared_bench, tiny_reasoner_dir, tmp_path):
    output = tmp_path / "p.jsonl"
    result = job.predict(data=str(prepared_bench), model=str(tiny_reasoner_dir), backend="hybrid", preset="qwen2_5_vl",
                         output=output, limit=1, max_new_tokens=1, progress=False)  # fmt: skip
    assert "the hybrid backend runs uniform:32" in result.summary and result.written == 1
    assert json.loads(output.with_name("p.jsonl.meta.json").read_text())["identity"]["frames"] == "uniform:32"


def test_an_explicit_qwen_rule_is_still_refused_for_the_hybrid(prepared_bench, tmp_path, capsys):
    code = main(["predict", "--data", str(prepared_bench), "--backend", "hybrid", "--model", str(tmp_path / "none"),
                 "--preset", "qwen3_vl", "--frames", "qwen-vl-utils:nframes=4", "--output", str(tmp_path / "p.jsonl"),
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--frames qwen-vl-utils:nframes=4: lmms-eval's Qwen frame rule" in err[0]


def test_one_frame_cap_rule_with_the_qwen_vl_utils_exemption_stated():
    assert parse_frame_rule("uniform:500").count == MAX_FRAMES  # our rules stop at 128
    with pytest.raises(ValueError, match=rf"from 1 to {MAX_FRAMES} \(predict's frame cap; only qwen-vl-utils"):
        parse_frame_rule("fps:1:200")
    # qwen-vl-utils keeps its own cap, 768, for nframes as for its fps form's max_frames (its default).
    assert parse_frame_rule("qwen-vl-utils:nframes=200").count == 200
    assert parse_frame_rule("qwen-vl-utils:fps=2").max_frames == QWEN_MAX_FRAMES == 768
    for text in ("qwen-vl-utils:nframes=770", "qwen-vl-utils:fps=2,max_frames=800"):
        with pytest.raises(ValueError, match=rf"{QWEN_MAX_FRAMES} \(qwen-vl-utils' frame cap, which this rule keeps; "
                                             rf"uniform, fps and shots stop at {MAX_FRAMES}\)"):
            parse_frame_rule(text)


def test_the_sidecar_records_the_qwen3_vl_factor(prepared_bench, tiny_vlm_dir, tmp_path):
    output = tmp_path / "q3.jsonl"
    job.predict(data=str(prepared_bench), model=str(tiny_vlm_dir("qwen3_vl")), preset="qwen3_vl", frames="uniform:2",
                min_pixels=12544, max_pixels=20480, limit=1, max_new_tokens=1, output=output, progress=False)  # fmt: skip
    identity = json.loads(output.with_name("q3.jsonl.meta.json").read_text())["identity"]
    assert identity["pixel_bounds"] == {"min_pixels": 12544, "max_pixels": 20480, "factor": 32}
    assert identity["preset_settings"]["factor"] == 32
