"""Grounding primitives and metrics on hand-written rollouts."""

from __future__ import annotations

import math

import pytest

from videoespresso_hf.evaluation.grounding import (
    GroundingReference,
    box_iou,
    box_to_unit,
    format_level,
    grounding_counts,
    grounding_report,
    nearest_time_distance,
    parse_rollout,
)

GROUNDED = (
    "<think>The <obj_start>chef<obj_end><box_start>[10, 20, 50, 60]<box_end> at <t>1.5</t>s adds salt; "
    "the <obj_start>pot<obj_end><box_start>[[0, 0, 10, 10], [60, 60, 100, 100]]<box_end> at <t>4.0</t>s boils, "
    "then <obj_start>steam<obj_end><box_start>[1, 1, 2, 2]<box_end> rises.</think><answer>B</answer>"
)
# key frames at 1 s and 4 s of a 100 × 100 frame (unit boxes), claims written in pixels of that frame
REFERENCE = GroundingReference(
    key_times=(1.0, 4.0), key_boxes=(((0.1, 0.2, 0.5, 0.6),), ((0.6, 0.6, 1.0, 1.0), (0.0, 0.5, 0.2, 0.7))),
    box_scale=(100.0, 100.0),
)


def test_parse_rollout_pairs_each_box_with_its_time():
    rollout = parse_rollout(GROUNDED)
    assert rollout.well_formed and rollout.grounded and rollout.answer == "B"
    assert rollout.times == (1.5, 4.0)
    assert [(claim.label, claim.box, claim.time) for claim in rollout.boxes] == [
        ("chef", (10.0, 20.0, 50.0, 60.0), 1.5),
        ("pot", (0.0, 0.0, 10.0, 10.0), 4.0),
        ("pot", (60.0, 60.0, 100.0, 100.0), 4.0),
        ("steam", (1.0, 1.0, 2.0, 2.0), 4.0),  # no <t> follows: the last one before it
    ]


@pytest.mark.parametrize(
    ("text", "level"),
    [(GROUNDED, 1.0), ("<think>plain reasoning</think><answer>B</answer>", 0.5),
     ("<think>at <t>1</t>s</think> <answer>B</answer>", 0.5),  # a time but no box: not grounded
     ("B", 0.0), ("<think>x</think>B", 0.0), ("<answer>B</answer>", 0.0), ("", 0.0)],
)  # fmt: skip
def test_format_levels(text, level):
    assert format_level(parse_rollout(text)) == level


def test_primitives():
    assert nearest_time_distance(2.5, [1.0, 4.0]) == 1.5 and nearest_time_distance(1.0, []) == math.inf
    assert box_iou((0, 0, 2, 2), (1, 1, 3, 3)) == pytest.approx(1 / 7)
    assert box_iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0 and box_iou((0, 0, 0, 0), (0, 0, 0, 0)) == 0.0
    assert box_to_unit((100, 50, 300, 150), (400, 200)) == (0.25, 0.25, 0.75, 0.75)


def test_counts_at_fixed_tolerances():
    counts = grounding_counts(GROUNDED, REFERENCE)
    assert counts["time_claims"] == 2 and counts["time_correct"] == 2  # 1.5 is within 1 s of 1.0
    assert counts["key_times"] == 2 and counts["key_times_found"] == 2
    # chef matches frame 1's box exactly, pot's second box matches frame 4's first; pot's first and steam miss
    assert counts["box_claims"] == 4 and counts["box_correct"] == 2
    assert counts["key_boxes"] == 3 and counts["key_boxes_found"] == 2


def test_report_per_task_and_overall_skips_rows_without_reference():
    far = "<think>At <t>30</t>s nothing.</think><answer>A</answer>"
    records = [
        {"task": "Causal Inference", "evidence": GROUNDED, "grounding": REFERENCE.to_dict()},
        {"task": "Event Process", "model_evidence": far, "grounding": {"key_times": [1.0], "key_boxes": [], "box_scale": None}},
        {"task": "Event Process", "evidence": GROUNDED, "grounding": None},  # a bench row: no key frames
        {"task": "Event Process", "evidence": "", "grounding": REFERENCE.to_dict()},  # no evidence
    ]  # fmt: skip
    report = grounding_report(records)
    assert report["skipped"] == 2 and report["tolerances"] == {"time_s": 1.0, "iou": 0.5}
    assert report["overall"]["items"] == 2
    assert report["overall"]["temporal"] == {"claims": 3, "precision": 2 / 3, "references": 3, "recall": 2 / 3}
    assert report["overall"]["spatial"] == {"claims": 4, "precision": 0.5, "references": 3, "recall": 2 / 3}
    assert report["per_task"]["Event Process"]["temporal"]["precision"] == 0.0
    assert "spatial" not in report["per_task"]["Event Process"]  # no boxes there: not reported as 0


def test_score_grounding_flag_reports_what_each_number_covers(tmp_path, capsys):
    import json
    from pathlib import Path

    import videoespresso_hf.evaluation as evaluation
    from videoespresso_hf.cli.main import main

    sample = json.loads((Path(evaluation.__file__).parent / "samples" / "sample_predictions.json").read_text())
    records = [dict(record) for record in sample]
    records[0].update(model_evidence=GROUNDED, grounding=REFERENCE.to_dict())
    path = tmp_path / "predictions.json"
    path.write_text(json.dumps(records))
    assert main(["score", str(path), "--grounding", "--bootstrap", "10"]) == 0
    out = capsys.readouterr().out
    assert f"grounding of predictions: 1 of {len(records)} items carry evidence and key-frame references" in out
    task = records[0]["task"]
    assert f"  {task} (1 items): temporal precision 100.0% of 2 claims, recall 100.0% of 2; spatial precision 50.0% of 4 claims" in out
