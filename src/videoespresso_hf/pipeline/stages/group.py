"""Stage ``groups``: consecutive kept captions in groups of ``groups.size`` (paper §1.5), the QA input."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.pipeline.grouping import group_consecutive
from videoespresso_hf.pipeline.stages.base import Stage, StageContext, StageError
from videoespresso_hf.pipeline.video_record import CaptionGroup, VideoRecord


class GroupConfig(BaseModel):
    """Grouping of kept captions (paper §1.5: 15 consecutive captions per group, no overlap).

    Attributes:
        size: captions per group.
        min_size: a trailing group shorter than this is merged into the previous group (1 keeps it as is).
    """

    model_config = ConfigDict(extra="forbid")

    size: int = Field(default=15, ge=1)
    min_size: int = Field(default=1, ge=1)


class GroupStage(Stage):
    name = "groups"
    version = "1"
    fan_out = False  # slicing a list: handing it to a worker process would cost more than the work
    output_file = "groups.jsonl"  # one CaptionGroup per line: the input of QA generation

    def summary_counts(self, record: VideoRecord) -> dict[str, int]:
        return {"groups": len(record.groups)}

    def output_rows(self, record: VideoRecord) -> Iterable[dict[str, Any]]:
        return (group.model_dump() for group in record.groups)

    def config_slice(self, config) -> dict[str, Any]:
        return config.groups.model_dump()

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        kept = [frame for frame in record.frames if frame.kept]
        if not kept:
            raise StageError(f"{record.path}: no kept frames to group")
        settings = ctx.config.groups
        groups = [
            CaptionGroup(
                group_id=f"{record.video_id}-g{position:04d}",
                video_id=record.video_id,
                video_path=record.path,
                position=position,
                frame_indices=[frame.index for frame in members],
                timestamps=[frame.timestamp for frame in members],
                captions=[frame.caption or "" for frame in members],
            )
            for position, members in enumerate(
                group_consecutive(kept, settings.size, min_size=settings.min_size)
            )
        ]
        ctx.usage.count("groups", len(groups))
        return record.model_copy(update={"groups": groups})
