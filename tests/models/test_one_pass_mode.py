"""A reasoning_mode="one_pass" checkpoint answers in one generate call and puts its <think> part in `evidence`."""

from __future__ import annotations

import numpy as np
import torch

from videoespresso_hf.models.reasoner.modeling_reasoner import split_one_pass, stage_prompt

OUTPUT = "<think>The <obj_start>dog<obj_end><box_start>[1, 2, 3, 4]<box_end> at <t>0.5</t>s runs.</think><answer>B</answer>"


def test_split_one_pass_agrees_with_the_grounding_parser():
    from videoespresso_hf.evaluation.grounding import parse_rollout

    rollout = parse_rollout(OUTPUT)
    assert split_one_pass(OUTPUT) == (rollout.think, rollout.answer)
    assert split_one_pass("<think>cut short") == ("cut short", "")
    assert split_one_pass("B") == ("", "B")


def test_one_pass_checkpoint_generates_once_and_fills_evidence():
    from doubles.tiny_models import build_tiny_reasoner

    model, processor = build_tiny_reasoner("qwen2_5_vl")
    model.config.reasoning_mode = "one_pass"
    written = processor.tokenizer(OUTPUT, add_special_tokens=False, return_tensors="pt")["input_ids"]
    calls = []

    def generate(**inputs):
        calls.append(inputs)
        return torch.cat([inputs["input_ids"], written.expand(inputs["input_ids"].shape[0], -1)], dim=1)

    model.generate = generate
    frames = np.zeros((2, 56, 56, 3), dtype=np.uint8)
    output = model.answer(processor, frames, "What runs?", ["a cat", "a dog"], timestamps=[0.0, 0.5])
    assert len(calls) == 1
    assert output.evidence.startswith("The <obj_start>dog<obj_end>") and "<t>0.5</t>" in output.evidence
    assert output.answer == "B" and output.letter == "B"
    prompt = processor.tokenizer.decode(calls[0]["input_ids"][0])
    assert stage_prompt(model.config, "one_pass", "What runs?", ["a cat", "a dog"]) in prompt
    # A question with given evidence still goes through the stage-2 prompt.
    model.config.reasoning_mode = "one_pass"
    calls.clear()
    given = model.answer(processor, frames, "What runs?", ["a cat", "a dog"], timestamps=[0.0, 0.5], evidence="a dog")
    assert len(calls) == 1 and given.evidence == "a dog" and "Evidence: a dog" in processor.tokenizer.decode(calls[0]["input_ids"][0])


def test_two_stage_checkpoints_are_unchanged():
    from doubles.tiny_models import build_tiny_reasoner

    model, _ = build_tiny_reasoner("qwen2_5_vl")
    assert model.config.reasoning_mode == "two_stage"
