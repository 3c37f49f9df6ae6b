"""The grammar of the inline evidence tags, in one place for the two readers of tagged text.

* ``<obj_start>label<obj_end>``: a key object, followed by its boxes;
* ``<box_start>[x1, y1, x2, y2]<box_end>``: its box(es): ``[]``, one box, or ``[[…], […]]``;
* ``<t>seconds</t>``: a time (the one-pass rollout format).

:mod:`videoespresso_hf.data.evidence` parses the release's evidence strings with them (objects, boxes, malformed
tags); :mod:`videoespresso_hf.evaluation.grounding` reads a rollout's claims (boxes with times). Scoring may not
import ``data`` (tests/test_architecture.py), so the grammar both share lives here, a leaf. (The verl reward
function, ``integrations/verl_reward.py``, keeps its own stdlib copy on purpose: verl loads it by path.)

Pure functions only: no I/O, no third-party imports.
"""

from __future__ import annotations

import json
import math
import re

__all__ = [
    "BOX_END",
    "BOX_START",
    "BOX_TAG",
    "OBJECT_TAG",
    "OBJ_END",
    "OBJ_START",
    "TAG",
    "TAG_EVENT",
    "Box",
    "is_finite_number",
    "parse_boxes",
    "parse_time",
]

OBJ_START, OBJ_END = "<obj_start>", "<obj_end>"
BOX_START, BOX_END = "<box_start>", "<box_end>"

Box = tuple[float, float, float, float]

_NUMBER_TEXT = r"-?\d+(?:\.\d+)?"
_OBJECT = rf"{OBJ_START}(?P<obj>[^<]*){OBJ_END}"
_BOX = rf"{BOX_START}(?P<box>[^<]*){BOX_END}"
_TIME = rf"<t>\s*(?P<t>{_NUMBER_TEXT})\s*</t>"

#: Any one of the four object/box tags (a stray one included).
TAG = re.compile(f"{OBJ_START}|{OBJ_END}|{BOX_START}|{BOX_END}")
#: A well-formed object tag pair; group ``obj`` (1) is the label (no ``<`` inside).
OBJECT_TAG = re.compile(_OBJECT)
#: A well-formed box tag pair; group ``box`` (1) is the box content (no ``<`` inside), read by :func:`parse_boxes`.
BOX_TAG = re.compile(_BOX)
#: Any of the three, in order of appearance: exactly one of the groups ``obj``, ``box``, ``t`` (the seconds, read by
#: :func:`parse_time`) is set.
TAG_EVENT = re.compile(f"{_OBJECT}|{_BOX}|{_TIME}")

_NUMBER = rf"\s*({_NUMBER_TEXT})\s*"
_SIMPLE_BOX = re.compile(rf"\[{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}\]")
_BOX_NO_GROUPS = rf"\[\s*{_NUMBER_TEXT}(?:\s*,\s*{_NUMBER_TEXT}){{3}}\s*\]"
_SIMPLE_BOX_LIST = re.compile(rf"\[\s*{_BOX_NO_GROUPS}(?:\s*,\s*{_BOX_NO_GROUPS})*\s*\]")


def is_finite_number(value: object) -> bool:
    """An int or float (not a bool), finite: what a box coordinate may be."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_boxes(content: str) -> tuple[tuple[Box, ...], str]:
    """Parse the text between ``<box_start>`` and ``<box_end>``.

    Accepts ``[]``, ``[x1, y1, x2, y2]`` and ``[[...], [...]]`` (numbers may be ints or floats).

    Returns:
        ``(boxes, status)`` with status ``"ok"``, ``"empty"`` or ``"malformed"`` (then ``boxes == ()``).
    """
    content = content.strip()
    if content in ("", "[]", "[[]]"):
        return (), "empty"
    simple = _SIMPLE_BOX.fullmatch(content)
    if simple:  # the common cases, without a JSON round trip
        return (tuple(map(float, simple.groups())),), "ok"  # type: ignore[return-value]
    if _SIMPLE_BOX_LIST.fullmatch(content):
        return tuple(tuple(map(float, box)) for box in _SIMPLE_BOX.findall(content)), "ok"  # type: ignore[misc]
    try:
        value = json.loads(content)
    except ValueError:
        return (), "malformed"
    if isinstance(value, list) and value and all(not isinstance(item, list) for item in value):
        value = [value]
    if not isinstance(value, list):
        return (), "malformed"
    boxes: list[Box] = []
    for item in value:
        if item == []:
            continue
        if not (isinstance(item, list) and len(item) == 4 and all(is_finite_number(v) for v in item)):
            return (), "malformed"
        boxes.append(tuple(float(v) for v in item))  # type: ignore[arg-type]
    return tuple(boxes), ("ok" if boxes else "empty")


def parse_time(content: str) -> float | None:
    """The seconds of a time tag's ``t`` group; ``None`` when not finite."""
    value = float(content)
    return value if math.isfinite(value) else None
