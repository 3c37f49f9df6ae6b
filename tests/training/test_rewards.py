"""The GRPO rewards on hand-written completions (trl's calling convention: columns as keywords)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from videoespresso_hf.training import rewards

GROUNDING = {"key_times": [1.0, 4.0], "key_boxes": [[[0.1, 0.2, 0.5, 0.6]], []], "box_scale": [100, 100]}
GOOD = ("<think>The <obj_start>chef<obj_end><box_start>[10, 20, 50, 60]<box_end> at <t>1.0</t>s adds salt."
        "</think><answer>B</answer>")  # fmt: skip


def _call(function, completions, **columns):
    prompts = [[{"role": "user", "content": "q"}]] * len(completions)
    conversational = [[{"role": "assistant", "content": text}] for text in completions]
    return function(prompts=prompts, completions=conversational, completion_ids=None, **columns)


def test_answer_exact_letter_and_rouge_for_free_form():
    completions = [GOOD, "<think>x</think><answer>(B) the dog</answer>", "<think>x</think><answer>C</answer>",
                   "B", "<think>x</think><answer>Because the dog barked</answer>", "<think>x</think><answer>x</answer>"]  # fmt: skip
    references = ["B", "B", "B", "B", "the dog barked", ""]
    choice = [True, True, True, True, False, False]
    result = _call(rewards.answer, completions, reference_answer=references, multiple_choice=choice)
    assert result[:4] == [1.0, 1.0, 0.0, 0.0]  # no <answer> tag: 0
    assert result[4] == pytest.approx(2 * (3 / 4) * 1 / (3 / 4 + 1))  # LCS 3 of 4 and 3 words
    assert result[5] is None  # nothing to compare with


def test_format_reward():
    assert _call(rewards.format, [GOOD, "<think>a</think><answer>B</answer>", "B"]) == [1.0, 0.5, 0.0]


def test_temporal_reward_schedule_and_missing_times_are_none():
    completions = [GOOD, "<think>at <t>3.0</t>s and <t>4.0</t>s</think><answer>B</answer>", "<think>no time</think><answer>B</answer>", GOOD]
    grounding = [GROUNDING, GROUNDING, GROUNDING, None]
    late = SimpleNamespace(global_step=9, max_steps=10)  # p = 0.9: sigma 1
    result = _call(rewards.temporal, completions, grounding=grounding, trainer_state=late)
    assert result[0] == 1.0 and result[2] == 0.0 and result[3] is None
    assert result[1] == pytest.approx((math.exp(-0.5) + 1.0) / 2)
    early = SimpleNamespace(global_step=0, max_steps=10)  # sigma 4: a 1-s miss costs little
    assert _call(rewards.temporal, completions[1:2], grounding=[GROUNDING], trainer_state=early)[0] == pytest.approx(
        (math.exp(-1 / 32) + 1.0) / 2
    )
    assert rewards.temporal_sigma(SimpleNamespace(global_step=5, max_steps=10)) == 2.0
    assert rewards.temporal_sigma(SimpleNamespace(global_step=8, max_steps=10)) == 1.0


def test_spatial_reward_counts_claims_near_a_key_frame_only():
    half = ("<think>The <obj_start>chef<obj_end><box_start>[10, 20, 30, 60]<box_end> at <t>1.8</t>s, "
            "the <obj_start>cat<obj_end><box_start>[0, 0, 5, 5]<box_end> at <t>9</t>s.</think><answer>B</answer>")  # fmt: skip
    far_only = "<think>The <obj_start>cat<obj_end><box_start>[10, 20, 50, 60]<box_end> at <t>2.5</t>s.</think><answer>B</answer>"
    no_boxes = {**GROUNDING, "key_boxes": [[], []]}
    result = _call(rewards.spatial, [GOOD, half, far_only, GOOD, GOOD],
                   grounding=[GROUNDING, GROUNDING, GROUNDING, no_boxes, None])  # fmt: skip
    assert result[0] == pytest.approx(1.0)
    assert result[1] == pytest.approx(0.5)  # the 9-s claim is near no key frame: not counted
    assert result[2] == 0.0  # 1.5 s from the key frame: outside the 1-s window
    assert result[3] is None and result[4] is None


def test_reward_names_are_the_logged_names():
    assert rewards.REWARD_NAMES == ("answer", "format", "temporal", "spatial")
