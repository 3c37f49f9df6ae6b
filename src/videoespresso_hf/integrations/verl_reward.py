"""VideoEspresso grounded rewards as ONE self-contained file, for RL engines that load a reward by path.

verl: ``custom_reward_function.path=…/verl_reward.py custom_reward_function.name=compute_score`` (optional
settings through ``custom_reward_function.reward_kwargs``: ``weights``, ``sigma``, ``time_tolerance``,
``box_scale``). EasyR1 (``worker.reward.reward_type=batch``):
``worker.reward.reward_function=…/verl_reward.py:compute_score_batch``; its ``ground_truth`` is the export's
``answer`` column, a JSON object holding the answer and the labels. ms-swift: the
classes at the end are plain callables with its ORM signature (``completions, solution, **columns``);
``register_swift()`` registers them when ms-swift is installed. Standard library only: nothing here imports
``videoespresso_hf``, so the file works copied next to the data (``videoespresso data export`` does that).

The rollout format (one pass, grounded evidence then the answer)::

    <think>The <obj_start>cup<obj_end><box_start>[120,80,340,400]<box_end> at <t>12.5</t>s falls …</think>
    <answer>B</answer>

Rewards, each in 0–1, ``None`` when the row has nothing to score it against (never 0 for missing labels):

* ``answer``: multiple choice (``extra_info["options"]`` non-empty; without that key, a ground truth that is one
  option letter A–J, so a free-form "5" stays free form): 1 when the ``<answer>`` starts with the correct option
  letter (``B``, ``(B)``, ``B.``); free-form: ROUGE-L F1 of the answer text with the reference (Video-R1's choice).
* ``format``: 1 for ``<think>…</think><answer>…</answer>`` (nothing else) whose evidence names a time and a
  box, 0.5 for think + answer without them, 0 otherwise (Open-o3 Video's rule).
* ``temporal``: mean over the claimed times of ``exp(-d² / 2σ²)``, d = distance (s) to the nearest annotated
  key-frame time; σ = ``sigma`` (default 1 s: the final value of Open-o3 Video's shrinking schedule, which needs
  a training step this signature does not get); 0 when no time is claimed; None without annotated times.
A box takes the ``<t>`` that follows it (before the next object), else the last ``<t>`` before it.

* ``spatial``: for every claimed box whose claimed time is within ``time_tolerance`` (1 s, absolute) of an
  annotated key-frame time, the best IoU with the row's annotated boxes; averaged over those claims (0 when
  there is none); None without annotated boxes or times. Claimed boxes are read on a ``box_scale`` grid
  (default 1000: Qwen3-VL's 0–1000; annotated boxes come as 0–1 corners of the key-frame image, because the
  release ties boxes to objects, not to one key frame, every annotated box of the row counts).

``score`` = the weighted sum of the rewards that are not None (weights default to 1 each, as Open-o3 Video).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DEFAULT_WEIGHTS",
    "answer_reward",
    "box_iou",
    "compute_score",
    "compute_score_batch",
    "format_reward",
    "parse_boxes",
    "parse_rollout",
    "reward_components",
    "rouge_l",
    "spatial_reward",
    "temporal_reward",
]

DEFAULT_WEIGHTS = {"answer": 1.0, "format": 1.0, "temporal": 1.0, "spatial": 1.0}
REWARD_NAMES = tuple(DEFAULT_WEIGHTS)

_THINK = re.compile(r"<think>(.*?)</think>", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_FULL = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)
_EVENT = re.compile(
    r"<obj_start>(?P<obj>[^<]*)<obj_end>|<box_start>(?P<box>[^<]*)<box_end>|<t>\s*(?P<t>-?\d+(?:\.\d+)?)\s*</t>"
)
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_BOX = re.compile(rf"\[{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}\]")
_LETTER = re.compile(r"^\(?([A-J])\)?(?:[.:)\s]|$)")
_CHOICE = re.compile(r"\(?[A-J]\)?")
_WORD = re.compile(r"\w+")


def parse_boxes(content: str) -> list[tuple[float, ...]]:
    """The boxes of a ``<box_start>…<box_end>`` content, read as ``videoespresso_hf.evidence_tags.parse_boxes``
    reads them (a stdlib copy; a test keeps the two equal): ``[x1, y1, x2, y2]`` or ``[[…], […]]`` of finite
    numbers, empty items skipped; malformed content (``[[…], [5, 6]]``, ``[…] or so``) gives no box at all."""
    content = content.strip()
    simple = _BOX.fullmatch(content)
    if simple:
        return [tuple(map(float, simple.groups()))]
    try:
        value = json.loads(content)
    except ValueError:
        return []
    if isinstance(value, list) and value and all(not isinstance(item, list) for item in value):
        value = [value]
    if not isinstance(value, list):
        return []
    boxes = []
    for item in value:
        if item == []:
            continue
        if not (isinstance(item, list) and len(item) == 4
                and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in item)):
            return []
        boxes.append(tuple(float(v) for v in item))
    return boxes


def parse_rollout(text: str | None) -> dict[str, Any]:
    """``{"think", "answer", "times", "claims", "well_formed"}`` of a completion. Never raises.

    ``think`` / ``answer`` are None when their tags are missing; ``times`` every ``<t>`` of the think part;
    ``claims`` every box ``(label, (x1, y1, x2, y2), time)``: a box takes the ``<t>`` that follows it before the
    next object, else the last ``<t>`` before it (None without any); ``[[…], […]]`` gives several boxes.
    """
    text = text or ""
    think, answer = _THINK.search(text), _ANSWER.search(text)
    times: list[float] = []
    pending: list[tuple[str, tuple[float, ...]]] = []
    claims: list[tuple[str, tuple[float, ...], float | None]] = []
    label = ""

    def flush(time: float | None) -> None:
        claims.extend((name, box, time) for name, box in pending)
        pending.clear()

    for match in _EVENT.finditer(think.group(1) if think else ""):
        if match.group("obj") is not None:
            flush(times[-1] if times else None)
            label = match.group("obj").strip()
        elif match.group("box") is not None:
            pending.extend((label, box) for box in parse_boxes(match.group("box")))
        else:
            value = float(match.group("t"))
            if math.isfinite(value):
                times.append(value)
                flush(value)
    flush(times[-1] if times else None)
    return {"think": think.group(1).strip() if think else None, "answer": answer.group(1).strip() if answer else None,
            "times": times, "claims": claims, "well_formed": bool(_FULL.fullmatch(text))}  # fmt: skip


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 over lower-cased word tokens (longest common subsequence)."""
    a, b = _WORD.findall(candidate.lower()), _WORD.findall(reference.lower())
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for token in a:
        current = [0]
        for j, other in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if token == other else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def answer_reward(answer: str | None, ground_truth: str, multiple_choice: bool) -> float | None:
    """1/0 on the option letter the answer starts with (multiple choice), ROUGE-L F1 (free form); 0 without an
    ``<answer>``; None without a reference."""
    if not ground_truth:
        return None
    if answer is None:
        return 0.0
    if multiple_choice:
        letter = _LETTER.match(answer.strip())
        return float(bool(letter) and letter.group(1) == ground_truth.strip().strip("()").upper())
    return rouge_l(answer, ground_truth)


