"""The records that flow between construction stages.

One :class:`VideoRecord` per source video travels through the per-video stages; each stage returns a
new record with its own fields filled. Records are pydantic models so that the state store can save
them as JSON after every stage and a re-run can load them back exactly.

Stages written later (QA generation, CoT evidence, ...) store their outputs under
``record.artifacts[<stage name>]`` as JSON-serialisable values (e.g. ``[qa.model_dump() for qa in ...]``),
so adding a stage never needs a schema change here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
        video_id: stable id (file stem + content key, see :func:`~videoespresso_hf.pipeline.state.video_identity`).
        path: absolute path of the source video.
        fps / num_frames / duration / width / height: probed metadata (``frames`` stage).
        sampling: how frames were sampled (strategy and per-segment rates), for provenance.
        frames: sampled frames, in time order.
        groups: caption groups (``groups`` stage).
        artifacts: outputs of later stages keyed by stage name (JSON-serialisable).
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
    artifacts: dict[str, Any] = Field(default_factory=dict)
