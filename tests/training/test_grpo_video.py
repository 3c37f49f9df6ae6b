"""GRPO on native video (training/grpo_video.py) with a tiny random stock Qwen2.5-VL on real encoded videos.

Each claim of the subclass is checked where the stock trainer fails it (rl-video.md §1, §3): the per-token log-probs
the loss uses equal a direct ``model(**inputs)`` forward of the inputs inference builds (< 1e-5), row by row through
trl's generate → shuffle → split path with different frame counts per row and gradient accumulation 2; the vision
tower runs under grad in the loss forward on video pixels; the trl methods overridden keep the signatures relied on.
"""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

import pytest
import torch
from training.conftest import GOOD_IDS

from videoespresso_hf.cli.main import main
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs
from videoespresso_hf.training import grpo, grpo_video
from videoespresso_hf.training.arguments import LLM_LORA_PATTERN, ReasonerRLArguments
from videoespresso_hf.training.reasoner import load_reasoner_for_training, train_reasoner
from videoespresso_hf.training.rows import SkipLog, decode_core_frames, load_rows

FRAME_TIMES = {2: [0.25, 1.5], 4: [0.0, 0.5, 1.0, 1.75]}  # seconds of the core frames of a 2-s, 8-fps clip


@pytest.fixture(scope="module")
def stock_qwen(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock") / "qwen2_5_vl", "qwen2_5_vl")


@pytest.fixture(scope="module")
def stock_qwen3(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock3") / "qwen3_vl", "qwen3_vl")


FAMILIES = {"qwen2_5_vl": "stock_qwen", "qwen3_vl": "stock_qwen3"}


def _policy(checkpoint: Path, presentation: str | None):
    model, processor = load_reasoner_for_training(str(checkpoint), dtype=torch.float32, frame_size=56)
    grpo.apply_frame_presentation(model.config, presentation)
    return model, processor


def _rows(prepared_data: Path, frame_counts) -> list[dict]:
    """Row gen-good-0 with 2 or 4 core frames (as many video tokens apart as their frame counts)."""
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[0])
    frames = {n: [{"path": "", "caption": "", "frame_index": int(t * 8), "timestamp": t} for t in FRAME_TIMES[n]]
              for n in frame_counts}  # fmt: skip
    return [{**row, "id": f"frames-{n}", "core_frames": frames[n]} for n in frame_counts]


def _examples(rows, processor, config, tmp_path) -> list[dict]:
    builder = grpo.RLRowBuilder(rows, range(len(rows)), processor, config, SkipLog(tmp_path / "skipped.jsonl"))
    return [builder.example(index) for index in range(len(rows))]


def _inference_inputs(rows, model, processor) -> list:
    """What ``answer`` / ``predict`` send for each row (one-pass prompt, the config's presentation)."""
    clips = [decode_core_frames(row) for row in rows]
    return [build_stage_inputs(model.config, processor, "one_pass", [clip.frames], [row["question"]],
                               video_metadata=[clip.metadata]) for row, clip in zip(rows, clips, strict=True)]  # fmt: skip


def _trainer(trainer_class, model, processor, tmp_path, accumulation=1, **overrides):
    import datasets
    from peft import LoraConfig

    arguments = ReasonerRLArguments(model="unused", data="unused", output_dir=str(tmp_path), num_generations=2,
                                    effective_batch_size=2 * accumulation, per_device_batch_size=2, max_completion_length=6,
                                    dataloader_num_workers=0, trainer_overrides={"activation_checkpointing": False},
                                    **overrides)  # fmt: skip
    config = grpo.grpo_config(arguments, tmp_path, accumulation, model.config)
    lora = LoraConfig(r=2, lora_alpha=4, lora_dropout=0.0, target_modules=LLM_LORA_PATTERN, task_type="CAUSAL_LM")
    return trainer_class(model=model, reward_funcs=[lambda completions, **_: [float(len(c[0]["content"])) for c in completions]],
                         args=config, train_dataset=datasets.Dataset.from_dict({"prompt": [[{"role": "user", "content": "q"}]]}),
                         processing_class=processor, peft_config=lora)  # fmt: skip


def _direct_logps(model, inputs, completion: torch.Tensor) -> torch.Tensor:
    """Log-probs of ``completion`` after the prompt ``inputs``, by one plain forward of the model."""
    ids = torch.cat([inputs["input_ids"], completion[None]], dim=1)
    extra = {key: value for key, value in inputs.items() if key not in ("input_ids", "attention_mask", "mm_token_type_ids")}
    if "mm_token_type_ids" in inputs:
        extra["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(completion)[None]], dim=1)
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), **extra).logits[0, -len(completion) - 1 : -1]
    return logits.float().log_softmax(-1).gather(-1, completion[:, None])[:, 0]


