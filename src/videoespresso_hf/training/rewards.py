"""The GRPO rewards of the one-pass grounded rollout, as pure functions with trl's reward signature.

Each is ``f(prompts, completions, **columns) -> list[float | None]`` (trl passes every dataset column as a keyword,
plus ``trainer_state``); trl logs each as ``rewards/<function name>/mean``. ``None`` means "this row cannot be
judged by this reward" (no key times, no boxes): trl leaves it out of the sum and the mean, so a row without
annotation is never punished with a 0. The rollout format and the matching primitives (tag parsing, time
distance, IoU) live in :mod:`videoespresso_hf.evaluation.grounding`, shared with the grounding metrics.

Columns read (written by :mod:`videoespresso_hf.training.grpo` for every row):

* ``reference_answer``: the correct option letter for multiple choice, else the reference answer text;
* ``multiple_choice``: whether the row has options;
* ``grounding``: ``{"key_times", "key_boxes", "box_scale"}`` (:class:`GroundingReference` form) or ``None``.

Rewards (Open-o3 Video's set, summed with the weights of ``--reward-weights``, equal by default):

* :func:`answer`: multiple choice: 1 when the ``<answer>`` names exactly the correct letter, else 0;
  free-form: ROUGE-L F1 (word LCS) of the ``<answer>`` against the reference answer (Video-R1's choice; the
  paper's Algorithm 1 needs an LLM judge, too slow per rollout).
* :func:`format`: 1 grounded evidence then an answer, 0.5 ``<think>…</think><answer>…</answer>`` only, 0 otherwise.
* :func:`temporal`: mean over claimed times of ``exp(-d² / 2σ²)``, ``d`` the distance to the nearest key-frame
  time, with Open-o3 Video's shrinking schedule ``σ = 4(1 - p)`` while ``p = step / max_steps < 0.75``, then
  ``σ = 1``; 0 for a completion that claims no time; ``None`` for a row without key times.
* :func:`spatial`: over box claims whose time is within 1 s (absolute difference) of a key frame with boxes, the
  mean of each claim's max IoU with that frame's boxes (unit coordinates, see :func:`box_to_unit`); 0 when no
  claim qualifies; ``None`` for a row without boxes or without a box convention.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from videoespresso_hf.evaluation.grounding import (
    TIME_TOLERANCE_S,
    GroundingReference,
    box_iou,
    box_to_unit,
    format_level,
    nearest_time_distance,
    parse_rollout,
    reference_boxes_near,
)

__all__ = [
    "REWARD_FUNCTIONS",
    "REWARD_NAMES",
    "answer",
    "completion_text",
    "format",
    "rouge_l",
    "spatial",
    "temporal",
    "temporal_sigma",
]

_LETTER = re.compile(r"^\(?([A-J])\)?(?:[.:)\s]|$)")
_WORD = re.compile(r"\w+")


def completion_text(completion: Any) -> str:
    """The text of one completion as trl passes it (a string, or conversational ``[{"role", "content"}]``)."""
    if isinstance(completion, str):
        return completion
    parts = []
    for message in completion or []:
        content = message.get("content", "")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(part.get("text", "") for part in content if part.get("type") == "text")
    return "".join(parts)


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of lower-cased word sequences (longest common subsequence)."""
    a, b = _WORD.findall(candidate.lower()), _WORD.findall(reference.lower())
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if word == other else max(previous[j], current[-1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def _reference(value: Any) -> GroundingReference | None:
    if isinstance(value, GroundingReference):
        return value
    return GroundingReference.from_mapping(value if isinstance(value, Mapping) else None)


def answer(prompts: Sequence, completions: Sequence, reference_answer: Sequence[str], multiple_choice: Sequence[bool],
           **_: Any) -> list[float | None]:  # fmt: skip
    """Exact option letter (multiple choice) or ROUGE-L F1 (free form) of the ``<answer>`` part."""
    rewards: list[float | None] = []
    for completion, reference, choice in zip(completions, reference_answer, multiple_choice, strict=True):
        given = parse_rollout(completion_text(completion)).answer
        if not reference:
            rewards.append(None)
        elif given is None:
            rewards.append(0.0)
        elif choice:
            letter = _LETTER.match(given.strip())
            rewards.append(float(bool(letter) and letter.group(1) == reference.strip().strip("()").upper()))
        else:
            rewards.append(rouge_l(given, reference))
    return rewards


def format(prompts: Sequence, completions: Sequence, **_: Any) -> list[float | None]:  # the name trl logs
    """1 grounded evidence then an answer, 0.5 think + answer without grounding, 0 otherwise."""
    return [format_level(parse_rollout(completion_text(completion))) for completion in completions]


def temporal_sigma(trainer_state: Any = None) -> float:
    """Open-o3 Video's schedule: ``4(1 - p)`` while ``p = step / max_steps < 0.75``, then 1 (also without a state)."""
    step = getattr(trainer_state, "global_step", None)
    total = getattr(trainer_state, "max_steps", None)
    if step is None or not total:
        return 1.0
    progress = step / total
    return 4.0 * (1.0 - progress) if progress < 0.75 else 1.0


def temporal(prompts: Sequence, completions: Sequence, grounding: Sequence, trainer_state: Any = None,
             **_: Any) -> list[float | None]:  # fmt: skip
    """Mean Gaussian closeness of the claimed times to the nearest key-frame time (schedule: :func:`temporal_sigma`)."""
    sigma = temporal_sigma(trainer_state)
    rewards: list[float | None] = []
    for completion, value in zip(completions, grounding, strict=True):
        reference = _reference(value)
        if reference is None:
            rewards.append(None)
            continue
        times = parse_rollout(completion_text(completion)).times
        closeness = [math.exp(-(nearest_time_distance(t, reference.key_times) ** 2) / (2 * sigma**2)) for t in times]
        rewards.append(sum(closeness) / len(closeness) if closeness else 0.0)
    return rewards


def spatial(prompts: Sequence, completions: Sequence, grounding: Sequence, **_: Any) -> list[float | None]:
    """Mean over timed box claims near a key frame (within 1 s) of the max IoU with that frame's boxes."""
    rewards: list[float | None] = []
    for completion, value in zip(completions, grounding, strict=True):
        reference = _reference(value)
        if reference is None or not reference.has_boxes:
            rewards.append(None)
            continue
        scores = []
        for claim in parse_rollout(completion_text(completion)).boxes:
            if claim.time is None:
                continue
            near = reference_boxes_near(claim.time, reference, TIME_TOLERANCE_S)
            if near:
                box = box_to_unit(claim.box, reference.box_scale)
                scores.append(max(box_iou(box, ref) for ref in near))
        rewards.append(sum(scores) / len(scores) if scores else 0.0)
    return rewards


# The order of --reward-weights.
REWARD_FUNCTIONS = (answer, format, temporal, spatial)
REWARD_NAMES: tuple[str, ...] = tuple(function.__name__ for function in REWARD_FUNCTIONS)
