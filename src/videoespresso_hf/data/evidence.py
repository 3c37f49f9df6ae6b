"""Inline evidence tags: ``<obj_start>label<obj_end><box_start>[x1, y1, x2, y2]<box_end>``.

VideoEspresso's chain-of-thought evidence strings ground key objects inline. The released files
contain well-formed boxes, empty boxes (``[]``), several boxes for one object (``[[...], [...]]``
or repeated box tags) and the occasional malformed one; :func:`parse_evidence` accepts all of them
and never raises. :func:`render_evidence` writes the same form back, so the construction pipeline
and the released data share one format::

    >>> parsed = parse_evidence("A <obj_start>man<obj_end><box_start>[1, 2, 30, 40]<box_end> waves.")
    >>> parsed.text
    'A man waves.'
    >>> parsed.key_objects
    (KeyObject(label='man', boxes=((1.0, 2.0, 30.0, 40.0),), box_status='ok'),)
    >>> render_evidence(parsed.segments) == "A <obj_start>man<obj_end><box_start>[1, 2, 30, 40]<box_end> waves."
    True

The tag grammar (tags, box content) is :mod:`videoespresso_hf.evidence_tags`'s, shared with the grounding
metrics. Box convention: four numbers ``[x1, y1, x2, y2]`` as written in the source; the released files do not
document the coordinate frame (pixels vs a 0-1000 grid), so values are kept exactly as given.
Pure functions only: no I/O, no third-party imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from videoespresso_hf.evidence_tags import (
    BOX_END,
    BOX_START,
    BOX_TAG,
    OBJ_END,
    OBJ_START,
    OBJECT_TAG,
    TAG,
    Box,
    is_finite_number,
    parse_boxes,
)

__all__ = [
    "BOX_END",
    "BOX_START",
    "BOX_STATUSES",
    "OBJ_END",
    "OBJ_START",
    "Box",
    "KeyObject",
    "ParsedEvidence",
    "format_boxes",
    "parse_boxes",
    "parse_evidence",
    "render_evidence",
    "render_key_object",
    "strip_evidence_tags",
]

BOX_STATUSES: tuple[str, ...] = ("ok", "empty", "malformed")  # KeyObject.box_status values

_NO_TAG = rf"(?:(?!{TAG.pattern}).)*"  # text that contains no tag
# A well-formed object, a well-formed box, or a lone tag (unclosed or stray).
_PIECE = re.compile(
    rf"{OBJ_START}({_NO_TAG}){OBJ_END}|{BOX_START}({_NO_TAG}){BOX_END}|({TAG.pattern})", re.DOTALL
)
# Fast path: an object with its box tags, none of them containing "<".
_WELL_FORMED_OBJECT = re.compile(rf"{OBJECT_TAG.pattern}((?:\s*{BOX_START}[^<]*{BOX_END})*)")
_SPACES_BEFORE_PUNCT = re.compile(r"[ \t]+([,.;:!?)])")
_MULTI_SPACE = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True)
class KeyObject:
    """One grounded object of an evidence string.

    Attributes:
        label: the object text between ``<obj_start>`` and ``<obj_end>``.
        boxes: zero or more ``(x1, y1, x2, y2)`` boxes.
        box_status: ``"ok"`` (at least one well-formed box and nothing malformed), ``"empty"`` (no box
            tag or only ``[]``) or ``"malformed"`` (a box tag whose content is not a list of 4-number lists).
    """

    label: str
    boxes: tuple[Box, ...] = ()
    box_status: str = "ok"

    def to_dict(self) -> dict:
        """The schema form (``key_objects`` item): ``{"label", "boxes", "box_status"}``."""
        return {"label": self.label, "boxes": [list(box) for box in self.boxes], "box_status": self.box_status}


@dataclass(frozen=True)
class ParsedEvidence:
    """Result of :func:`parse_evidence`.

    Attributes:
        raw: the input string.
        text: plain text: object labels kept, tags and boxes removed, spacing tidied.
        key_objects: objects in order of appearance.
        segments: the evidence as alternating plain strings and :class:`KeyObject` s;
            ``render_evidence(segments)`` rebuilds the tagged form.
    """

    raw: str
    text: str
    key_objects: tuple[KeyObject, ...] = ()
    segments: tuple[str | KeyObject, ...] = field(default=(), repr=False)


def _combine_status(statuses: Sequence[str], boxes: Sequence[Box]) -> str:
    if "malformed" in statuses:
        return "malformed"
    return "ok" if boxes else "empty"


def _tokenize(raw: str) -> list[tuple[str, str]]:
    """``(kind, text)`` pieces: ``text``, ``obj`` (label), ``box`` (box content) or ``stray`` (a lone tag)."""
    pieces: list[tuple[str, str]] = []
    position = 0
    for match in _PIECE.finditer(raw):
        if match.start() > position:
            pieces.append(("text", raw[position : match.start()]))
        label, box, stray = match.groups()
        if label is not None:
            pieces.append(("obj", label))
        elif box is not None:
            pieces.append(("box", box))
        else:
            pieces.append(("stray", stray))
        position = match.end()
    if position < len(raw):
        pieces.append(("text", raw[position:]))
    return pieces


def _new_object(label: str, boxes: list | None = None, statuses: list | None = None) -> dict:
    return {"label": label, "boxes": boxes or [], "statuses": statuses or [], "pending": ""}


def parse_evidence(raw: str | None) -> ParsedEvidence:
    """Split an evidence string into plain text and key objects. Never raises.

    Rules: an object is ``<obj_start>label<obj_end>`` followed by zero or more box tags (only whitespace
    between them). A box tag with no object before it becomes an object with an empty label. Stray or
    unclosed tags are dropped from the text and mark the object they belong to as ``"malformed"``.
    """
    raw = raw or ""
    if "<" not in raw:
        return ParsedEvidence(raw=raw, text=raw.strip(), key_objects=(), segments=(raw,) if raw else ())
    return _parse_well_formed(raw) or _parse_any(raw)


def _parse_well_formed(raw: str) -> ParsedEvidence | None:
    """The usual case in one regex pass; ``None`` when a stray/unclosed tag needs the general parser."""
    segments: list[str | KeyObject] = []
    text_parts: list[str] = []
    position = 0
    for match in _WELL_FORMED_OBJECT.finditer(raw):
        between = raw[position : match.start()]
        if "<" in between and TAG.search(between):
            return None
        if between:
            segments.append(between)
            text_parts.append(between)
        label = match.group(1).strip()
        boxes: list[Box] = []
        statuses = []
        for content in BOX_TAG.findall(match.group(2)):
            found, status = parse_boxes(content)
            boxes.extend(found)
            statuses.append(status)
        segments.append(KeyObject(label, tuple(boxes), _combine_status(statuses, boxes)))
        text_parts.append(label)
        position = match.end()
    rest = raw[position:]
    if "<" in rest and TAG.search(rest):
        return None
    if rest:
        segments.append(rest)
        text_parts.append(rest)
    key_objects = tuple(seg for seg in segments if isinstance(seg, KeyObject))
    # Whitespace before a box tag was consumed with it, so no gap needs tidying here.
    return ParsedEvidence(raw=raw, text="".join(text_parts).strip(), key_objects=key_objects, segments=tuple(segments))


def _parse_any(raw: str) -> ParsedEvidence:
    segments: list[str | KeyObject] = []
    current: dict | None = None  # the object being assembled: label, boxes, statuses

    def flush() -> None:
        nonlocal current
        if current is not None:
            boxes = current["boxes"]
            segments.append(KeyObject(current["label"], tuple(boxes), _combine_status(current["statuses"], boxes)))
            segments.append(current["pending"])
            current = None

    for kind, value in _tokenize(raw):
        if kind == "text":
            if current is not None and not value.strip():
                current["pending"] += value  # dropped if a box tag follows
                continue
            flush()
            segments.append(value)
        elif kind == "obj":
            flush()
            current = _new_object(value.strip())
        elif kind == "box":
            if current is None:
                current = _new_object("")
            boxes, status = parse_boxes(value)
            current["pending"] = ""
            current["boxes"].extend(boxes)
            current["statuses"].append(status)
        else:  # stray tag
            if current is None and segments and isinstance(segments[-1], KeyObject):
                last = segments.pop()
                current = _new_object(last.label, list(last.boxes), [last.box_status])
            if current is None:
                current = _new_object("")
            current["statuses"].append("malformed")
    flush()
    merged = _merge_text_segments(segments)
    key_objects = tuple(seg for seg in merged if isinstance(seg, KeyObject))
    return ParsedEvidence(raw=raw, text=_tidy("".join(_plain_parts(merged))),
                          key_objects=key_objects, segments=tuple(merged))


def _merge_text_segments(segments: Iterable[str | KeyObject]) -> list[str | KeyObject]:
    merged: list[str | KeyObject] = []
    for seg in segments:
        if isinstance(seg, str) and merged and isinstance(merged[-1], str):
            merged[-1] += seg
        elif seg != "":
            merged.append(seg)
    return merged


def _plain_parts(segments: Iterable[str | KeyObject]) -> Iterable[str]:
    for seg in segments:
        yield seg if isinstance(seg, str) else seg.label


def _tidy(text: str) -> str:
    # Removing a box leaves "man  walks" or "man ." behind; collapse only such gaps.
    text = _MULTI_SPACE.sub(" ", text)
    return _SPACES_BEFORE_PUNCT.sub(r"\1", text).strip()


def strip_evidence_tags(raw: str | None) -> str:
    """Plain text of an evidence string (shortcut for ``parse_evidence(raw).text``)."""
    return parse_evidence(raw).text


def _format_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def format_boxes(boxes: Sequence[Sequence[float]]) -> str:
    """Box-tag content: ``[]``, ``[x1, y1, x2, y2]`` for one box, ``[[...], [...]]`` for several.

    Raises:
        ValueError: if a box does not have exactly 4 finite numbers.
    """
    rendered = []
    for box in boxes:
        if len(box) != 4 or not all(is_finite_number(v) for v in box):
            raise ValueError(f"a box must be 4 finite numbers [x1, y1, x2, y2], got {list(box)!r}")
        rendered.append("[" + ", ".join(_format_number(v) for v in box) + "]")
    if not rendered:
        return "[]"
    return rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"


def render_key_object(label: str, boxes: Sequence[Sequence[float]] = ()) -> str:
    """``<obj_start>label<obj_end><box_start>[...]<box_end>`` for one object (``[]`` when no box).

    Raises:
        ValueError: if the label contains a tag or a box is not 4 finite numbers.
    """
    if TAG.search(label):
        raise ValueError(f"an object label must not contain evidence tags: {label!r}")
    return f"{OBJ_START}{label}{OBJ_END}{BOX_START}{format_boxes(boxes)}{BOX_END}"


def render_evidence(segments: Iterable[str | KeyObject | dict]) -> str:
    """Write evidence in the released inline-tag form.

    Args:
        segments: plain strings and objects, in reading order. An object is a :class:`KeyObject` or a
            dict with ``label`` and ``boxes`` (the schema's ``key_objects`` item form).

    Example: ``render_evidence(["The ", KeyObject("dog", ((0, 0, 10, 10),)), " runs."])``.
    """
    out = []
    for seg in segments:
        if isinstance(seg, str):
            if TAG.search(seg):
                raise ValueError(f"plain evidence text must not contain evidence tags: {seg!r}")
            out.append(seg)
        elif isinstance(seg, KeyObject):
            out.append(render_key_object(seg.label, seg.boxes))
        elif isinstance(seg, dict):
            out.append(render_key_object(str(seg["label"]), seg.get("boxes") or ()))
        else:
            raise TypeError(f"evidence segment must be str, KeyObject or dict, got {type(seg).__name__}")
    return "".join(out)