def _loss_logps(trainer, batch) -> torch.Tensor:
    """The per-token log-probs the loss forward computes for a prepared batch (spied on inside ``compute_loss``)."""
    seen = []
    method = trainer._get_per_token_logps_and_entropies

    def spy(*args, **kwargs):
        result = method(*args, **kwargs)
        seen.append(result[0].detach())
        return result

    trainer._get_per_token_logps_and_entropies = spy
    trainer.current_gradient_accumulation_steps = trainer.args.gradient_accumulation_steps  # set by the training loop
    try:
        trainer.compute_loss(trainer.model, batch)
    finally:
        del trainer._get_per_token_logps_and_entropies
    assert len(seen) == 1
    return seen[0]


def _check_rows_against_direct(trainer, batches, inference) -> list[list[int]]:
    """Every row of every prepared batch: the loss forward's (and the reference's) log-probs of its completion equal
    a direct forward of that row's own inference inputs. Returns, per batch, which source row each row came from."""
    sources = []
    for batch in batches:
        logps = _loss_logps(trainer, batch)
        rows = []
        for index in range(batch["prompt_ids"].size(0)):
            prompt = batch["prompt_ids"][index][batch["prompt_mask"][index].bool()]
            completion = batch["completion_ids"][index][batch["completion_mask"][index].bool()]
            source = next(s for s, inputs in enumerate(inference) if torch.equal(inputs["input_ids"][0], prompt))
            direct = _direct_logps(trainer.model, inference[source], completion)
            assert (logps[index, : len(completion)] - direct).abs().max() < 1e-5
            if trainer.beta:  # computed under no_grad inside the rollout, before shuffling
                assert (batch["ref_per_token_logps"][index, : len(completion)] - direct).abs().max() < 1e-5
            rows.append(source)
        sources.append(rows)
    return sources


@pytest.mark.parametrize("family", list(FAMILIES))
def test_video_rows_are_the_inference_inputs_and_logps_equal_a_direct_forward(request, family, prepared_data, tmp_path):
    from videoespresso_hf.training.grpo_video import VIDEO_KEYS, VideoGRPOTrainer, video_prompt_inputs

    model, processor = _policy(request.getfixturevalue(FAMILIES[family]), "video")
    rows = _rows(prepared_data, [2])
    (example,) = _examples(rows, processor, model.config, tmp_path)
    (inference,) = _inference_inputs(rows, model, processor)
    assert "images" not in example and example["prompt"][0]["content"][0] == {"type": "video"}
    prompt = video_prompt_inputs(processor, example)  # what the trainer generates from and trains on
    keys = ("input_ids", "mm_token_type_ids", *VIDEO_KEYS)  # Qwen3-VL: no second_per_grid_ts (times as text)
    assert set(prompt) == set(inference) and {"input_ids", "pixel_values_videos", "video_grid_thw"} <= set(prompt)
    for key in (key for key in keys if key in inference):
        assert torch.equal(prompt[key], inference[key]), key
    torch.manual_seed(0)
    trainer = _trainer(VideoGRPOTrainer, model, processor, tmp_path, beta=0.04)
    trainer.model.train()
    trainer._prepare_inputs([example, example])  # generate, score, shuffle, split (accumulation 1: one batch)
    (batch,) = trainer._buffered_inputs
    assert len(batch["videos"]) == 2
    _check_rows_against_direct(trainer, [batch], [inference])
    # What the stock trainer's loss forward computes for the same ids (no video tensors): a different number.
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad():
        stock, _, _ = super(VideoGRPOTrainer, trainer)._get_per_token_logps_and_entropies(
            trainer.model, ids, mask, batch["completion_ids"].size(1))  # fmt: skip
        ours, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, batch["completion_ids"].size(1),
                                                                 videos=batch["videos"])  # fmt: skip
    assert (stock - ours).abs().max() > 1e-4


