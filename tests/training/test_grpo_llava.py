"""GRPO of a LLaVA-NeXT-Interleave reasoner (tiny random stock double) on real encoded videos.

The family's chat template renders every image before all text, so inference writes each frame inline as
``Frame i (at t s): <image>`` (training/rl_templates.py explains how RL renders the same prompt through trl). Checked
where it would show: the prompts trl generates from and scores are token-identical to inference's, the vision tower
runs under grad in the loss forward, trl's per-token log-probs equal a direct forward, and what is saved keeps the
family's template and runs in one-pass mode.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
import torch
from training.conftest import GOOD_IDS

from videoespresso_hf.cli.main import main
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs, stage_messages
from videoespresso_hf.training import grpo
from videoespresso_hf.training.arguments import ReasonerRLArguments
from videoespresso_hf.training.reasoner import load_reasoner_for_training, train_reasoner
from videoespresso_hf.training.rl_templates import inline_frames_template
from videoespresso_hf.training.rows import SkipLog, decode_core_frames, load_rows

QUIET = {"activation_checkpointing": False}
# In the style of the hub's LLaVA-Interleave template: images first, then each text part after a newline (so the
# part structure, not only the concatenated text, decides the rendered bytes).
HUB_STYLE_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] if part['type'] == 'image' %}{{ '<image>' }}{% endfor %}"
    "{% for part in message['content'] if part['type'] == 'text' %}{{ '\n' + part['text'] }}{% endfor %}"
    "{% endif %}{{ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(scope="module")
def stock_llava(tmp_path_factory) -> Path:
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("stock") / "llava_interleave", "llava_interleave")


def _inference_inputs(config, processor, row):
    """What ``answer`` sends an RL (one-pass) checkpoint for ``row``'s core frames and question."""
    clip = decode_core_frames(row)
    return build_stage_inputs(config, processor, "one_pass", [clip.frames], [row["question"]], [row.get("options") or None],
                              video_metadata=[clip.metadata])  # fmt: skip


@pytest.mark.parametrize("template", ["double", "hub_style"])
def test_the_rl_template_renders_frame_parts_as_inference_writes_them_inline(stock_llava, template):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(stock_llava)
    if template == "hub_style":
        processor.chat_template = HUB_STYLE_TEMPLATE
    config = load_reasoner_for_training(str(stock_llava), dtype=torch.float32)[0].config
    seconds, question = [0.0, 1.5, 3.0], "What happens?"
    inline = stage_messages(config, "one_pass", seconds, question, image_token=processor.image_token)
    parts = stage_messages(config, "one_pass", seconds, question)  # what trl fills with the images
    sent = processor.apply_chat_template(inline, add_generation_prompt=True, tokenize=False)
    in_order = inline_frames_template(processor.chat_template, processor.image_token)
    rendered = processor.apply_chat_template(parts, add_generation_prompt=True, tokenize=False, chat_template=in_order)
    assert rendered == sent
    assert sent.index("Frame 2 (at 1.5 s): <image>") < sent.index("Frame 3 (at 3.0 s): <image>") < sent.index(question)
    # the family's own template would put the frames before their timestamps (what RL must not train on)
    assert processor.apply_chat_template(parts, add_generation_prompt=True, tokenize=False) != sent


@pytest.fixture(scope="module")
def spied_rl_run(stock_llava, prepared_data, tmp_path_factory):
    """One GRPO step (LoRA, G 2, rows gen-good-0 with 2 frames and gen-good-1 with 1) with spies: every forward of the
    policy (grad on or off, its ids and frames), the vision tower's grad mode, and each call of trl's
    ``_get_per_token_logps_and_entropies`` with a direct forward of the same inputs made at that moment."""
    from trl import GRPOTrainer

    calls = {"forward": [], "vision": [], "logps": []}
    direct = {"on": False}
    load, original = grpo._load_policy, GRPOTrainer._get_per_token_logps_and_entropies

    def spied_load(arguments, say):
        model, processor, lora = load(arguments, say)

        def vision(_module, args, kwargs):
            if not direct["on"]:
                calls["vision"].append((torch.is_grad_enabled(), (args[0] if args else kwargs["pixel_values"]).detach().clone()))

        def forward(_module, _args, kwargs):
            # a forward with the frames: generation's prefill (its frames encoded just before) or a scoring forward
            media = kwargs.get("pixel_values") is not None or kwargs.get("mm_encoder_outputs") is not None
            if media and not direct["on"]:
                calls["forward"].append((torch.is_grad_enabled(), kwargs["input_ids"].detach().clone(),
                                         kwargs["attention_mask"].detach().clone()))  # fmt: skip

        model.model.vision_tower.register_forward_pre_hook(vision, with_kwargs=True)
        model.model.register_forward_pre_hook(forward, with_kwargs=True)  # peft calls the outer forward() directly
        return model, processor, lora

    def spied_logps(self, model, *args, **kwargs):
        logps, entropies, aux = original(self, model, *args, **kwargs)
        bound = inspect.signature(original).bind(self, model, *args, **kwargs).arguments
        direct["on"] = True
        try:
            with torch.no_grad():
                calls["logps"].append((logps.detach().clone(), _direct_logps(model, bound)))
        finally:
            direct["on"] = False
        return logps, entropies, aux

    arguments = ReasonerRLArguments(
        model=str(stock_llava), data=str(prepared_data), config="generated", output_dir=str(tmp_path_factory.mktemp("rl")),
        stage="rl", max_steps=1, num_generations=2, effective_batch_size=4, per_device_batch_size=4, max_rows=2,
        dataloader_num_workers=0, logging_steps=1, save_steps=50, max_completion_length=8, lora_dropout=0.0,
        trainer_overrides=dict(QUIET),
    )  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(grpo, "_load_policy", spied_load)
        patch.setattr(GRPOTrainer, "_get_per_token_logps_and_entropies", spied_logps)
        out = train_reasoner(arguments)["rl"]
    return out, calls


