"""Two-stage reasoner training on a tiny prepared dataset of real videos, with tiny random Qwen reasoners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from training.conftest import BAD_IDS, GOOD_IDS

import videoespresso_hf
from videoespresso_hf.cli.main import main
from videoespresso_hf.training import LLM_LORA_PATTERN, ReasonerTrainingArguments, train_reasoner
from videoespresso_hf.training.reasoner_data import apply_frame_size, build_sample, stage_user_prompt
from videoespresso_hf.training.rows import decode_core_frames, load_rows

QUIET = {"activation_checkpointing": False}


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_lora_lands_on_the_language_model_only(family):
    from doubles.tiny_models import build_tiny_reasoner
    from peft import LoraConfig, get_peft_model

    model, _ = build_tiny_reasoner(family)
    bare_names = LoraConfig(target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    bare = [n for n, _ in get_peft_model(build_tiny_reasoner(family)[0], bare_names).named_modules() if n.endswith("lora_A")]
    lora = [n for n, _ in get_peft_model(model, LoraConfig(target_modules=LLM_LORA_PATTERN)).named_modules() if n.endswith("lora_A")]
    assert len(lora) == 2 * 7  # 2 layers × q, k, v, o, gate, up, down
    assert all(".language_model." in name and "visual" not in name for name in lora)
    if family == "qwen2_5_vl":  # the trap the pattern avoids: the ViT's MLP has the same names
        assert any("visual" in name for name in bare)


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl", "llava"])
@pytest.mark.parametrize("stage", ["1", "2"])
def test_training_prompt_is_token_identical_to_inference(prepared_data, family, stage):
    from doubles.tiny_models import build_tiny_reasoner

    model, processor = build_tiny_reasoner(family)
    apply_frame_size(model.config, 224)  # what train_reasoner does; inference reads the same config
    rows = load_rows(prepared_data, "generated")
    row = next(row for row in rows if row["id"] == GOOD_IDS[3])  # has options and two core frames
    sample = build_sample(processor, model.config, row, stage, max_length=6144)
    # What inference (generate_two_stage) feeds the model for the same frames and metadata, recorded at
    # `generate`; stage 1 "writes" the row's evidence so that stage 2's prompt carries it.
    clip = decode_core_frames(row)
    evidence_ids = processor.tokenizer(row["evidence_raw"], add_special_tokens=False, return_tensors="pt")["input_ids"]
    recorded = []

    def generate(**inputs):
        recorded.append(inputs)
        return torch.cat([inputs["input_ids"], evidence_ids], dim=1)

    model.generate = generate
    output = model.answer(processor, clip.frames, row["question"], row["options"], video_metadata=[clip.metadata])
    assert output.evidence == row["evidence_raw"] and output.answer_prompt == stage_user_prompt(model.config, row, "2", "evidence_raw")
    inference = recorded[int(stage) - 1]
    prompt_length = inference["input_ids"].shape[1]
    assert torch.equal(sample["input_ids"][:prompt_length], inference["input_ids"][0])
    vision = [key for key in inference if key.startswith(("pixel_values", "image_grid", "video_grid"))]
    assert vision and all(torch.equal(sample[key], inference[key]) for key in vision)
    assert (sample["labels"][:prompt_length] == -100).all() and (sample["labels"][prompt_length:] != -100).all()
    target = processor.tokenizer.decode(sample["input_ids"][prompt_length:])
    expected = row["evidence_raw"] if stage == "1" else "(C) a green cup"
    assert target.startswith(expected) and target[len(expected) :].strip() in ("<|im_end|>", "<|im_end|>\n")
    prompt = processor.tokenizer.decode(sample["input_ids"][:prompt_length])
    assert "(C) a green cup" in prompt and ("Evidence: A green cup stands there." in prompt) == (stage == "2")


def test_frame_size_sets_the_configs_pixel_bounds_that_size_frames_in_training_and_inference(prepared_data):
    from doubles.tiny_models import build_tiny_reasoner

    model, processor = build_tiny_reasoner("qwen2_5_vl")
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[3])
    default = build_sample(processor, model.config, row, "1", max_length=6144)["image_grid_thw"]
    apply_frame_size(model.config, 224)
    assert model.config.min_pixels == model.config.max_pixels == 224 * 224
    sized = build_sample(processor, model.config, row, "1", max_length=6144)["image_grid_thw"]
    patch = processor.image_processor.patch_size
    pixels = (sized[:, 1] * sized[:, 2] * patch * patch).tolist()
    # each 64x48 frame is brought to about a 224-px square's pixels (rounded to whole merged patches)
    assert all(0.8 * 224 * 224 <= count <= 1.2 * 224 * 224 for count in pixels), pixels
    assert not torch.equal(default, sized)
    llava, _ = build_tiny_reasoner("llava")
    apply_frame_size(llava.config, 224)  # fixed-size tower: no bounds to set
    assert llava.config.min_pixels is None and llava.config.max_pixels is None


def _args(reasoner_path, data, out, **overrides) -> ReasonerTrainingArguments:
    settings = dict(model=str(reasoner_path), data=str(data), config="generated", output_dir=str(out),
                    effective_batch_size=4, per_device_batch_size=4, dataloader_num_workers=0, logging_steps=1,
                    save_steps=50, trainer_overrides=dict(QUIET))  # fmt: skip
    settings.update(overrides)
    return ReasonerTrainingArguments(**settings)


@pytest.mark.slow
def test_loss_falls_by_half_on_four_rows(tiny_dir, prepared_data, tmp_path):
    from doubles.tiny_models import save_tiny_reasoner

    # Weights drawn with std 0.2, not 0.02: with a random lm_head of std 0.02 (which LoRA does not touch)
    # every logit stays within about ±1.3, so no adapter could take the loss far below log(272) = 5.6.
    reasoner = save_tiny_reasoner(tiny_dir / "reasoner_std02", "qwen2_5_vl", initializer_range=0.2)
    out = train_reasoner(_args(reasoner, prepared_data, tmp_path / "out", stage="1", max_steps=30,
                               learning_rate_stage1=1e-2, lr_scheduler_type="constant", warmup_ratio=0.0))  # fmt: skip
    losses = json.loads((out["stage1"] / "training_summary.json").read_text())["losses"]
    assert len(losses) == 30
    assert losses[-1] <= losses[0] / 2, losses


@pytest.mark.slow
def test_cli_both_stages_merge_and_answer(reasoner_path, prepared_data, tmp_path, capsys, monkeypatch):
    from huggingface_hub import HfApi

    # No network here: record what would be uploaded instead of uploading it.
    uploads = []
    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kwargs: uploads.append(("create", repo_id)))
    monkeypatch.setattr(HfApi, "upload_folder", lambda self, **kwargs: uploads.append(("upload", kwargs)) or "url")
    out = tmp_path / "out"
    argv = ["train", "reasoner", "--model", str(reasoner_path), "--data", str(prepared_data), "--config", "generated",
            "--output", str(out), "--stage", "both", "--max-steps", "2", "--effective-batch-size", "2",
            "--per-device-batch-size", "2", "--workers", "0", "--merge", "--set", "activation_checkpointing=false",
            "--push-to-hub", "someone/tiny-reasoner"]  # fmt: skip
    assert main(argv) == 0
    assert uploads[0] == ("create", "someone/tiny-reasoner")
    assert uploads[1][1]["repo_id"] == "someone/tiny-reasoner" and uploads[1][1]["folder_path"] == str(out / "merged")
    printed = capsys.readouterr().out
    settings = dict(line.split(None, 1) for line in printed.splitlines() if line.startswith("  ") and len(line.split()) >= 2)
    assert settings["learning_rate_stage1"] == "2e-05" and settings["lora_r"] == "16" and settings["weight_decay"] == "0.02"
    for stage in ("stage1", "stage2"):
        assert (out / stage / "adapter_model.safetensors").is_file()
        summary = json.loads((out / stage / "training_summary.json").read_text())
        assert summary["global_step"] == 2 and summary["train_rows"] == 4
    assert json.loads((out / "stage2" / "training_summary.json").read_text())["init_adapter"] == str(out / "stage1")
    assert json.loads((out / "stage2" / "training_summary.json").read_text())["learning_rate"] == 1e-5
    skipped = [json.loads(line) for line in (out / "skipped_rows.jsonl").read_text().splitlines()]
    assert {entry["id"] for entry in skipped} == set(BAD_IDS)
    for entry in skipped:
        assert entry["reason"].startswith(BAD_IDS[entry["id"]])
    # A re-run finds both stages finished: nothing is trained again.
    assert main(argv) == 0
    rerun = capsys.readouterr().out
    assert "stage 1: already finished" in rerun and "stage 2: already finished" in rerun
    assert json.loads((out / "stage2" / "training_summary.json").read_text())["global_step"] == 2
    card = (out / "merged" / "README.md").read_text()
    assert "Base model" in card and "generated" in card and "learning_rate_stage2" in card and "transformers" in card

    # Merged checkpoint == base + adapter (same logits), and loads through the Auto classes.
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from videoespresso_hf.training.reasoner import load_reasoner_for_training

    base, _ = load_reasoner_for_training(str(reasoner_path), dtype=torch.float32)
    adapted = PeftModel.from_pretrained(base, str(out / "stage2")).eval()
    merged = AutoModelForImageTextToText.from_pretrained(out / "merged", trust_remote_code=True).eval()
    assert type(merged).__name__ == "VexQwen2_5_VLReasonerForConditionalGeneration"
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[0])
    assert merged.config.max_pixels == 224 * 224  # the training frame size travels with the merged model
    sample = build_sample(AutoProcessor.from_pretrained(out / "merged"), merged.config, row, "2", max_length=512)
    inputs = {key: value.unsqueeze(0) if key in ("input_ids", "attention_mask", "mm_token_type_ids") else value
              for key, value in sample.items() if key != "labels"}  # fmt: skip
    with torch.no_grad():
        difference = (adapted(**inputs).logits - merged(**inputs).logits).abs().max().item()
    assert difference < 1e-4  # float32 merge: W + BA folded once; observed ~1e-6

    code = main(["answer", row["video"]["path"], "-q", row["question"], "--reasoner", str(out / "merged"),
                 "--strategy", "uniform", "--max-frames", "2", "--json"])  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert answer["question"] == row["question"] and len(answer["frames"]["indices"]) == 2
    # The stage-2 adapter itself is a --reasoner too: its base model, the adapter, training's frame bounds.
    code = main(["answer", row["video"]["path"], "-q", row["question"], "--reasoner", str(out / "stage2"),
                 "--strategy", "uniform", "--max-frames", "2", "--json"])  # fmt: skip
    assert code == 0 and json.loads(capsys.readouterr().out.strip().splitlines()[-1])["question"] == row["question"]


KILLER = textwrap.dedent(
    """
    import os, signal, sys, torch
    torch.set_num_threads(1)
    from transformers import TrainerCallback
    import videoespresso_hf
    from videoespresso_hf.training import ReasonerTrainingArguments, train_reasoner

    class Steps(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            with open(sys.argv[3], "a") as log:
                log.write(f"{state.global_step}\\n")
            if sys.argv[4] == "kill" and state.global_step == 3:
                os.kill(os.getpid(), signal.SIGKILL)  # a real kill: no cleanup, no final save

    train_reasoner(ReasonerTrainingArguments(
        model=sys.argv[1], data=sys.argv[2], config="generated", output_dir=sys.argv[5], stage="1", max_steps=5,
        effective_batch_size=2, per_device_batch_size=2, dataloader_num_workers=0, save_steps=2, logging_steps=1,
        trainer_overrides={"activation_checkpointing": False}), callbacks=[Steps()])
    """
)


@pytest.mark.slow
def test_killed_run_resumes_from_the_checkpoint(reasoner_path, prepared_data, tmp_path, capsys):
    from transformers import TrainerCallback

    script = tmp_path / "killer.py"
    script.write_text(KILLER)
    out, steps = tmp_path / "out", tmp_path / "steps.txt"
    killed = subprocess.run(
        [sys.executable, str(script), str(reasoner_path), str(prepared_data), str(steps), "kill", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "HF_DATASETS_CACHE": str(tmp_path / "hf_cache")},
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (out / "stage1" / "checkpoint-2").is_dir() and not (out / "stage1" / "training_summary.json").exists()

    class Steps(TrainerCallback):  # the same settings as the killed run, in this process
        def on_step_end(self, args, state, control, **kwargs):
            with steps.open("a") as log:
                log.write(f"{state.global_step}\n")

    train_reasoner(_args(reasoner_path, prepared_data, out, stage="1", max_steps=5, effective_batch_size=2,
                         per_device_batch_size=2, save_steps=2), callbacks=[Steps()])  # fmt: skip
    printed = capsys.readouterr().out
    assert "resuming from" in printed and "checkpoint-2" in printed
    # Steps 1-3 ran before the kill; the re-run continues at 3 (step 3 was not checkpointed) and ends at 5.
    assert steps.read_text().split() == ["1", "2", "3", "3", "4", "5"]
    state = json.loads((out / "stage1" / "checkpoint-4" / "trainer_state.json").read_text())
    logged = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged == [1, 2, 3, 4]  # each step once in the history of the resumed run
    assert json.loads((out / "stage1" / "training_summary.json").read_text())["global_step"] == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--push-to-hub", "not a repo!!"], "is not a repo id (use user/name)"),
        (["--set", "no_such_setting=1"], "--set no_such_setting: not a field of SFTConfig"),
        (["--set", "learning_rate"], "expected NAME=VALUE"),
        (["--effective-batch-size", "3", "--per-device-batch-size", "2"], "not a multiple"),
    ],
)
def test_bad_arguments_are_one_line_errors(prepared_data, tmp_path, capsys, extra, message):
    argv = ["train", "reasoner", "--data", str(prepared_data), "--config", "generated", "--output", str(tmp_path / "o"), *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o" / "stage1").exists()  # nothing trained, nothing downloaded


def test_set_values_are_typed(tmp_path):
    from trl import SFTConfig

    from videoespresso_hf.cli.train import trainer_overrides

    assert trainer_overrides(["activation_checkpointing=false", "optim=adamw_torch", "max_grad_norm=0.5"], SFTConfig) == {
        "activation_checkpointing": False, "optim": "adamw_torch", "max_grad_norm": 0.5}  # fmt: skip


def test_missing_data_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["train", "reasoner", "--data", str(tmp_path / "nope"), "--output", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_multi_image_rows_train_from_their_key_frame_images(prepared_multi_image, tmp_path):
    from doubles.tiny_models import build_tiny_reasoner

    from videoespresso_hf.training.rows import SkipLog, check_rows

    model, processor = build_tiny_reasoner("qwen2_5_vl")
    rows = load_rows(prepared_multi_image, "train_multi_image")
    positions, reasons = check_rows(rows, ("question", "evidence_raw"), SkipLog(tmp_path / "skipped.jsonl"), "1")
    assert positions == [0, 1] and not reasons
    clip = decode_core_frames(rows[1])
    # Two key frames (0.jpg and 31.jpg at 1 fps), at their native size, with their annotated indices.
    assert clip.frames.shape == (2, 24, 32, 3) and clip.metadata["frames_indices"] == [0, 31]
    assert clip.frames[0, 0, 0, 1] < clip.frames[1, 0, 0, 1]  # green 100 then 150: temporal order kept
    sample = build_sample(processor, model.config, rows[1], "1", max_length=6144)
    target = processor.tokenizer.decode(sample["input_ids"][sample["labels"] != -100])
    assert target == rows[1]["evidence_raw"] + "<|im_end|>\n" and "<obj_start>chef<obj_end>" in target


@pytest.mark.slow
def test_stage2_alone_from_a_base_qwen_checkpoint_continues_a_given_adapter(prepared_data, tmp_path):
    """The default --model is a base Qwen VLM: it trains in the VideoEspresso class inference loads it into,
    and --stage 2 with --init-adapter continues that stage-1 adapter (not a fresh one)."""
    from doubles.tiny_models import build_tiny_captioner
    from safetensors.torch import load_file

    base, processor = build_tiny_captioner("qwen2_5_vl", seed=3)
    base.save_pretrained(tmp_path / "base")
    processor.save_pretrained(tmp_path / "base")
    first = train_reasoner(_args(tmp_path / "base", prepared_data, tmp_path / "one", stage="1", max_steps=1,
                                 learning_rate_stage1=1e-2, warmup_ratio=0.0))["stage1"]  # fmt: skip
    # keyword arguments, as a notebook calls the root entry point
    result = videoespresso_hf.train_reasoner(
        model=str(tmp_path / "base"), data=str(prepared_data), config="generated", output_dir=str(tmp_path / "two"),
        stage="2", max_steps=1, init_adapter=str(first), effective_batch_size=4, per_device_batch_size=4,
        dataloader_num_workers=0, save_steps=50, trainer_overrides=dict(QUIET),
    )  # fmt: skip
    second = result.paths["stage2"]
    assert result.metrics["stage2"]["global_step"] == 1 and result.metrics["stage2"]["train_rows"] == 4
    assert result.skipped_rows == 3 and result.skipped_rows_file == tmp_path / "two" / "skipped_rows.jsonl"
    assert "3 rows skipped" in result.summary and "optimizer steps" in result.summary
    summary = json.loads((second / "training_summary.json").read_text())
    assert summary["init_adapter"] == str(first) and summary["learning_rate"] == 1e-5
    before, after = load_file(first / "adapter_model.safetensors"), load_file(second / "adapter_model.safetensors")
    assert before.keys() == after.keys() and all(".language_model." in key for key in after)
    # lora_B starts at zero in a fresh adapter; here it starts from stage 1's (non-zero) values.
    b_key = next(key for key in before if "lora_B" in key)
    assert before[b_key].abs().sum() > 0 and (after[b_key] - before[b_key]).abs().max() < before[b_key].abs().max()


@pytest.mark.slow
def test_a_run_resumed_with_another_spelling_of_the_model_path_continues_it(reasoner_path, prepared_data, tmp_path, monkeypatch, capsys):
    """``ckpt/vlm`` then its absolute path: the same model, recorded alike; the unfinished stage resumes from its
    checkpoint (no step trained twice) and the run is not treated as another one."""
    import shutil

    shutil.copytree(reasoner_path, tmp_path / "ckpt" / "vlm")
    monkeypatch.chdir(tmp_path)
    common = ["train", "reasoner", "--data", str(prepared_data), "--config", "generated", "--output", "out", "--stage", "1",
              "--effective-batch-size", "2", "--per-device-batch-size", "2", "--workers", "0", "--save-steps", "1",
              "--logging-steps", "1", "--activation-checkpointing", "false"]  # fmt: skip
    assert main([*common, "--model", "ckpt/vlm", "--max-steps", "1"]) == 0
    summary_file = tmp_path / "out" / "stage1" / "training_summary.json"
    first = json.loads(summary_file.read_text())
    assert first["arguments"]["model"] == str((tmp_path / "ckpt" / "vlm").resolve())
    summary_file.unlink()  # as if the run had been stopped after its checkpoint
    capsys.readouterr()
    assert main([*common, "--model", str(tmp_path / "ckpt" / "vlm"), "--max-steps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "resuming from" in printed and "checkpoint-1" in printed
    second = json.loads(summary_file.read_text())
    assert second["arguments"]["model"] == first["arguments"]["model"] and second["global_step"] == 2
    assert second["losses"][0] == first["losses"][0] and len(second["losses"]) == 2  # step 1 logged once
    assert "optimizer steps" in printed and "{" not in printed.split("done:")[1]  # the closing numbers, as a table