def test_images_path_logps_equal_a_direct_forward(stock_qwen, prepared_data, tmp_path):
    # The default path (frames as images, trl's own trainer) against the same check.
    from trl import GRPOTrainer

    model, processor = _policy(stock_qwen, None)
    assert model.config.frame_presentation == "images" and grpo.trainer_class_for(model.config) is GRPOTrainer
    rows = _rows(prepared_data, [2])
    (example,) = _examples(rows, processor, model.config, tmp_path)
    torch.manual_seed(0)
    trainer = _trainer(GRPOTrainer, model, processor, tmp_path, beta=0.04)
    trainer.model.train()
    trainer._prepare_inputs([example, example])
    (batch,) = trainer._buffered_inputs
    assert batch["num_images"] == [2, 2]
    _check_rows_against_direct(trainer, [batch], _inference_inputs(rows, model, processor))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_rows_with_different_frame_counts_stay_aligned_through_shuffle_and_accumulation(request, family, prepared_data,
                                                                                        tmp_path):
    from videoespresso_hf.training.grpo_video import VideoGRPOTrainer

    model, processor = _policy(request.getfixturevalue(FAMILIES[family]), "video")
    assert grpo.trainer_class_for(model.config) is VideoGRPOTrainer
    rows = _rows(prepared_data, [2, 4])
    two, four = _examples(rows, processor, model.config, tmp_path)
    inference = _inference_inputs(rows, model, processor)
    assert [len(inputs["video_grid_thw"]) for inputs in inference] == [1, 1]
    assert [int(inputs["video_grid_thw"][0, 0]) for inputs in inference] == [1, 2]  # temporal patches: 2 and 4 frames
    torch.manual_seed(1)
    trainer = _trainer(VideoGRPOTrainer, model, processor, tmp_path, accumulation=2, beta=0.04)
    assert trainer.args.steps_per_generation == 2
    trainer.model.train()
    trainer._prepare_inputs([two, two, four, four])  # one generation batch: 2 prompts × G 2, then 2 slices of 2
    sources = _check_rows_against_direct(trainer, trainer._buffered_inputs, inference)
    assert sorted(source for batch in sources for source in batch) == [0, 0, 1, 1]
    assert any(len(set(batch)) == 2 for batch in sources), sources  # a slice mixes the 2- and the 4-frame clip


def test_the_trl_methods_overridden_keep_the_signatures_relied_on():
    import trl
    from trl import GRPOTrainer

    from videoespresso_hf.training.grpo_video import TRL_CONTRACT, VideoGRPOTrainer

    grpo.check_trl_version(trl.__version__)  # the installed trl is in the tested range
    overridden = {name for name in vars(VideoGRPOTrainer) if callable(getattr(GRPOTrainer, name, None))}
    assert overridden == set(TRL_CONTRACT)
    for name, leading in TRL_CONTRACT.items():
        parameters = list(inspect.signature(getattr(GRPOTrainer, name)).parameters)
        assert tuple(parameters[: len(leading)]) == leading, (name, parameters)
    # the loss forward passes Qwen's token types by this name, and generation takes a per-token list field
    assert "mm_token_type_ids" in inspect.signature(GRPOTrainer._get_per_token_logps_and_entropies).parameters
    assert list(inspect.signature(GRPOTrainer._generate_single_turn).parameters)[:4] == ["self", "prompt_ids", "images",
                                                                                        "multimodal_fields"]  # fmt: skip


def _rl_args(model, data, out, **overrides) -> ReasonerRLArguments:
    settings = dict(model=str(model), data=str(data), config="generated", output_dir=str(out), max_steps=1,
                    num_generations=2, effective_batch_size=4, per_device_batch_size=4, dataloader_num_workers=0,
                    logging_steps=1, save_steps=50, max_completion_length=8, frame_size=56,
                    trainer_overrides={"activation_checkpointing": False})  # fmt: skip
    settings.update(overrides)
    return ReasonerRLArguments(**settings)


@pytest.mark.slow
def test_native_video_rl_runs_the_vision_tower_under_grad_on_video(stock_qwen, prepared_data, tmp_path, monkeypatch):
    calls: list[tuple[bool, bool]] = []  # (grad enabled, inside the video branch) per vision-tower call
    load = grpo._load_policy

    def spied(arguments, say):
        model, processor, lora = load(arguments, say)
        inner = model.model
        video_features = inner.get_video_features
        state = {"video": False}

        @functools.wraps(video_features)  # generate reads its parameters to pre-encode the video
        def get_video_features(*args, **kwargs):
            state["video"] = True
            try:
                return video_features(*args, **kwargs)
            finally:
                state["video"] = False

        inner.get_video_features = get_video_features
        inner.visual.register_forward_hook(lambda *_: calls.append((torch.is_grad_enabled(), state["video"])))
        return model, processor, lora

    monkeypatch.setattr(grpo, "_load_policy", spied)
    out = train_reasoner(_rl_args(stock_qwen, prepared_data, tmp_path / "out", stage="rl", frame_presentation="video"))
    assert (False, True) in calls  # generation (and the reference log-probs): video, no grad
    assert (True, True) in calls  # the loss forward: the policy gradient sees the video
    assert all(video for _, video in calls)  # never as images
    adapter = out["rl"]
    assert (adapter / "adapter_model.safetensors").is_file()
    summary = json.loads((adapter / "training_summary.json").read_text())
    assert summary["frame_presentation"] == "video" and summary["global_step"] == 1
    from videoespresso_hf.models.hybrid import load_reasoner

    loaded, _ = load_reasoner(adapter, {"dtype": torch.float32}, {})  # inference presents the frames as RL did
    assert (loaded.config.reasoning_mode, loaded.config.frame_presentation) == ("one_pass", "video")


