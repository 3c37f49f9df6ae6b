"""One tag grammar (videoespresso_hf.evidence_tags) for the release's evidence parser (data.evidence) and the
grounding claims of a rollout (evaluation.grounding): both read the same objects and boxes from tagged text."""

from __future__ import annotations

import pytest

from videoespresso_hf.data.evidence import parse_evidence
from videoespresso_hf.evaluation.grounding import parse_rollout
from videoespresso_hf.evidence_tags import TAG_EVENT, parse_boxes, parse_time

TAGGED = [
    "A <obj_start>man<obj_end><box_start>[1, 2, 30, 40]<box_end> waves.",
    "<obj_start>pot<obj_end> <box_start>[[0, 0, 10, 10], [60, 60, 100, 100]]<box_end> boils at <t>4.0</t>s",
    "<obj_start>cat<obj_end><box_start>[1.5, -2, 3.25, 4]<box_end><box_start>[5,6,7,8]<box_end> and "
    "<obj_start>dog<obj_end><box_start>[]<box_end> at <t>2</t>s",
    "<box_start>[9, 9, 19, 19]<box_end> with no object before it",
    "<obj_start> chef <obj_end><box_start>[[]]<box_end> at <t>1.5</t>s",
    # Malformed box contents: no box on either side (the grounding side once read a box out of the first two).
    "<obj_start>a<obj_end><box_start>[[1, 2, 3, 4], [5, 6]]<box_end> at <t>1</t>s",
    "<obj_start>a<obj_end><box_start>[1, 2, 3, 4] or so<box_end> at <t>1</t>s",
    '<obj_start>a<obj_end><box_start>[[1, 2, 3, 4], "x"]<box_end> at <t>1</t>s',
    "<obj_start>a<obj_end><box_start>[1, 2, 3]<box_end> at <t>1</t>s",
    "no tags at all, <t>3</t>s",
]


def _evidence_side(text: str) -> list[tuple[str, tuple[float, ...]]]:
    return [(obj.label, box) for obj in parse_evidence(text).key_objects for box in obj.boxes]


def _grounding_side(text: str) -> list[tuple[str, tuple[float, ...]]]:
    return [(claim.label, claim.box) for claim in parse_rollout(f"<think>{text}</think>").boxes]


@pytest.mark.parametrize("text", TAGGED)
def test_both_readers_find_the_same_objects_and_boxes(text):
    assert _grounding_side(text) == _evidence_side(text)


def test_the_table_has_boxes_to_agree_on():
    assert sum(len(_evidence_side(text)) for text in TAGGED) == 6


def test_tag_events_in_order():
    text = "<obj_start>x<obj_end><box_start>[1, 2, 3, 4]<box_end> at <t> 2.5 </t>s"
    events = [(m.lastgroup, m.group(m.lastgroup)) for m in TAG_EVENT.finditer(text)]
    assert events == [("obj", "x"), ("box", "[1, 2, 3, 4]"), ("t", "2.5")]
    assert parse_boxes(events[1][1]) == (((1.0, 2.0, 3.0, 4.0),), "ok")
    assert parse_time(events[2][1]) == 2.5
