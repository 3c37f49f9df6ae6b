"""The QA item that flows through construction part 2, and how it is stored on a :class:`VideoRecord`.

Each part-2 stage reads the items of the stage before it from ``record.artifacts[<previous>]`` and writes
``record.artifacts[<its name>] = {"items": [...], "dropped": [...]}``: ``items`` are the QA items still
alive after the stage (enriched with its output), ``dropped`` says for every item (or group) the stage let
go *why*: a filter rejection with its criterion, or a failure with the LLM's last error. Nothing
disappears without a row, and the export counts them for the run summary.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.pipeline.records import CaptionGroup, VideoRecord

__all__ = ["PART2_STAGES", "Dropped", "QAItem", "caption_id", "dropped_of", "items_of", "with_items"]

# Part-2 stage names in chain order (each stage's ``after`` is the one before it; the first follows "groups").
PART2_STAGES: tuple[str, ...] = ("qa_generation", "qa_filter", "cot_evidence", "grounding", "distractors")


def caption_id(video_id: str, frame_index: int) -> str:
    """Stable id of a frame caption: independent of grouping, so it survives a re-grouping."""
    return f"{video_id}/f{frame_index}"


class QAItem(BaseModel):
    """One QA pair and everything later stages attach to it.

    Attributes:
        qa_id: ``"{group_id}-q{k:02d}"``, stable across re-runs.
        group_id: the caption group it was generated from.
        question / answer / task: from QA generation.
        caption_numbers: 1-based positions in the group of the captions the pair relies on.
        provenance: per stage, the model id and prompt version that produced this item's fields.
        verdict: the QA filter's decision (``{"keep", "criterion", "reason"}``).
        cot: the CoT evidence answer (``CoTEvidence.model_dump()``).
        core_frames: after grounding: ``[{"position", "frame_index", "timestamp", "caption", "caption_id",
            "chosen_caption", "similarity", "path"}]`` in time order, one per distinct frame.
        key_objects: after grounding: ``[{"label", "frame_index", "boxes", "box_status", "checks"}]``.
        evidence / evidence_raw: plain and inline-tagged evidence (after grounding).
        split: ``"train"`` or ``"test"`` (set by the distractors stage).
        options / correct_answer / distractors: multiple-choice fields (test items).
    """

    model_config = ConfigDict(extra="forbid")

    qa_id: str
    group_id: str
    question: str
    answer: str
    task: str
    caption_numbers: list[int]
    provenance: dict[str, dict[str, Any]] = Field(default_factory=dict)
    verdict: dict[str, Any] | None = None
    cot: dict[str, Any] | None = None
    core_frames: list[dict[str, Any]] = Field(default_factory=list)
    key_objects: list[dict[str, Any]] = Field(default_factory=list)
    evidence: str = ""
    evidence_raw: str = ""
    split: Literal["train", "test"] | None = None
    options: list[str] = Field(default_factory=list)
    correct_answer: str = ""
    distractors: dict[str, Any] | None = None


class Dropped(BaseModel):
    """An item (or a whole group, for QA generation) a stage did not pass on, and why.

    Attributes:
        stage: the stage that dropped it.
        kind: ``"rejected"`` (a quality decision, e.g. the filter) or ``"failed"`` (the LLM answer was
            malformed or schema-violating after every retry, or otherwise unusable).
        criterion: the rejection criterion or failure category (e.g. ``"subjective"``, ``"llm_error"``).
        reason: one line.
    """

    model_config = ConfigDict(extra="forbid")

    stage: str
    kind: Literal["rejected", "failed"]
    qa_id: str | None = None
    group_id: str | None = None
    criterion: str
    reason: str


def items_of(record: VideoRecord, stage: str) -> list[QAItem]:
    """The items ``stage`` passed on (empty if it has not run on this record)."""
    artifact = record.artifacts.get(stage) or {}
    return [QAItem.model_validate(item) for item in artifact.get("items", [])]


def dropped_of(record: VideoRecord, stage: str) -> list[Dropped]:
    artifact = record.artifacts.get(stage) or {}
    return [Dropped.model_validate(row) for row in artifact.get("dropped", [])]


def with_items(
    record: VideoRecord, stage: str, items: list[QAItem], dropped: list[Dropped], **extra: Any
) -> VideoRecord:
    """A copy of ``record`` with ``artifacts[stage] = {"items", "dropped", **extra}`` (input untouched)."""
    artifact = {
        "items": [item.model_dump(mode="json") for item in items],
        "dropped": [row.model_dump(mode="json") for row in dropped],
        **extra,
    }
    return record.model_copy(update={"artifacts": {**record.artifacts, stage: artifact}})


def group_by_id(record: VideoRecord) -> dict[str, CaptionGroup]:
    return {group.group_id: group for group in record.groups}