@pytest.mark.slow
def test_cli_native_video_rl_smoke_then_answer(stock_qwen, prepared_data, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_qwen), "--data", str(prepared_data),
            "--config", "generated", "--max-steps", "1", "--num-generations", "2", "--max-completion-length", "8",
            "--frame-presentation", "video", "--frame-size", "56", "--output", str(out), "--workers", "0",
            "--effective-batch-size", "2", "--per-device-batch-size", "2", "--set", "activation_checkpointing=false"]  # fmt: skip
    assert main(argv) == 0
    assert "frames as video (VideoGRPOTrainer)" in capsys.readouterr().out
    adapter = out / "rl"
    assert (adapter / "adapter_model.safetensors").is_file()
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[0])
    code = main(["answer", row["video"]["path"] if isinstance(row["video"], dict) else row["video"], "-q", row["question"],
                 "--reasoner", str(adapter), "--strategy", "uniform", "--max-frames", "2", "--json"])  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "evidence" in answer and "answer" in answer


@pytest.mark.parametrize("setting", ["use_vllm", "use_transformers_continuous_batching"])
def test_native_video_with_token_only_rollouts_is_refused_before_any_model_loads(stock_qwen, prepared_data, tmp_path,
                                                                               capsys, monkeypatch, setting):  # fmt: skip
    """trl 1.16's vLLM and continuous-batching rollouts take token ids only (no video): refused from the flags and
    config.json, before the weights load and before ``OUT/rl`` exists (before: at the first rollout)."""
    monkeypatch.setattr(grpo, "_load_policy", lambda *_: pytest.fail("a model was loaded"))
    out = tmp_path / "o"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_qwen), "--data", str(prepared_data), "--config",
            "generated", "--frame-presentation", "video", "--output", str(out), "--workers", "0",
            "--set", f"{setting}=true"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert "Traceback" not in err and "native-video GRPO generates with model.generate" in last and setting in last
    assert not (out / "rl").exists()


def test_the_token_only_rollout_rule_names_each_setting():
    """The rule train_rl applies to the flags and VideoGRPOTrainer to its own settings (constructing one with
    ``use_vllm`` needs vLLM, not installed here)."""
    grpo_video.check_video_rollouts({"use_vllm": False, "use_transformers_continuous_batching": False})
    with pytest.raises(ValueError, match=r"unset use_vllm / use_transformers_continuous_batching \(trl 1\.16"):
        grpo_video.check_video_rollouts({"use_vllm": True, "use_transformers_continuous_batching": True})


def test_llava_cannot_take_native_video():
    from videoespresso_hf.models.reasoner.configuration_reasoner import VexLlavaReasonerConfig

    with pytest.raises(ValueError, match="frame_presentation='video' is not supported by VexLlavaReasonerConfig"):
        grpo.apply_frame_presentation(VexLlavaReasonerConfig(), "video")


@pytest.mark.slow
def test_native_video_grpo_learns_a_simple_reward_with_full_finetuning(stock_qwen, prepared_data, tmp_path):
    # rl-video.md §3: the CPU target that works on both paths — full fine-tune, lr 0.05, G 8, batch 8, 20 steps.
    from videoespresso_hf.training.grpo_video import VideoGRPOTrainer

    torch.manual_seed(0)
    arguments = _rl_args(stock_qwen, prepared_data, tmp_path, full_finetune=True, learning_rate_rl=0.05, beta=0.0,
                         num_generations=8, effective_batch_size=8, per_device_batch_size=8, max_steps=20,
                         lr_scheduler_type="constant", warmup_ratio=0.0, frame_presentation="video")  # fmt: skip
    model, processor, _ = grpo._load_policy(arguments, lambda *_: None)
    grpo.apply_frame_presentation(model.config, arguments.frame_presentation)
    rows = load_rows(prepared_data, "generated")
    positions = [i for i, row in enumerate(rows) if row["id"] in GOOD_IDS]
    dataset = grpo.RLRowBuilder(rows, positions, processor, model.config, SkipLog(tmp_path / "s.jsonl")).dataset()

    def letters(prompts, completions, **_):
        texts = [completion[0]["content"] for completion in completions]
        return [sum(char in "ABCD" for char in text) / max(len(text), 1) for text in texts]

    trainer = VideoGRPOTrainer(model=model, reward_funcs=[letters], args=grpo.grpo_config(arguments, tmp_path, 1, model.config),
                               train_dataset=dataset, processing_class=processor)  # fmt: skip
    trainer.train()
    means = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    assert len(means) == 20
    assert sum(means[-5:]) / 5 > sum(means[:5]) / 5 + 0.2, means
