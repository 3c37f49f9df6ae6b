from __future__ import annotations

import pytest

from videoespresso_hf.data.evidence import (
    KeyObject,
    parse_boxes,
    parse_evidence,
    render_evidence,
    render_key_object,
    strip_evidence_tags,
)


def test_well_formed_box_is_parsed_and_removed_from_text():
    parsed = parse_evidence("A <obj_start>man<obj_end><box_start>[1, 2, 30, 40]<box_end> waves.")
    assert parsed.text == "A man waves."
    assert parsed.key_objects == (KeyObject("man", ((1.0, 2.0, 30.0, 40.0),), "ok"),)


def test_empty_missing_and_multiple_boxes():
    parsed = parse_evidence(
        "<obj_start>person<obj_end><box_start>[]<box_end> near <obj_start>car<obj_end> "
        "<box_start>[[1,2,3,4],[5,6,7,8.5]]<box_end>, then <obj_start>dog<obj_end> runs"
        " with <obj_start>cat<obj_end><box_start>[1,1,2,2]<box_end><box_start>[3,3,4,4]<box_end>."
    )
    assert parsed.text == "person near car, then dog runs with cat."
    statuses = {obj.label: (obj.box_status, len(obj.boxes)) for obj in parsed.key_objects}
    assert statuses == {"person": ("empty", 0), "car": ("ok", 2), "dog": ("empty", 0), "cat": ("ok", 2)}
    assert parsed.key_objects[1].boxes[1] == (5.0, 6.0, 7.0, 8.5)


@pytest.mark.parametrize(
    "content", ["[1, 2, 3]", "[1, 2, 3, 'x']", "not a box", "[[1,2,3,4],[1,2]]", "[1, 2, 3, NaN]", "{}"]
)
def test_malformed_boxes_are_flagged_not_raised(content):
    parsed = parse_evidence(f"the <obj_start>thing<obj_end><box_start>{content}<box_end> moves")
    assert parsed.text == "the thing moves"
    assert parsed.key_objects == (KeyObject("thing", (), "malformed"),)


def test_stray_and_unclosed_tags_never_leak_into_plain_text():
    raw = "a <obj_start>x<obj_end><box_start>[1,2,3,4] b <obj_end> c <box_end> d <obj_start>unclosed"
    parsed = parse_evidence(raw)
    assert "<" not in parsed.text and ">" not in parsed.text
    assert any(obj.box_status == "malformed" for obj in parsed.key_objects)
    assert parse_evidence(None).text == "" and parse_evidence("").key_objects == ()


def test_render_round_trips_released_form():
    raw = (
        "The <obj_start>chef<obj_end><box_start>[[1, 2, 3, 4], [5.5, 6, 7, 8]]<box_end> adds "
        "<obj_start>salt<obj_end><box_start>[]<box_end> in frame 30."
    )
    parsed = parse_evidence(raw)
    assert render_evidence(parsed.segments) == raw
    assert parse_evidence(render_evidence(parsed.segments)) == parsed


def test_render_accepts_schema_dicts_and_validates():
    raw = render_evidence(["A ", {"label": "dog", "boxes": [[0, 0, 10.5, 10]]}, " runs."])
    assert raw == "A <obj_start>dog<obj_end><box_start>[0, 0, 10.5, 10]<box_end> runs."
    assert strip_evidence_tags(raw) == "A dog runs."
    assert render_key_object("cup") == "<obj_start>cup<obj_end><box_start>[]<box_end>"
    with pytest.raises(ValueError, match="4 finite numbers"):
        render_key_object("cup", [[1, 2, 3]])
    with pytest.raises(ValueError, match="must not contain evidence tags"):
        render_evidence(["bad <obj_start>"])


def test_parse_boxes_statuses():
    assert parse_boxes("[]") == ((), "empty")
    assert parse_boxes(" [1,2,3,4] ") == (((1.0, 2.0, 3.0, 4.0),), "ok")
    assert parse_boxes("[true, 1, 2, 3]") == ((), "malformed")
