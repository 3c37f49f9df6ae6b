"""Pydantic models of the structured LLM answers of the QA stages (QA → filter → CoT → distractors).

Each model is sent as the OpenAI ``response_format`` JSON schema (strict mode, so: every field required,
no defaults, no numeric/length constraints in the schema) and the answer is validated against it by
:class:`~videoespresso_hf.llm.LLMClient`. Rules that a JSON schema cannot say (non-empty text, a
rejection must name its criterion, ...) are pydantic validators: an answer breaking them is a *schema
violation*, asked again and finally recorded as a failure by the client, never silently accepted.

The class names double as the ``json_schema.name`` of the request, which is how the test server tells
the prompts apart.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from videoespresso_hf.tasks import LEADERBOARD_TASKS

__all__ = [
    "REJECTION_CRITERIA",
    "CoTEvidence",
    "DistractorCandidates",
    "EvidenceObject",
    "GeneratedQA",
    "QAFilterVerdicts",
    "QAPairs",
    "QAVerdict",
    "TaskName",
]

# The 14 leaderboard task names, as a JSON-schema enum.
TaskName = Literal[LEADERBOARD_TASKS]  # type: ignore[valid-type]

# Filter criteria (paper §1.7 / Fig. 8) a rejected pair must name; "none" for a kept pair.
REJECTION_CRITERIA: tuple[str, ...] = (
    "hallucination",  # not supported by the captions
    "factual_error",  # contradicts the captions
    "subjective",  # opinion, taste, speculation
    "open_ended",  # no single checkable answer
    "narrative_inconsistency",  # breaks the order/continuity of events
    "single_frame",  # answerable from one caption: no multi-frame reasoning
)
Criterion = Literal["none", *REJECTION_CRITERIA]  # type: ignore[valid-type]


_TAG = re.compile(r"<(obj|box)_(start|end)>")


def _non_empty(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- QA generation (Fig. 7)


class GeneratedQA(_Answer):
    """One QA pair written from a caption group.

    Attributes:
        question / answer: the pair; the answer is a free-form reference answer.
        task: one of the 14 task types.
        caption_numbers: the numbers (as shown in the prompt, 1-based) of the captions the pair relies on;
            at least two different ones, because every question must need multi-frame reasoning. Checked
            per pair by the stage (against the group's size), so one bad pair does not void the others.
    """

    question: str
    answer: str
    task: TaskName
    caption_numbers: list[int]

    @field_validator("question", "answer")
    @classmethod
    def _text(cls, value: str, info) -> str:
        return _non_empty(value, info.field_name)


class QAPairs(_Answer):
    """The QA generation answer: several pairs for one caption group."""

    pairs: list[GeneratedQA]

    @field_validator("pairs")
    @classmethod
    def _some(cls, value: list[GeneratedQA]) -> list[GeneratedQA]:
        if not value:
            raise ValueError("at least one QA pair is required")
        return value


# ---------------------------------------------------------------- QA filter (Fig. 8)


class QAVerdict(_Answer):
    """The filter's decision on one pair.

    Attributes:
        pair_number: the pair's number in the prompt (1-based).
        keep: whether the pair passes every criterion.
        criterion: the violated criterion for a rejected pair, ``"none"`` for a kept one.
        reason: one sentence explaining the decision (required for rejections).
    """

    pair_number: int
    keep: bool
    criterion: Criterion
    reason: str

    @model_validator(mode="after")
    def _consistent(self) -> QAVerdict:
        if self.keep and self.criterion != "none":
            raise ValueError("a kept pair must have criterion 'none'")
        if not self.keep:
            if self.criterion == "none":
                raise ValueError("a rejected pair must name the violated criterion")
            _non_empty(self.reason, "reason of a rejection")
        return self


class QAFilterVerdicts(_Answer):
    """The QA filter answer: one verdict per pair of the group."""

    verdicts: list[QAVerdict]


# ---------------------------------------------------------------- CoT evidence (Fig. 9)


class EvidenceObject(_Answer):
    """A key object of the evidence.

    Attributes:
        label: a short, concrete, visible noun phrase (what a detector can box), written exactly as it
            appears in ``evidence``.
        core_caption: 1-based position in ``core_captions`` of the caption (hence frame) that shows it.
    """

    label: str
    core_caption: int

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        value = _non_empty(value, "label")
        if "<" in value or ">" in value:
            raise ValueError("a label must not contain tags")
        return value


class CoTEvidence(_Answer):
    """The CoT evidence answer for one kept QA pair.

    Attributes:
        core_captions: the captions most relevant to the question, in time order (may be paraphrased;
            temporal grounding maps them back to frames by embedding similarity).
        key_objects: the objects the reasoning hinges on.
        evidence: the reasoning chain linking the key objects to the answer; every key object label
            appears in it verbatim (case-insensitive), so it can be tagged inline.
    """

    core_captions: list[str]
    key_objects: list[EvidenceObject]
    evidence: str

    @model_validator(mode="after")
    def _consistent(self) -> CoTEvidence:
        self.core_captions = [c.strip() for c in self.core_captions]
        if not self.core_captions or not all(self.core_captions):
            raise ValueError("core_captions must be non-empty captions")
        _non_empty(self.evidence, "evidence")
        if _TAG.search(self.evidence):
            raise ValueError("the evidence must be plain text (no <obj_start>/<box_start> tags)")
        if not self.key_objects:
            raise ValueError("at least one key object is required")
        lowered = self.evidence.lower()
        for obj in self.key_objects:
            if not 1 <= obj.core_caption <= len(self.core_captions):
                raise ValueError(
                    f"key object {obj.label!r} refers to core caption {obj.core_caption}, "
                    f"but there are {len(self.core_captions)}"
                )
            if obj.label.lower() not in lowered:
                raise ValueError(f"key object {obj.label!r} does not appear in the evidence text")
        return self


# ---------------------------------------------------------------- distractors (test split)


class DistractorCandidates(_Answer):
    """Candidate wrong answers for a multiple-choice item (more than three; the length rule picks three)."""

    distractors: list[str]

    @field_validator("distractors")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        cleaned = [d.strip() for d in value if d.strip()]
        if len({d.lower() for d in cleaned}) < 3:
            raise ValueError("at least three different non-empty distractors are required")
        return cleaned