def _direct_logps(model, bound) -> list[torch.Tensor]:
    """Per row, the completion tokens' log-probs from ``model`` run on that row alone (no padding) with its frames."""
    ids, mask, keep = bound["input_ids"], bound["attention_mask"], bound["logits_to_keep"]
    counts = bound["num_images"]
    starts = [sum(counts[:row]) for row in range(len(counts))]
    prompt_length = ids.shape[1] - keep
    rows = []
    for row in range(ids.shape[0]):
        tokens = ids[row][mask[row].bool()][None]
        pixels = bound["pixel_values"][starts[row] : starts[row] + counts[row]]
        logits = model(input_ids=tokens, attention_mask=torch.ones_like(tokens), pixel_values=pixels).logits.float()
        logps = torch.log_softmax(logits[0, :-1], dim=-1).gather(-1, tokens[0, 1:, None])[:, 0]
        prompt = int(mask[row, :prompt_length].sum())  # the completion starts right after the unpadded prompt
        rows.append(logps[prompt - 1 :])
    return rows


def _unpadded(ids: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
    return [row[keep.bool()].tolist() for row, keep in zip(ids, mask, strict=True)]


def test_trl_renders_the_inference_prompt_for_generation_and_the_loss_forward(spied_rl_run, stock_llava, prepared_data,
                                                                               tmp_path):
    _, calls = spied_rl_run
    model, processor = load_reasoner_for_training(str(stock_llava), dtype=torch.float32)
    rows = {row["id"]: row for row in load_rows(prepared_data, "generated")}
    inference = {}
    for row_id in GOOD_IDS[:2]:
        inputs = _inference_inputs(model.config, processor, rows[row_id])
        inference[row_id] = (inputs["input_ids"][0].tolist(), inputs["pixel_values"])
    assert [len(pixels) for _, pixels in inference.values()] == [2, 1]  # different frame counts per row
    text = processor.tokenizer.decode(inference[GOOD_IDS[0]][0])
    assert "Frame 1 (at 0.2 s): <image>" in text and text.index("Frame 2 (at 1.5 s): <image>") < text.index("What appears first?")
    # the row trl gets: one image placeholder per frame, and the stated box rule for LLaVA (0–1000 grid)
    example = grpo.RLRowBuilder([rows[GOOD_IDS[0]]], [0], processor, model.config, SkipLog(tmp_path / "s.jsonl")).example(0)
    parts = [part for message in example["prompt"] for part in message["content"]]
    assert sum(part["type"] == "image" for part in parts) == len(example["images"]) == 2
    assert example["grounding"]["box_scale"] == [1000.0, 1000.0]
    seen = {"generation": set(), "loss": set()}
    assert len(calls["forward"]) == len(calls["vision"]) >= 3  # generation, reference and loss forwards
    for (grad, ids, mask), (vision_grad, pixels) in zip(calls["forward"], calls["vision"], strict=True):
        assert grad == vision_grad
        frames = []
        for tokens in _unpadded(ids, mask):
            row_id = next((key for key, (prompt, _) in inference.items() if tokens[: len(prompt)] == prompt), None)
            assert row_id is not None, processor.tokenizer.decode(tokens)  # every prompt trl sends is inference's
            frames.append(inference[row_id][1])
            if grad:
                seen["loss"].add(row_id)
            elif len(tokens) == len(inference[row_id][0]):
                seen["generation"].add(row_id)  # the prefill of a rollout: the prompt alone
        assert torch.allclose(pixels, torch.cat(frames))  # each row with its own frames, in order
    assert seen == {"generation": set(GOOD_IDS[:2]), "loss": set(GOOD_IDS[:2])}


def test_vision_tower_runs_under_grad_in_the_loss_forward(spied_rl_run):
    _, calls = spied_rl_run
    grads = [grad for grad, _ in calls["vision"]]
    assert grads[0] is False  # generation: no grad
    assert True in grads  # the loss forward: the policy gradient sees the frames


def test_trl_per_token_logps_equal_a_direct_forward(spied_rl_run):
    _, calls = spied_rl_run
    assert calls["logps"]
    for logps, direct in calls["logps"]:
        assert len(direct) == logps.shape[0]
        for row, expected in enumerate(direct):
            assert (logps[row, : len(expected)] - expected).abs().max() < 1e-5


@pytest.fixture(scope="module")
def cli_rl_run(stock_llava, prepared_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "out"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_llava), "--data", str(prepared_data),
            "--config", "generated", "--max-steps", "1", "--num-generations", "2", "--max-completion-length", "8",
            "--output", str(out), "--workers", "0", "--logging-steps", "1", "--set", "activation_checkpointing=false"]  # fmt: skip
    assert main(argv) == 0
    return out / "rl"


