"""GRPO on the frames (training/grpo.py) with tiny random stock Qwen2.5-VL checkpoints on real encoded videos.

What the stock trl trainer gets wrong with a video prompt (rl-video.md §1) is checked where it would show: the vision
tower runs under grad in the loss forward, the prompt RL generates from is the one inference sends, both media pad
tokens are suppressed, and the grounded rewards reach the training log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from training.conftest import GOOD_IDS

from videoespresso_hf.cli.main import main
from videoespresso_hf.training import grpo
from videoespresso_hf.training.arguments import ReasonerRLArguments
from videoespresso_hf.training.reasoner import load_reasoner_for_training, train_reasoner
from videoespresso_hf.training.rows import SkipLog, decode_core_frames, load_rows

QUIET = {"activation_checkpointing": False}


@pytest.fixture(scope="module")
def stock_qwen(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock") / "qwen2_5_vl", "qwen2_5_vl")


@pytest.fixture(scope="module")
def stock_qwen3(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock3") / "qwen3_vl", "qwen3_vl")


@pytest.fixture(scope="module")
def prepared_train_video(tmp_path_factory) -> Path:
    """``VideoEspresso_train_video`` in the released layout (JSON + split zip, key frames named by frame number,
    boxes inline in the evidence) over 4-s videos, prepared with ``--fps 8``."""
    from videoespresso_hf.demo.releases import train_record, write_json, write_split_zip
    from videoespresso_hf.demo.videos import PALETTE, Segment, make_video

    root = tmp_path_factory.mktemp("train_video_release")
    sources = ["CUVA/2_image/00299", "vatex/vatex_image/RgtipEqA7ZA_000046_000056"]
    members = {}
    for index, frames_dir in enumerate(sources):
        source, stem = frames_dir.split("/")[0], frames_dir.split("/")[-1]
        video = root / "videos" / f"{stem}.mp4"
        make_video(video, [Segment("static", 2.0, color=PALETTE[2 * index]), Segment("static", 2.0, color=PALETTE[2 * index + 1])],
                   fps=8, size=(64, 48))  # fmt: skip
        members[f"VideoEspresso_train_video/{source}/{stem}.mp4"] = video.read_bytes()
    write_json(root / "release" / "videoespresso_train_video.json", [train_record(i, sources[i % 2], "path") for i in range(4)])
    write_split_zip(members, root / "release" / "VideoEspresso_train_video.zip", part_size=1500, zip64=True)
    out = tmp_path_factory.mktemp("prepared_train_video")
    argv = ["data", "prepare", "--quiet", "--config", "train_video", "--data-dir", str(root / "release"), "--out", str(out), "--fps", "8"]
    assert main(argv) == 0
    return out


def _rl_args(model, data, out, **overrides) -> ReasonerRLArguments:
    settings = dict(model=str(model), data=str(data), config="generated", output_dir=str(out), max_steps=1,
                    num_generations=2, effective_batch_size=4, per_device_batch_size=4, dataloader_num_workers=0,
                    logging_steps=1, save_steps=50, max_completion_length=8, trainer_overrides=dict(QUIET))  # fmt: skip
    settings.update(overrides)
    return ReasonerRLArguments(**settings)


def test_trl_outside_the_tested_range_is_refused():
    grpo.check_trl_version("1.16.0")
    for version in ("1.15.2", "1.17.0", "2.0.0"):
        with pytest.raises(ValueError, match=r"tested with trl >=1\.16,<1\.17; installed trl is") as error:
            grpo.check_trl_version(version)
        assert "\n" not in str(error.value)


def test_generation_suppresses_image_and_video_pads(stock_qwen, tmp_path):
    model, processor = load_reasoner_for_training(str(stock_qwen), dtype=torch.float32)
    config = grpo.grpo_config(_rl_args(stock_qwen, "unused", tmp_path), tmp_path, 1, model.config)
    assert set(config.generation_kwargs["suppress_tokens"]) == {model.config.image_token_id, model.config.video_token_id}
    assert (config.num_generations, config.beta, config.max_completion_length, config.temperature) == (2, 0.04, 8, 1.0)
    overridden = grpo.grpo_config(
        _rl_args(stock_qwen, "unused", tmp_path, trainer_overrides={"generation_kwargs": {"top_k": 5}, "epsilon": 0.3}),
        tmp_path, 1, model.config,
    )  # fmt: skip
    assert overridden.generation_kwargs["top_k"] == 5 and overridden.epsilon == 0.3  # any GRPOConfig field
    assert model.config.video_token_id in overridden.generation_kwargs["suppress_tokens"]
    # What the installed trl does with it (its own default suppresses only the image pad): both reach generate.
    import datasets
    from trl import GRPOTrainer

    trainer = GRPOTrainer(model=model, reward_funcs=[lambda completions, **_: [0.0] * len(completions)], args=config,
                          train_dataset=datasets.Dataset.from_dict({"prompt": [[{"role": "user", "content": "q"}]]}),
                          processing_class=processor)  # fmt: skip
    assert set(trainer.generation_kwargs["suppress_tokens"]) == {model.config.image_token_id, model.config.video_token_id}


def test_defaults_are_the_papers():
    arguments = ReasonerRLArguments()
    assert (arguments.num_generations, arguments.beta, arguments.max_completion_length, arguments.temperature) == (8, 0.04, 768, 1.0)
    assert arguments.resolved_learning_rate() == 1e-5 and not arguments.full_finetune  # LoRA by default
    assert ReasonerRLArguments(full_finetune=True).resolved_learning_rate() == 1e-6


@pytest.mark.parametrize("family", ["qwen2_5_vl", "qwen3_vl"])
def test_rl_example_is_the_one_pass_inference_prompt_with_grounding(request, family, prepared_data, tmp_path):
    from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs

    checkpoint = request.getfixturevalue("stock_qwen" if family == "qwen2_5_vl" else "stock_qwen3")
    model, processor = load_reasoner_for_training(str(checkpoint), dtype=torch.float32, frame_size=224)
    rows = load_rows(prepared_data, "generated")
    position = next(i for i, row in enumerate(rows) if row["id"] == GOOD_IDS[0])
    example = grpo.RLRowBuilder(rows, [position], processor, model.config, SkipLog(tmp_path / "s.jsonl")).example(0)
    # What trl sends to generate: its chat template over the prompt with the images filled in, processed by the
    # processor (whose size carries the config's bounds) — token-identical to what inference builds.
    from trl.data_utils import prepare_multimodal_messages

    messages = prepare_multimodal_messages(example["prompt"], images=example["images"])
    trl_inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True,
                                               return_tensors="pt")  # fmt: skip
    clip = decode_core_frames(rows[position])
    inference = build_stage_inputs(model.config, processor, "one_pass", [clip.frames], [rows[position]["question"]],
                                   video_metadata=[clip.metadata])  # fmt: skip
    assert torch.equal(trl_inputs["input_ids"], inference["input_ids"])
    assert torch.equal(trl_inputs["image_grid_thw"], inference["image_grid_thw"])
    assert torch.allclose(trl_inputs["pixel_values"], inference["pixel_values"])
    text = processor.tokenizer.decode(inference["input_ids"][0])
    assert "Frame 1 (at 0.2 s): " in text and "<answer></answer>" in text
    reference = example["grounding"]
    assert reference["key_times"] == [0.25, 1.5]
    grid = inference["image_grid_thw"][0]  # Qwen2.5-VL: pixels of the resized input; Qwen3-VL: its 0–1000 grid
    patch = processor.image_processor.patch_size
    assert reference["box_scale"] == ([grid[2] * patch, grid[1] * patch] if family == "qwen2_5_vl" else [1000.0, 1000.0])
    assert reference["key_boxes"][0] == [[1 / 64, 2 / 48, 3 / 64, 4 / 48]]  # the evidence's box, pixels → unit
    assert example["reference_answer"] == "A red ball." and example["multiple_choice"] is False


@pytest.mark.slow
def test_vision_tower_runs_under_grad_in_the_loss_forward(stock_qwen, prepared_data, tmp_path, monkeypatch):
    calls: list[bool] = []
    load = grpo._load_policy

    def spied(arguments, say):
        model, processor, lora = load(arguments, say)
        model.model.visual.register_forward_hook(lambda *_: calls.append(torch.is_grad_enabled()))
        return model, processor, lora

    monkeypatch.setattr(grpo, "_load_policy", spied)
    out = train_reasoner(_rl_args(stock_qwen, prepared_data, tmp_path / "out", stage="rl"))
    assert False in calls  # generation: no grad
    assert True in calls  # the loss forward: the policy gradient sees the frames
    adapter = out["rl"]
    assert (adapter / "adapter_model.safetensors").is_file()
    from safetensors.torch import load_file

    names = list(load_file(adapter / "adapter_model.safetensors"))
    assert names and all("language_model" in name and "visual" not in name and "lm_head" not in name for name in names)
    # The adapter loads as a one-pass reasoner (answer / predict / HybridVideoQA read this config).
    from videoespresso_hf.models.hybrid import load_reasoner

    loaded, _ = load_reasoner(adapter, {"dtype": torch.float32}, {})
    assert loaded.config.reasoning_mode == "one_pass"
    assert load_reasoner(stock_qwen, {"dtype": torch.float32}, {})[0].config.reasoning_mode == "two_stage"


@pytest.mark.slow
def test_grpo_learns_a_simple_reward_with_full_finetuning(stock_qwen, prepared_data, tmp_path):
    # rl-video.md §3: the CPU target that works — full fine-tune, lr 0.03–0.1, G 8, batch 8, max completion 8.
    from trl import GRPOTrainer

    torch.manual_seed(0)
    arguments = _rl_args(stock_qwen, prepared_data, tmp_path, full_finetune=True, learning_rate_rl=0.05, beta=0.0,
                         num_generations=8, effective_batch_size=8, per_device_batch_size=8, max_steps=20,
                         lr_scheduler_type="constant", warmup_ratio=0.0)  # fmt: skip
    model, processor, _ = grpo._load_policy(arguments, lambda *_: None)
    rows = load_rows(prepared_data, "generated")
    positions = [i for i, row in enumerate(rows) if row["id"] in GOOD_IDS]
    dataset = grpo.RLRowBuilder(rows, positions, processor, model.config, SkipLog(tmp_path / "s.jsonl")).dataset()

    def letters(prompts, completions, **_):
        texts = [completion[0]["content"] for completion in completions]
        return [sum(char in "ABCD" for char in text) / max(len(text), 1) for text in texts]

    trainer = GRPOTrainer(model=model, reward_funcs=[letters], args=grpo.grpo_config(arguments, tmp_path, 1, model.config),
                          train_dataset=dataset, processing_class=processor)  # fmt: skip
    trainer.train()
    means = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    assert len(means) == 20
    assert sum(means[-5:]) / 5 > sum(means[:5]) / 5 + 0.2, means


def _sft_onto_grounded_completion(stock_qwen, prepared_data, out: Path) -> tuple[Path, str]:
    """A real (tiny) SFT: full fine-tune a random model onto one grounded one-pass completion of row gen-good-0."""
    from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs

    torch.manual_seed(0)
    model, processor = load_reasoner_for_training(str(stock_qwen), dtype=torch.float32, frame_size=224)
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[0])
    clip = decode_core_frames(row)
    scale = grpo.box_scale_for(model.config, processor, clip.frames[0])
    box = [round(value * size) for value, size in zip((1 / 64, 2 / 48, 3 / 64, 4 / 48), scale * 2, strict=True)]
    target = (f"<think>The <obj_start>ball<obj_end><box_start>[{box[0]}, {box[1]}, {box[2] + 20}, {box[3] + 20}]<box_end>"
              " at <t>0.2</t>s.</think><answer>red</answer>")  # fmt: skip
    inputs = build_stage_inputs(model.config, processor, "one_pass", [clip.frames], [row["question"]],
                                video_metadata=[clip.metadata], targets=[target], padding_side="right")  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(100):
        loss = model(**inputs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    assert loss.item() < 0.02, loss.item()
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out, target


@pytest.mark.slow
def test_rl_after_sft_logs_real_temporal_and_spatial_rewards(stock_qwen, prepared_data, tmp_path):
    sft, _ = _sft_onto_grounded_completion(stock_qwen, prepared_data, tmp_path / "sft")
    arguments = _rl_args(sft, prepared_data, tmp_path / "out", stage="rl", max_rows=1, max_completion_length=200,
                         temperature=0.3, num_generations=2, effective_batch_size=2, per_device_batch_size=2)  # fmt: skip
    out = train_reasoner(arguments)["rl"]
    summary = json.loads((out / "training_summary.json").read_text())
    rewards = summary["rewards"]
    assert set(rewards) == {"answer", "format", "temporal", "spatial"}
    assert rewards["format"][0] == 1.0, rewards  # grounded think + answer
    # the taught time is 0.05 s from a key frame; the taught box is the annotated one grown by 20 px (IoU ~0.09)
    assert rewards["temporal"][0] > 0.5 and rewards["spatial"][0] > 0.05, rewards
    assert summary["reasoning_mode"] == "one_pass"


@pytest.mark.slow
def test_cli_rl_on_a_released_train_video_folder_then_answer(stock_qwen, prepared_train_video, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_qwen), "--data", str(prepared_train_video),
            "--config", "train_video", "--max-steps", "2", "--num-generations", "2", "--output", str(out),
            "--max-completion-length", "8", "--workers", "0", "--logging-steps", "1", "--reward-weights", "1", "1", "0.5", "0.5",
            "--set", "activation_checkpointing=false"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "GRPO with G=2, beta=0.04" in printed and "weighted [1.0, 1.0, 0.5, 0.5]" in printed
    adapter = out / "rl"
    assert (adapter / "adapter_model.safetensors").is_file()
    summary = json.loads((adapter / "training_summary.json").read_text())
    assert summary["global_step"] == 2 and set(summary["rewards"]) == {"answer", "format", "temporal", "spatial"}
    assert all(len(values) == 2 for values in summary["rewards"].values())
    assert summary["rewards"]["spatial"][0] is not None  # released boxes, per key frame
    rows = load_rows(prepared_train_video, "train_video")
    code = main(["answer", rows[0]["video"]["path"], "-q", rows[0]["question"], "--reasoner", str(adapter),
                 "--strategy", "uniform", "--max-frames", "2", "--json"])  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "evidence" in answer and "answer" in answer


def test_a_config_without_usable_rows_is_refused_before_any_model_loads(prepared_data, tmp_path, capsys, monkeypatch):
    from videoespresso_hf.training import reasoner

    monkeypatch.setattr(grpo, "_load_policy", lambda *_: pytest.fail("a model was loaded"))
    monkeypatch.setattr(reasoner, "load_rows", lambda *_: [])  # a config whose rows are all unusable, e.g. emptied
    argv = ["train", "reasoner", "--stage", "rl", "--model", "unused", "--data", str(prepared_data), "--config", "generated",
            "--output", str(tmp_path / "o"), "--workers", "0"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()  # datasets' progress bars, then the error
    last = err.splitlines()[-1]
    assert "Traceback" not in err and "no usable row" in last and "train_video, train_multi_image, generated" in last


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--num-generations", "1"], "at least 2 completions"), (["--full-finetune", "--init-adapter", "x"], "merge the SFT adapter")],
)  # fmt: skip
def test_bad_rl_settings_are_one_line_errors(prepared_data, tmp_path, capsys, extra, message):
    argv = ["train", "reasoner", "--stage", "rl", "--model", "unused", "--data", str(prepared_data), "--config", "generated",
            "--output", str(tmp_path / "o"), "--workers", "0", *extra]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o").exists()  # refused before the run started
