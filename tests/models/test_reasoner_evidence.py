"""Evidence between the stages: tags survive decoding, ground-truth evidence skips stage 1 (API and CLI)."""

from __future__ import annotations

import json

import pytest
import torch
from doubles.tiny_models import build_tiny_reasoner
from transformers import AddedToken, LogitsProcessor, LogitsProcessorList

from videoespresso_hf.cli import _common as cli_common
from videoespresso_hf.cli.main import main
from videoespresso_hf.models.hybrid import HybridVideoQA
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs

TAGGED = "The <obj_start>dog<obj_end><box_start>[1, 2, 3, 4]<box_end> runs."


class ForceText(LogitsProcessor):
    """Makes every ``generate`` call emit ``token_ids`` then end-of-sequence (stands in for a fine-tune)."""

    def __init__(self, token_ids: list[int], eos_id: int):
        self.token_ids, self.eos_id = token_ids, eos_id
        self.start, self.last = None, -1

    def __call__(self, input_ids, scores):
        length = input_ids.shape[1]
        if self.start is None or length <= self.last:  # a new generate call
            self.start = length
        self.last = length
        step = length - self.start
        forced = self.token_ids[step] if step < len(self.token_ids) else self.eos_id
        scores = torch.full_like(scores, float("-inf"))
        scores[:, forced] = 0.0
        return scores


@pytest.mark.parametrize("family", ["qwen2_5_vl", "llava"])
def test_evidence_tags_that_are_special_tokens_reach_stage_two(clips, family):
    model, processor = build_tiny_reasoner(family)
    tokenizer = processor.tokenizer
    tags = model.config.evidence_tags
    tokenizer.add_tokens([AddedToken(tag, special=True, normalized=False) for tag in tags], special_tokens=True)
    tag_ids = tokenizer.convert_tokens_to_ids(tags)
    assert max(tag_ids) < model.config.get_text_config().vocab_size
    forced = tokenizer(TAGGED, add_special_tokens=False)["input_ids"]
    assert set(tag_ids) <= set(forced)
    # what the former decoding (skip_special_tokens=True) handed to stage 2
    assert "<obj_start>" not in tokenizer.decode(forced, skip_special_tokens=True)

    processors = LogitsProcessorList([ForceText(forced, tokenizer.eos_token_id)])
    output = model.answer(
        processor, clips[0], "What runs?", timestamps=[0.0, 1.0, 2.0], logits_processor=processors,
        evidence_max_new_tokens=len(forced) + 1,
    )  # fmt: skip
    assert output.evidence == TAGGED
    # stage 2 reads exactly what training shows for the annotated evidence
    expected = build_stage_inputs(
        model.config, processor, "answer", [clips[0]], ["What runs?"], evidence=[TAGGED], timestamps=[[0.0, 1.0, 2.0]]
    )
    assert torch.equal(output.answer_input_ids, expected["input_ids"][0])


def test_ground_truth_evidence_skips_stage_one(clips):
    model, processor = build_tiny_reasoner("qwen2_5_vl", seed=1)
    calls = []
    generate = model.generate
    model.generate = lambda **kwargs: calls.append(kwargs["input_ids"].shape[0]) or generate(**kwargs)
    questions = ["Why?", "What colour?"]
    given = "The man opens the door."

    outputs = model.generate_two_stage(processor, clips, questions, evidence=[given, None])
    assert calls == [1, 2]  # stage 1 for the second question only, stage 2 for both
    assert outputs[0].evidence == given and outputs[0].evidence_prompt is None
    assert f"Evidence: {given}\n" in outputs[0].answer_prompt
    plain = model.generate_two_stage(processor, clips, questions)
    assert outputs[1].evidence == plain[1].evidence and outputs[1].evidence_prompt == plain[1].evidence_prompt

    calls.clear()
    model.answer(processor, clips[0], "Why?", evidence=given)
    assert calls == [1]  # no stage 1 at all


def test_hybrid_and_cli_take_ground_truth_evidence(tmp_path, video, reasoner_path, capsys):
    path, _ = video
    qa = HybridVideoQA.from_pretrained(reasoner_path, strategy="uniform", max_core_frames=2)
    result = qa.answer(path, "Why does it stop?", ["red light", "no fuel"], evidence=TAGGED)
    assert result.evidence == TAGGED and result.letter in (None, "A", "B")

    evidence_file = tmp_path / "evidence.txt"
    evidence_file.write_text(TAGGED + "\n", encoding="utf-8")
    argv = ["answer", str(path), "-q", "Why?", "--reasoner", str(reasoner_path), "--json"]
    assert main([*argv, "--evidence", f"@{evidence_file}"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["evidence"] == TAGGED
    assert "reasoner on cpu" in captured.err  # where the model runs is said on stderr
    assert main([*argv, "--evidence", "It rains."]) == 0
    assert json.loads(capsys.readouterr().out)["evidence"] == "It rains."

    assert main([*argv, "--evidence", f"@{tmp_path / 'missing.txt'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--evidence @" in err and "missing.txt" in err and len(err.splitlines()) == 1


def test_model_commands_use_the_accelerator_when_there_is_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert cli_common.device_map(None) == "auto"
    assert cli_common.device_map("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli_common.device_map(None) is None