def test_cli_rl_writes_a_language_model_adapter_and_the_familys_template(cli_rl_run, stock_llava):
    from safetensors.torch import load_file
    from transformers import AutoProcessor

    names = list(load_file(cli_rl_run / "adapter_model.safetensors"))
    assert names and all("language_model" in name for name in names)
    assert not any(part in name for name in names for part in ("vision_tower", "multi_modal_projector", "lm_head"))
    summary = json.loads((cli_rl_run / "training_summary.json").read_text())
    assert summary["global_step"] == 1 and set(summary["rewards"]) == {"answer", "format", "temporal", "spatial"}
    family = AutoProcessor.from_pretrained(stock_llava).chat_template
    assert AutoProcessor.from_pretrained(cli_rl_run).chat_template == family
    checkpoints = sorted(cli_rl_run.glob("checkpoint-*"))
    assert checkpoints  # the trainer saved one at the last step: it keeps the family's template too
    assert all(AutoProcessor.from_pretrained(folder).chat_template == family for folder in checkpoints)


def test_answer_runs_the_llava_rl_checkpoint_in_one_pass_mode(cli_rl_run, stock_llava, prepared_data, capsys):
    from videoespresso_hf.models.hybrid import load_reasoner

    assert load_reasoner(cli_rl_run, {"dtype": torch.float32}, {})[0].config.reasoning_mode == "one_pass"
    assert load_reasoner(stock_llava, {"dtype": torch.float32}, {})[0].config.reasoning_mode == "two_stage"
    row = next(row for row in load_rows(prepared_data, "generated") if row["id"] == GOOD_IDS[0])
    capsys.readouterr()
    code = main(["answer", row["video"]["path"], "-q", row["question"], "--reasoner", str(cli_rl_run),
                 "--strategy", "uniform", "--max-frames", "2", "--json"])  # fmt: skip
    assert code == 0
    answer = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "evidence" in answer and "answer" in answer


def test_a_llava_processor_without_a_chat_template_is_refused_in_one_line(stock_llava, prepared_data, tmp_path, capsys):
    import shutil

    bare = shutil.copytree(stock_llava, tmp_path / "bare")
    (bare / "chat_template.jinja").unlink()  # frames can only be written inline through the processor's template
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(bare), "--data", str(prepared_data), "--config", "generated",
            "--max-steps", "1", "--num-generations", "2", "--output", str(tmp_path / "o"), "--workers", "0"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and "Processor has no chat template" in err.splitlines()[-1]


def test_native_video_on_llava_is_refused_before_any_model_loads(stock_llava, prepared_data, tmp_path, capsys, monkeypatch):
    """The family's presentations are read from config.json (its config class): before, the weights loaded and an
    empty ``OUT/rl`` was left before the refusal."""
    monkeypatch.setattr(grpo, "_load_policy", lambda *_: pytest.fail("a model was loaded"))
    out = tmp_path / "o"
    argv = ["train", "reasoner", "--stage", "rl", "--model", str(stock_llava), "--data", str(prepared_data), "--config",
            "generated", "--frame-presentation", "video", "--output", str(out), "--workers", "0"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    last = err.splitlines()[-1]
    assert "Traceback" not in err and "frame_presentation='video' is not supported by VexLlavaReasonerConfig" in last
    assert not (out / "rl").exists()


def test_a_run_that_fails_mid_training_gives_the_processor_its_familys_template_back(stock_llava, prepared_data,
                                                                                     tmp_path, monkeypatch):  # fmt: skip
    """The in-order template is swapped in around ``trainer.train`` and restored in a ``finally``: the trainer's
    ``on_train_end`` never runs when training raises (an error, Ctrl-C)."""
    from transformers import TrainerCallback

    class Interrupt(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            seen.append(processor.chat_template)
            raise KeyboardInterrupt

    seen: list[str] = []
    load = grpo._load_policy
    processor = None

    def keep_processor(arguments, say):
        nonlocal processor
        model, processor, lora = load(arguments, say)
        return model, processor, lora

    monkeypatch.setattr(grpo, "_load_policy", keep_processor)
    arguments = ReasonerRLArguments(
        model=str(stock_llava), data=str(prepared_data), config="generated", output_dir=str(tmp_path / "o"),
        stage="rl", max_steps=1, num_generations=2, effective_batch_size=4, per_device_batch_size=4, max_rows=2,
        dataloader_num_workers=0, max_completion_length=4, trainer_overrides=dict(QUIET),
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        train_reasoner(arguments, callbacks=[Interrupt()])
    from transformers import AutoProcessor

    family = AutoProcessor.from_pretrained(stock_llava).chat_template
    assert seen and seen[0] != family  # it trained with the in-order template
    assert processor.chat_template == family
