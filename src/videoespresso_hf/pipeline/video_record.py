"""What the construction pipeline knows about one video: its frames, their captions and caption groups.

One :class:`VideoRecord` per source video travels through the frame stages (sampling, captioning,
redundancy removal, grouping); each stage returns a new record with its own fields filled. Records are
pydantic models so that the state store can save them as JSON after every stage and a re-run can load
them back exactly. The QA stages wrap it in a :class:`~videoespresso_hf.pipeline.stages.qa_items.QARecord`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FrameRecord(BaseModel):
    """One sampled frame of a video.

    Attributes:
        index: frame index in the decoded source video (0-based).
        timestamp: presentation time in seconds.
        segment: index of the sampling segment (shot) the frame was sampled from, if known.
        caption: the frame's caption (set by the ``captions`` stage).
        kept: whether redundancy removal kept the frame (set by the ``dedup`` stage).
        similarity: cosine similarity to the last kept frame before it (``dedup``; None for the first).
    """

    model_config = ConfigDict(extra="forbid")

    index: int
    timestamp: float
    segment: int | None = None
    caption: str | None = None
    kept: bool | None = None
    similarity: float | None = None


class CaptionGroup(BaseModel):
    """Consecutive kept captions of one video: the input of QA generation (paper §1.5).

    Attributes:
        group_id: ``"{video_id}-g{k:04d}"``, stable across re-runs with the same config.
        video_id / video_path: the source video.
        position: 0-based position of the group within its video.
        frame_indices / timestamps / captions: parallel lists, one entry per kept frame, in time order.
    """

    model_config = ConfigDict(extra="forbid")

    group_id: str
    video_id: str
    video_path: str
    position: int
    frame_indices: list[int]
    timestamps: list[float]
    captions: list[str]


class VideoRecord(BaseModel):
    """Everything the pipeline knows about one video, growing stage by stage.

    Attributes:
        video_id: stable id (file stem + content key, see :func:`~videoespresso_hf.video.video_identity`).
        path: absolute path of the source video.
        fps / num_frames / duration / width / height: probed metadata (``frames`` stage).
        sampling: how frames were sampled (strategy and per-segment rates), for provenance.
        frames: sampled frames, in time order.
        groups: caption groups (``groups`` stage).
    """

    model_config = ConfigDict(extra="forbid")

    video_id: str
    path: str
    fps: float | None = None
    num_frames: int | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    frames: list[FrameRecord] = Field(default_factory=list)
    groups: list[CaptionGroup] = Field(default_factory=list)

    def frame_rows(self) -> Iterator[dict[str, Any]]:
        """One ``frames.jsonl`` row per sampled frame: the video's id and path, then the frame's fields."""
        for frame in self.frames:
            yield {"video_id": self.video_id, "video_path": self.path, **frame.model_dump()}

    @model_validator(mode="before")
    @classmethod
    def _drop_empty_artifacts(cls, data: Any) -> Any:
        # Builds written before the QA stages had typed records saved an empty ``artifacts`` dict here.
        if isinstance(data, dict) and "artifacts" in data and not data["artifacts"]:
            data = {key: value for key, value in data.items() if key != "artifacts"}
        return data
