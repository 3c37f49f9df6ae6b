"""Deciding the released boxes' convention from their ranges, and placing a box on its frame."""

import pytest

from videoespresso_hf.data.boxes import decide_box_convention, place_box

FRAME = (640, 360)


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([[0.1, 0.2, 0.5, 0.9], [0, 0, 1, 1]], "normalized"),
        ([[100, 200, 900, 950], [10, 20, 300, 340]], "per-mille"),  # 950 > 360 px tall: fits only on the grid
        ([[10, 20, 300, 340], [0, 0, 640, 360]], "pixels"),  # all fit as pixels
        ([[10, 20, 1200, 340], [100, 200, 900, 950]], "pixels"),  # beyond 1000: no grid explains it
    ],
)
def test_convention_follows_the_value_ranges(boxes, expected):
    decided = decide_box_convention((box, FRAME) for box in boxes)
    assert decided.name == expected
    assert decided.reason  # shown on the page


def test_unknown_frame_sizes_and_no_boxes_fall_back_to_pixels_and_say_so():
    assert "no boxes" in decide_box_convention([]).reason
    assert decide_box_convention([([10, 20, 500, 700], None)]).name == "pixels"


def test_place_box_in_each_convention_and_flag_boxes_outside():
    assert place_box([160, 90, 480, 270], "pixels", *FRAME).left == 25.0
    assert place_box([0.25, 0.25, 0.75, 0.75], "normalized", *FRAME).width == 50.0
    grid = place_box([250, 500, 750, 1000], "per-mille", *FRAME)
    assert (grid.top, grid.height, grid.inside) == (50.0, 50.0, True)
    outside = place_box([600, 300, 700, 400], "pixels", *FRAME)
    assert not outside.inside
    assert outside.left + outside.width <= 100.0 and outside.top + outside.height <= 100.0  # clamped, still visible
    inverted = place_box([300, 100, 200, 50], "pixels", *FRAME)
    assert not inverted.inside and inverted.width > 0
