"""Grounded reasoning: the one-pass rollout format, its claims, and how well they match the annotation.

The primitives here (reading claims, time distance, IoU; the tag grammar is
:mod:`videoespresso_hf.evidence_tags`, shared with the data side's evidence parser) are shared by the RL rewards
(``videoespresso_hf.training.rewards``) and by the grounding metrics of ``videoespresso score``; scoring
never imports training. Rewards and metrics are defined separately: a reward may follow a training-step
schedule, a metric uses the fixed tolerances below and reports precision and recall of the claims.

The rollout format (one pass: grounded evidence, then the answer)::

    <think>The <obj_start>chef<obj_end><box_start>[10, 20, 110, 90]<box_end> at <t>1.5</t>s adds salt;
    the <obj_start>pot<obj_end><box_start>[40, 30, 90, 80]<box_end> at <t>4.0</t>s boils.</think><answer>B</answer>

* evidence goes inside ``<think>…</think>``, the answer inside ``<answer>…</answer>`` (the option letter
  for multiple choice, text otherwise);
* key objects use the release's own tags ``<obj_start>name<obj_end><box_start>[x1, y1, x2, y2]<box_end>``
  (corners; several boxes as ``[[…], […]]``), so SFT on the release's evidence teaches the same tags;
* times are ``<t>seconds</t>`` (seconds from the start of the video, as the frame labels of the prompt give them).

A box claim takes its time from the ``<t>`` that follows it before the next object (Open-o3 Video's
"<box>…</box> at <t>…</t>s" order) or else from the last ``<t>`` before it; a box with no time anywhere is not a
spatial claim (nothing says which frame it is on).

Boxes are compared in *unit* coordinates (fractions of the frame's width and height): a claimed box is divided by
its backbone's coordinate frame (``box_scale``: the resized input's pixel size for Qwen2.5-VL, ``1000`` for
Qwen3-VL's grid), and annotated boxes are stored that way by whoever builds the reference.

Pure functions only: no I/O, no third-party imports.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from videoespresso_hf.evidence_tags import TAG_EVENT, Box, parse_boxes, parse_time

__all__ = [
    "IOU_THRESHOLD",
    "TIME_TOLERANCE_S",
    "BoxClaim",
    "GroundingReference",
    "Rollout",
    "box_iou",
    "box_to_unit",
    "format_level",
    "grounding_counts",
    "grounding_report",
    "nearest_time_distance",
    "parse_rollout",
    "reference_boxes_near",
]

# Fixed tolerances of the metrics (no training schedule): a time claim is right within 1 s of an annotated
# key-frame time (the rewards' spatial window too); a box claim is right at IoU >= 0.5 (the detection convention).
TIME_TOLERANCE_S = 1.0
IOU_THRESHOLD = 0.5

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FULL = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)


@dataclass(frozen=True)
class BoxClaim:
    """One claimed box: the object's name, the box as written (the backbone's coordinates) and its time."""

    label: str
    box: Box
    time: float | None


@dataclass(frozen=True)
class Rollout:
    """A parsed completion.

    Attributes:
        think: the text inside ``<think>`` (``None`` when absent).
        answer: the text inside ``<answer>`` (``None`` when absent), stripped.
        times: every ``<t>`` of the think part, in order.
        boxes: every box of the think part, with its time (see the module docstring).
        well_formed: the whole completion is ``<think>…</think><answer>…</answer>`` and nothing else.
    """

    think: str | None
    answer: str | None
    times: tuple[float, ...]
    boxes: tuple[BoxClaim, ...]
    well_formed: bool

    @property
    def grounded(self) -> bool:
        """Well formed and the evidence names at least one time and one box."""
        return self.well_formed and bool(self.times) and bool(self.boxes)


def parse_rollout(text: str | None) -> Rollout:
    """Split a completion into evidence, answer and claims. Never raises."""
    text = text or ""
    think = _THINK.search(text)
    answer = _ANSWER.search(text)
    evidence = think.group(1) if think else ""
    times: list[float] = []
    pending: list[tuple[str, Box]] = []  # boxes of the current object still waiting for a following <t>
    boxes: list[BoxClaim] = []
    label = ""

    def flush(time: float | None) -> None:
        boxes.extend(BoxClaim(name, box, time) for name, box in pending)
        pending.clear()

    for match in TAG_EVENT.finditer(evidence):
        if match.group("obj") is not None:
            flush(times[-1] if times else None)
            label = match.group("obj").strip()
        elif match.group("box") is not None:
            found, _status = parse_boxes(match.group("box"))
            pending.extend((label, box) for box in found)
        else:
            value = parse_time(match.group("t"))
            if value is not None:
                times.append(value)
                flush(value)
    flush(times[-1] if times else None)
    return Rollout(
        think=think.group(1).strip() if think else None,
        answer=answer.group(1).strip() if answer else None,
        times=tuple(times),
        boxes=tuple(boxes),
        well_formed=bool(_FULL.fullmatch(text)),
    )


def format_level(rollout: Rollout) -> float:
    """1 for grounded evidence then an answer, 0.5 for ``<think>…</think><answer>…</answer>`` without
    grounding, 0 otherwise (Open-o3 Video's format reward)."""
    if rollout.grounded:
        return 1.0
    return 0.5 if rollout.well_formed else 0.0


def nearest_time_distance(time: float, key_times: Sequence[float]) -> float:
    """Seconds from ``time`` to the nearest annotated key-frame time (``inf`` without key times)."""
    return min((abs(time - key) for key in key_times), default=math.inf)


def box_to_unit(box: Sequence[float], scale: Sequence[float]) -> Box:
    """A box in a ``scale = (width, height)`` coordinate frame → fractions of the frame."""
    width, height = float(scale[0]), float(scale[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    return x1 / width, y1 / height, x2 / width, y2 / height


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``[x1, y1, x2, y2]`` boxes (0 for degenerate boxes)."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1) + max(0.0, bx2 - bx1) * max(0.0, by2 - by1) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class GroundingReference:
    """The annotation a row's claims are checked against.

    Attributes:
        key_times: seconds of the annotated key frames.
        key_boxes: per key frame, its annotated boxes in unit coordinates (``[]`` where it has none).
        box_scale: ``(width, height)`` of the coordinate frame the model writes boxes in (``None``: boxes are
            not scored, e.g. a backbone with no stated convention).
    """

    key_times: tuple[float, ...]
    key_boxes: tuple[tuple[Box, ...], ...] = ()
    box_scale: tuple[float, float] | None = None

    @classmethod
    def from_mapping(cls, value: Mapping | None) -> GroundingReference | None:
        """From the JSON form (``{"key_times", "key_boxes", "box_scale"}``); ``None`` for no key times."""
        if not value or not value.get("key_times"):
            return None
        boxes = tuple(tuple(tuple(float(v) for v in box) for box in frame) for frame in value.get("key_boxes") or ())
        scale = value.get("box_scale")
        return cls(tuple(float(t) for t in value["key_times"]), boxes, tuple(scale) if scale else None)

    def to_dict(self) -> dict:
        return {"key_times": list(self.key_times), "key_boxes": [[list(box) for box in frame] for frame in self.key_boxes],
                "box_scale": list(self.box_scale) if self.box_scale else None}  # fmt: skip

    @property
    def has_boxes(self) -> bool:
        return self.box_scale is not None and any(self.key_boxes)


def reference_boxes_near(time: float, reference: GroundingReference, tolerance: float = TIME_TOLERANCE_S) -> list[Box]:
    """The annotated boxes (unit) of every key frame within ``tolerance`` seconds (absolute) of ``time``."""
    return [
        box
        for key_time, frame_boxes in zip(reference.key_times, reference.key_boxes, strict=False)
        if abs(key_time - time) <= tolerance
        for box in frame_boxes
    ]


def grounding_counts(text: str | None, reference: GroundingReference) -> dict[str, int]:
    """Claim counts of one prediction at the fixed tolerances (the metric's unit; sum them over items).

    Temporal: ``time_claims`` / ``time_correct`` (within :data:`TIME_TOLERANCE_S` of a key time) and
    ``key_times`` / ``key_times_found`` (annotated times some claim lands near). Spatial (only when the
    reference has boxes and a ``box_scale``): ``box_claims`` (boxes with a time) / ``box_correct`` (IoU >=
    :data:`IOU_THRESHOLD` with a box of a key frame within the tolerance) and ``key_boxes`` /
    ``key_boxes_found``.
    """
    rollout = parse_rollout(text) if text and "<think>" in text else parse_rollout(f"<think>{text or ''}</think>")
    counts = {
        "time_claims": len(rollout.times),
        "time_correct": sum(nearest_time_distance(t, reference.key_times) <= TIME_TOLERANCE_S for t in rollout.times),
        "key_times": len(reference.key_times),
        "key_times_found": sum(
            any(abs(t - key) <= TIME_TOLERANCE_S for t in rollout.times) for key in reference.key_times
        ),
    }
    if not reference.has_boxes:
        return counts
    claims = [(claim.time, box_to_unit(claim.box, reference.box_scale)) for claim in rollout.boxes if claim.time is not None]
    counts["box_claims"] = len(claims)
    counts["box_correct"] = sum(
        any(box_iou(box, ref) >= IOU_THRESHOLD for ref in reference_boxes_near(time, reference)) for time, box in claims
    )
    pairs = [(t, box) for t, frame in zip(reference.key_times, reference.key_boxes, strict=False) for box in frame]
    counts["key_boxes"] = len(pairs)
    counts["key_boxes_found"] = sum(
        any(abs(time - t) <= TIME_TOLERANCE_S and box_iou(box, ref) >= IOU_THRESHOLD for time, box in claims)
        for t, ref in pairs
    )
    return counts


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _summary(counts: Iterable[dict[str, int]]) -> dict:
    total: dict[str, int] = {}
    items = 0
    for item in counts:
        items += 1
        for key, value in item.items():
            total[key] = total.get(key, 0) + value
    summary = {
        "items": items,
        "temporal": {
            "claims": total.get("time_claims", 0),
            "precision": _ratio(total.get("time_correct", 0), total.get("time_claims", 0)),
            "references": total.get("key_times", 0),
            "recall": _ratio(total.get("key_times_found", 0), total.get("key_times", 0)),
        },
    }
    if "key_boxes" in total:
        summary["spatial"] = {
            "claims": total["box_claims"],
            "precision": _ratio(total["box_correct"], total["box_claims"]),
            "references": total["key_boxes"],
            "recall": _ratio(total["key_boxes_found"], total["key_boxes"]),
        }
    return summary


def grounding_report(records: Iterable[Mapping]) -> dict:
    """Temporal and spatial grounding of predictions that carry evidence, per task and overall.

    Each record: ``evidence`` (or ``model_evidence``: the prediction's evidence text, tags included), ``task``,
    and ``grounding`` (the reference in :meth:`GroundingReference.to_dict` form). Records without a reference
    with key times (e.g. bench rows: the test set ships no key frames) or without evidence are counted in
    ``skipped``, not scored. Precision is over the claims made, recall over the annotated times/boxes; ``None``
    where there is nothing to divide by. Tolerances: :data:`TIME_TOLERANCE_S`, :data:`IOU_THRESHOLD`.
    """
    per_task: dict[str, list[dict[str, int]]] = {}
    scored: list[dict[str, int]] = []
    skipped = 0
    for record in records:
        reference = GroundingReference.from_mapping(record.get("grounding"))
        text = record.get("model_evidence") or record.get("evidence")
        if reference is None or not text:
            skipped += 1
            continue
        counts = grounding_counts(str(text), reference)
        scored.append(counts)
        per_task.setdefault(str(record.get("task") or "unknown"), []).append(counts)
    return {
        "tolerances": {"time_s": TIME_TOLERANCE_S, "iou": IOU_THRESHOLD},
        "overall": _summary(scored),
        "per_task": {task: _summary(counts) for task, counts in sorted(per_task.items())},
        "skipped": skipped,
    }
