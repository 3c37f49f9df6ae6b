"""The QA items that flow through the QA stages, and the record that carries them from stage to stage.

The first QA stage turns a :class:`~videoespresso_hf.pipeline.video_record.VideoRecord` (with its caption
groups) into a :class:`QARecord`; every later QA stage takes the one its upstream stage returned and
returns a new one (:meth:`QARecord.advance`): ``items`` are the QA items still alive after the stage
(enriched with its output), ``dropped`` says for every item (or group) a stage let go *why*: a filter
rejection with its criterion, or a failure with the LLM's last error. Nothing disappears without a row,
and the export counts them for the run summary.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoespresso_hf.pipeline.stages.answer_models import CoTEvidence
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord

__all__ = ["CoreFrame", "Dropped", "GroundedObject", "QAItem", "QARecord", "caption_id", "group_by_id"]


def caption_id(video_id: str, frame_index: int) -> str:
    """Stable id of a frame caption: independent of grouping, so it survives a re-grouping."""
    return f"{video_id}/f{frame_index}"


class CoreFrame(BaseModel):
    """A frame the CoT evidence rests on, placed by temporal grounding (an item keeps them in time order).

    Attributes:
        position: the frame's place in its caption group.
        frame_index / timestamp: where it is in the video.
        caption / caption_id: the group caption of that frame and its stable id.
        chosen_caption: the core caption the evidence model wrote, which grounding matched to ``caption``.
        similarity: the embedding similarity of that match.
        path: the frame JPEG, relative to ``OUT/generated``.
    """

    model_config = ConfigDict(extra="forbid")

    position: int
    frame_index: int
    timestamp: float
    caption: str
    caption_id: str
    chosen_caption: str
    similarity: float
    path: str


class GroundedObject(BaseModel):
    """A key object of the evidence, placed on the frame of its core caption, boxed by spatial grounding.

    Attributes:
        label: the object as the evidence names it.
        frame_index: the frame it was detected on.
        boxes: kept pixel boxes ``[x1, y1, x2, y2]``.
        box_status: ``"ok"`` (at least one box kept) or ``"empty"``.
        checks: every candidate box with its verdict (``BoxCheck.to_dict()`` rows, dropped ones included).
    """

    model_config = ConfigDict(extra="forbid")

    label: str
    frame_index: int
    boxes: list[list[float]] = Field(default_factory=list)
    box_status: str = "empty"
    checks: list[dict[str, Any]] = Field(default_factory=list)


class QAItem(BaseModel):
    """One QA pair and everything later stages attach to it.

    Attributes:
        qa_id: ``"{group_id}-q{k:02d}"``, stable across re-runs.
        group_id: the caption group it was generated from.
        question / answer / task: from QA generation.
        caption_numbers: 1-based positions in the group of the captions the pair relies on.
        provenance: per stage, the model id and prompt version that produced this item's fields.
        verdict: the QA filter's decision (``{"keep", "criterion", "reason"}``).
        cot: the CoT evidence answer (typed; stored as its JSON, as earlier builds stored it).
        core_frames: after grounding: the :class:`CoreFrame` s in time order, one per distinct frame.
        key_objects: after grounding: the :class:`GroundedObject` s.
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
    cot: CoTEvidence | None = None
    core_frames: list[CoreFrame] = Field(default_factory=list)
    key_objects: list[GroundedObject] = Field(default_factory=list)
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


class QARecord(BaseModel):
    """One video's QA items between two QA stages.

    Attributes:
        video: the video, its frames and caption groups (what the items were written from).
        items: the QA items the last stage passed on.
        dropped: every item or group a QA stage let go so far, in stage order.
        tally: counts for the dataset manifest's ``qa`` section, set by the stages that declare
            ``tally_as`` (e.g. ``{"generated": 6, "kept_by_filter": 4}``).
        split: ``"train"`` or ``"test"`` once the split was assigned.
    """

    model_config = ConfigDict(extra="forbid")

    video: VideoRecord
    items: list[QAItem] = Field(default_factory=list)
    dropped: list[Dropped] = Field(default_factory=list)
    tally: dict[str, int] = Field(default_factory=dict)
    split: Literal["train", "test"] | None = None

    def advance(
        self, items: list[QAItem], dropped: list[Dropped], *, tally_as: str | None = None, **update: Any
    ) -> QARecord:
        """A copy with the items a stage passed on, its dropped rows appended (the input is untouched)."""
        tally = {**self.tally, tally_as: len(items)} if tally_as else self.tally
        return self.model_copy(
            update={"items": items, "dropped": [*self.dropped, *dropped], "tally": tally, **update}
        )

    @model_validator(mode="before")
    @classmethod
    def _from_artifacts(cls, data: Any) -> Any:
        """Read what builds before typed QA records stored: a video record whose ``artifacts`` held, per
        QA stage in chain order, ``{"items", "dropped", ...}`` (the distractor stage's with ``split``)."""
        if not isinstance(data, dict) or "artifacts" not in data:
            return data
        video = {key: value for key, value in data.items() if key != "artifacts"}
        outputs = dict(data["artifacts"])
        last = list(outputs.values())[-1] if outputs else {}
        counted = {"generated": "qa_generation", "kept_by_filter": "qa_filter"}  # the manifest's names then
        return {
            "video": video,
            "items": last.get("items", []),
            "dropped": [row for output in outputs.values() for row in output.get("dropped", [])],
            "tally": {
                name: len(outputs[stage]["items"]) for name, stage in counted.items() if stage in outputs
            },
            "split": last.get("split"),
        }


def group_by_id(record: VideoRecord) -> dict[str, CaptionGroup]:
    return {group.group_id: group for group in record.groups}
