"""Which coordinate frame the released boxes use, decided from the data, and where a box lands on its frame.

The release does not document its box convention (data-formats.md §1.3, §6). The construction pipeline's
boxes are known: GroundingDINO's pixel ``[x1, y1, x2, y2]`` on the decoded core frame. For released boxes
the value ranges decide, given the size of the frame each box belongs to:

* every coordinate within ``[0, 1]`` → ``normalized`` (fractions of width/height);
* every coordinate within ``[0, 1000]`` and at least one box that would leave its frame read as pixels
  but fits read on a 0–1000 grid → ``per-mille`` (the grid Qwen-VL-style grounding uses);
* otherwise → ``pixels`` (what our pipeline writes, and the only reading that needs no rescaling).

The order of the four numbers is taken as ``[x1, y1, x2, y2]`` everywhere (the evidence parser's reading);
a box that is still outside its frame, or has ``x2 < x1`` / ``y2 < y1``, is *reported*, never clipped
silently: :func:`place_box` flags it so the viewer draws it in a warning colour.
Pure functions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "BOX_CONVENTIONS",
    "BOX_READINGS",
    "BoxConvention",
    "PlacedBox",
    "RowBoxReading",
    "decide_box_convention",
    "decide_row_box_reading",
    "decide_video_box_reading",
    "place_box",
    "reading_to_corners",
    "to_pixels",
]

BOX_CONVENTIONS: tuple[str, ...] = ("pixels", "normalized", "per-mille")
_SCALE = {"pixels": None, "normalized": 1.0, "per-mille": 1000.0}
_TOLERANCE = 0.5  # pixels: GroundingDINO boxes are rounded to 0.1 px and may touch the far edge


@dataclass(frozen=True)
class BoxConvention:
    """The chosen convention and the sentence that says why (shown on the page)."""

    name: str
    reason: str


def to_pixels(box: Sequence[float], convention: str, width: int, height: int) -> tuple[float, float, float, float]:
    """``[x1, y1, x2, y2]`` in ``convention`` → pixels of a ``width`` × ``height`` frame."""
    scale = _SCALE[convention]
    x1, y1, x2, y2 = (float(v) for v in box)
    if scale is None:
        return x1, y1, x2, y2
    return x1 / scale * width, y1 / scale * height, x2 / scale * width, y2 / scale * height


def _fits(box: Sequence[float], width: int, height: int) -> bool:
    x1, y1, x2, y2 = box
    return (-_TOLERANCE <= x1 < x2 <= width + _TOLERANCE) and (-_TOLERANCE <= y1 < y2 <= height + _TOLERANCE)


def decide_box_convention(boxes: Iterable[tuple[Sequence[float], tuple[int, int] | None]]) -> BoxConvention:
    """Decide the convention of released boxes from their ranges (see the module docstring).

    Args:
        boxes: ``(box, (width, height) of its frame or None when the frame could not be read)``.
    """
    pairs = [(tuple(float(v) for v in box), size) for box, size in boxes]
    if not pairs:
        return BoxConvention("pixels", "no boxes to judge from; pixels assumed (the construction pipeline's convention)")
    values = [v for box, _ in pairs for v in box]
    if all(0.0 <= v <= 1.0 for v in values):
        return BoxConvention("normalized", f"all {len(pairs)} boxes have every coordinate within 0–1: read as fractions of the frame")
    sized = [(box, size) for box, size in pairs if size]
    if not sized:
        return BoxConvention("pixels", "coordinates go beyond 1 and no frame size is known: pixels assumed")
    outside_as_pixels = sum(not _fits(box, *size) for box, size in sized)
    if all(0.0 <= v <= 1000.0 for v in values) and outside_as_pixels:
        fit_grid = sum(_fits(to_pixels(box, "per-mille", *size), *size) for box, size in sized)
        if fit_grid > len(sized) - outside_as_pixels:
            return BoxConvention(
                "per-mille",
                f"all coordinates are within 0–1000 and {outside_as_pixels} of {len(sized)} boxes would leave their frame as "
                "pixels: read on a 0–1000 grid",
            )
    return BoxConvention(
        "pixels",
        f"coordinates go beyond 1 and {len(sized) - outside_as_pixels} of {len(sized)} boxes with a known frame size fit "
        "their frame in pixels (the construction pipeline's GroundingDINO convention)",
    )


@dataclass(frozen=True)
class PlacedBox:
    """A box on its frame, as percentages of the frame (what CSS positions), clamped to the frame.

    ``inside`` is False when the box, read in the chosen convention, leaves the frame or is inverted;
    the percentages then show the part that is on the frame (or a sliver at the nearest edge).
    """

    left: float
    top: float
    width: float
    height: float
    inside: bool
    pixels: tuple[float, float, float, float]


def place_box(box: Sequence[float], convention: str, width: int, height: int) -> PlacedBox:
    """Where ``box`` lands on a ``width`` × ``height`` frame."""
    pixels = to_pixels(box, convention, width, height)
    inside = _fits(pixels, width, height)
    x1, y1, x2, y2 = pixels
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    left = min(max(x1, 0.0), width)
    top = min(max(y1, 0.0), height)
    right = min(max(x2, 0.0), width)
    bottom = min(max(y2, 0.0), height)

    def percent(value: float, total: int) -> float:
        return round(100.0 * value / total, 3)

    # A box wholly off the frame still gets a visible 1 % sliver at the nearest edge.
    return PlacedBox(
        left=percent(min(left, width * 0.99), width),
        top=percent(min(top, height * 0.99), height),
        width=max(percent(right - left, width), 1.0),
        height=max(percent(bottom - top, height), 1.0),
        inside=inside,
        pixels=tuple(round(v, 1) for v in pixels),  # type: ignore[arg-type]
    )


# -- per-row readings (issue 20.0): scale × order, decided from the key-frame image's size ------------------------

# Every reading a released box could have: the coordinate scale and the order of the four numbers
# (``xyxy`` = corners ``[x1, y1, x2, y2]``; ``cxcywh`` = centre + size, Open-o3 Video's reading of its derived data).
BOX_READINGS: tuple[str, ...] = tuple(
    f"{scale}-{order}" for scale in BOX_CONVENTIONS for order in ("xyxy", "cxcywh")
)
_MIN_SIDE = 1.0  # pixels: a box narrower than a pixel is not a reading anybody meant


def reading_to_corners(box: Sequence[float], reading: str, width: int, height: int) -> tuple[float, float, float, float]:
    """``box`` read as ``reading`` (one of :data:`BOX_READINGS`) → pixel corners ``(x1, y1, x2, y2)``.

    Raises:
        ValueError: an unknown reading.
    """
    if reading not in BOX_READINGS:
        raise ValueError(f"unknown box reading {reading!r}; choose one of {', '.join(BOX_READINGS)}")
    scale, order = reading.rsplit("-", 1)
    a, b, c, d = (float(v) for v in box)
    if order == "cxcywh":
        a, b, c, d = a - c / 2, b - d / 2, a + c / 2, b + d / 2
    return to_pixels((a, b, c, d), scale, width, height)


def _reading_fits(box: Sequence[float], reading: str, width: int, height: int) -> bool:
    x1, y1, x2, y2 = reading_to_corners(box, reading, width, height)
    return _fits((x1, y1, x2, y2), width, height) and x2 - x1 >= _MIN_SIDE and y2 - y1 >= _MIN_SIDE


@dataclass(frozen=True)
class RowBoxReading:
    """How one row's boxes read on their key-frame image (stored in the row's ``metadata["boxes"]``).

    Attributes:
        status: ``"decided"`` (exactly one reading keeps every box inside the image), ``"ambiguous"`` (several
            do: not guessed), ``"none_fit"`` (no reading does), ``"no_boxes"`` or ``"no_image"`` (no image size).
        reading: the decided reading (one of :data:`BOX_READINGS`), else None.
        fitting: every reading that keeps all the row's boxes inside the image.
        image_size: ``(width, height)`` the decision used, or None.
        basis: ``"row"`` (the row's own boxes decided) or ``"video"`` (the row alone was ambiguous; the boxes of all
            rows of its video, on the same key-frame size, leave one reading: :func:`decide_video_box_reading`).
    """

    status: str
    reading: str | None
    fitting: tuple[str, ...]
    image_size: tuple[int, int] | None
    basis: str = "row"

    def to_dict(self) -> dict:
        return {"status": self.status, "reading": self.reading, "fitting": list(self.fitting),
                "image_size": list(self.image_size) if self.image_size else None, "basis": self.basis}  # fmt: skip


def decide_row_box_reading(boxes: Iterable[Sequence[float]], image_size: tuple[int, int] | None) -> RowBoxReading:
    """Decide one row's box reading from its key-frame image size: the reading that keeps every box inside.

    A reading fits a box when the box, converted to pixel corners, lies inside the ``width × height`` image
    (half a pixel of slack) and is at least a pixel wide and high. The release documents no convention, so
    when several readings fit every box the row is ``ambiguous`` and nothing is guessed.
    """
    boxes = [tuple(float(v) for v in box) for box in boxes]
    if not boxes:
        return RowBoxReading("no_boxes", None, (), image_size)
    if not image_size:
        return RowBoxReading("no_image", None, (), None)
    width, height = image_size
    fitting = tuple(r for r in BOX_READINGS if all(_reading_fits(box, r, width, height) for box in boxes))
    if len(fitting) == 1:
        return RowBoxReading("decided", fitting[0], fitting, image_size)
    return RowBoxReading("ambiguous" if fitting else "none_fit", None, fitting, image_size)


def decide_video_box_reading(
    row: RowBoxReading, video_rows: Iterable[Iterable[Sequence[float]]], image_size: tuple[int, int] | None
) -> RowBoxReading:
    """Settle an ``ambiguous`` row with the boxes of every row of its video (same key-frame size, one annotator pass).

    The readings that keep every box of every row inside the image are intersected (rows where no reading fits
    take no part); when exactly one remains and it fits this row, the row is ``decided`` on the ``video`` basis.
    Anything else leaves the row as it was: nothing is guessed.
    """
    if row.status != "ambiguous" or not image_size:
        return row
    shared = set(row.fitting)
    for boxes in video_rows:
        fitting = decide_row_box_reading(boxes, image_size).fitting
        if fitting:
            shared &= set(fitting)
    if len(shared) == 1:
        return RowBoxReading("decided", shared.pop(), row.fitting, row.image_size, "video")
    return row