def format_reward(parsed: Mapping[str, Any]) -> float:
    """1 for a well-formed completion whose evidence names a time and a box, 0.5 well formed only, 0 otherwise."""
    if not parsed["well_formed"]:
        return 0.0
    return 1.0 if parsed["times"] and parsed["claims"] else 0.5


def temporal_reward(times: Sequence[float], keyframe_times: Sequence[float], sigma: float = 1.0) -> float | None:
    """Mean ``exp(-d²/2σ²)`` of the claimed times to the nearest key-frame time; None without key-frame times."""
    if not keyframe_times:
        return None
    if not times:
        return 0.0
    scores = [math.exp(-(min(abs(t - k) for k in keyframe_times) ** 2) / (2 * sigma**2)) for t in times]
    return sum(scores) / len(scores)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two ``(x1, y1, x2, y2)`` boxes (0 for degenerate ones)."""
    ax1, ay1, ax2, ay2 = a
    bx1, by1, bx2, by2 = b
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = max(0.0, ax2 - ax1) * max(0.0, ay2 - ay1) + max(0.0, bx2 - bx1) * max(0.0, by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def spatial_reward(
    claims: Sequence[tuple[str, Sequence[float], float | None]],
    keyframe_times: Sequence[float],
    boxes: Sequence[Sequence[float]],
    *,
    time_tolerance: float = 1.0,
    box_scale: float = 1000.0,
) -> float | None:
    """Mean best IoU of the claims made within ``time_tolerance`` s of a key frame; None without boxes or times.

    ``boxes`` are 0–1 corners; a claim's box is divided by ``box_scale`` first.
    """
    if not boxes or not keyframe_times:
        return None
    scored = []
    for _, box, time in claims:
        if time is None or min(abs(time - k) for k in keyframe_times) > time_tolerance:
            continue
        claimed = [value / box_scale for value in box]
        scored.append(max(box_iou(claimed, reference) for reference in boxes))
    return sum(scored) / len(scored) if scored else 0.0


def _extra(extra_info: Any) -> dict[str, Any]:
    if isinstance(extra_info, str):
        try:
            extra_info = json.loads(extra_info)
        except ValueError:
            return {}
    return dict(extra_info) if isinstance(extra_info, Mapping) else {}


def _floats(values: Any) -> list[float]:
    return [float(v) for v in (values if values is not None else []) if v is not None]


def _unpack(ground_truth: Any, extra: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """EasyR1 carries the labels inside the answer column: ``{"answer": …, "keyframe_times": …}`` as JSON."""
    value = ground_truth
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return ground_truth, extra
    if isinstance(value, Mapping) and "answer" in value:
        return str(value["answer"]), {**{k: v for k, v in value.items() if k != "answer"}, **extra}
    return str(ground_truth), extra


def reward_components(
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | str | None = None,
    *,
    sigma: float = 1.0,
    time_tolerance: float = 1.0,
    box_scale: float = 1000.0,
) -> dict[str, float | None]:
    """The four rewards of one completion (None where the row has no label for it)."""
    ground_truth, extra = _unpack(ground_truth, _extra(extra_info))
    parsed = parse_rollout(solution_str)
    options = extra.get("options")
    if options is not None:  # the export always writes them ([] for a free-form row): the row says what it is
        multiple_choice = len(options) > 0
    else:  # a caller without the export's columns: a bare option letter is multiple choice ("5" is not)
        multiple_choice = bool(_CHOICE.fullmatch(str(ground_truth).strip()))
    keyframe_times = _floats(extra.get("keyframe_times"))
    boxes = [list(map(float, item["box"] if isinstance(item, Mapping) else item)) for item in extra.get("boxes") or []]
    return {
        "answer": answer_reward(parsed["answer"], str(ground_truth), multiple_choice),
        "format": format_reward(parsed),
        "temporal": temporal_reward(parsed["times"], keyframe_times, sigma),
        "spatial": spatial_reward(
            parsed["claims"], keyframe_times, boxes, time_tolerance=time_tolerance, box_scale=box_scale
        ),
    }


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: str,
    extra_info: Mapping[str, Any] | None = None,
    *,
    weights: Mapping[str, float] | None = None,
    sigma: float = 1.0,
    time_tolerance: float = 1.0,
    box_scale: float = 1000.0,
    **_: Any,
) -> dict[str, float]:
    """verl's reward signature. Returns ``{"score", "answer", "format", "temporal", "spatial", "<name>_scored"}``.

    A reward with no label for the row counts 0 in its key and 0 in ``<name>_scored`` (and nothing in
    ``score``), so every value stays a number for verl's metric means.
    """
    components = reward_components(solution_str, ground_truth, extra_info, sigma=sigma,
                                   time_tolerance=time_tolerance, box_scale=box_scale)  # fmt: skip
    weights = {**DEFAULT_WEIGHTS, **(weights or {})}
    result: dict[str, float] = {"score": sum(weights[name] * value for name, value in components.items() if value is not None)}
    for name, value in components.items():
        result[name] = 0.0 if value is None else float(value)
        result[f"{name}_scored"] = 0.0 if value is None else 1.0
    return result


def compute_score_batch(reward_inputs: Sequence[Mapping[str, Any]], **kwargs: Any) -> list[dict[str, float]]:
    """EasyR1's batch form: each input has ``response`` and ``ground_truth`` (plus optional ``extra_info``)."""
    return [
        {"overall": (scores := compute_score("videoespresso", item["response"], item["ground_truth"],
                                             item.get("extra_info"), **kwargs))["score"], **scores}
        for item in reward_inputs
    ]  # fmt: skip


class _SwiftReward:
    """An ms-swift ORM-style callable: ``(completions, solution, **columns) -> list[float | None]``."""

    name = ""

    def __init__(self, **settings: Any):
        self.settings = settings

    def __call__(self, completions: Sequence[Any], solution: Sequence[str], **columns: Any) -> list[float | None]:
        out = []
        for i, completion in enumerate(completions):
            text = completion if isinstance(completion, str) else completion[-1]["content"]
            extra = {key: values[i] for key, values in columns.items() if isinstance(values, list | tuple) and len(values) > i}
            out.append(reward_components(text, solution[i], extra, **self.settings)[self.name])
        return out


class AnswerReward(_SwiftReward):
    name = "answer"


class FormatReward(_SwiftReward):
    name = "format"


class TemporalReward(_SwiftReward):
    name = "temporal"


class SpatialReward(_SwiftReward):
    name = "spatial"


def register_swift() -> None:
    """Register the four rewards with ms-swift (``--reward_funcs videoespresso_answer …``); needs ms-swift."""
    from swift.plugin import orms  # only where ms-swift is installed

    for cls in (AnswerReward, FormatReward, TemporalReward, SpatialReward):
        orms[f"videoespresso_{cls.name}"] = cls
