"""The chain is data: a stage added by the recipe of ``videoespresso_hf.pipeline`` (one stage class with its
settings model, one line in a chain, one settings field) runs with every other stage untouched, and old
``build_config.json`` files (free-form ``stages`` section) still load into the typed sections."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.orchestrator import run_build
from videoespresso_hf.pipeline.stages.base import Stage, StageContext, stage_chain
from videoespresso_hf.pipeline.stages.qa_items import QARecord
from videoespresso_hf.pipeline.video_record import VideoRecord

from .test_build import CHAT


# ---- 1. the stage file: a settings model and the stage
class LongCaptionSettings(BaseModel):
    """``config.long_captions``: captions with at least ``min_words`` words count as long."""

    model_config = ConfigDict(extra="forbid")

    min_words: int = Field(default=4, ge=1)


class LongCaptionStage(Stage):
    name = "long_captions"
    version = "1"
    fan_out = False
    output_file = "long_captions.jsonl"

    def config_slice(self, config: ToyConfig) -> dict[str, Any]:
        return config.long_captions.model_dump()

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:
        threshold = ctx.config.long_captions.min_words
        kept = [frame for frame in record.frames if len((frame.caption or "").split()) >= threshold]
        ctx.usage.count("long_captions", len(kept))
        return record.model_copy(update={"frames": kept})

    def summary_counts(self, record: VideoRecord) -> dict[str, int]:
        return {"long_captions": len(record.frames)}

    def output_rows(self, record: VideoRecord) -> Iterable[dict[str, Any]]:
        return ({"video_id": record.video_id, "caption": frame.caption} for frame in record.frames)


# ---- 3. one settings field
class ToyConfig(BuildConfig):
    long_captions: LongCaptionSettings = Field(default_factory=LongCaptionSettings)


# ---- 2. one line in a chain
TOY_CHAIN = (*CONSTRUCTION_CHAIN[:2], LongCaptionStage(), *CONSTRUCTION_CHAIN[2:4])


def test_a_stage_added_by_the_recipe_runs_between_the_others(tmp_path, colour_videos, server, make_config):
    videos = list(colour_videos.values())
    config = ToyConfig.model_validate(make_config().model_dump())  # "a solid red frame": 4 words
    out = tmp_path / "out"
    summary = run_build(videos, out, config, workers=1, progress=False, stages=TOY_CHAIN)
    assert summary.ok, summary.format()
    names = [stage.name for stage in summary.stages]
    assert names == ["frames", "captions", "long_captions", "dedup", "groups"]
    assert summary.counts["long_captions"] == summary.frames_sampled > 0
    assert summary.groups == 4  # every caption is long: dedup and grouping see every frame
    rows = (out / "long_captions.jsonl").read_text().splitlines()
    assert len(rows) == summary.frames_sampled and json.loads(rows[0])["caption"].startswith("a solid")
    paid = server.count(CHAT)

    # Its settings are in its fingerprint: changing them recomputes it and what follows, nothing before.
    stricter = config.model_copy(update={"long_captions": LongCaptionSettings(min_words=5)})
    again = run_build(videos, out, stricter, workers=1, progress=False, stages=TOY_CHAIN)
    assert again.recomputed == ["long_captions", "dedup", "groups"]
    stats = {stage.name: stage for stage in again.stages}
    assert stats["captions"].reused == 2 and stats["long_captions"].executed == 2
    assert server.count(CHAT) == paid
    assert again.counts["long_captions"] == 0 and len(again.failed) == 2  # dedup: no captions left
    assert all(reason.startswith("dedup: ") for reason in again.failed.values())


def test_a_chain_whose_types_do_not_fit_is_refused():
    qa_stage_first = (CONSTRUCTION_CHAIN[0], CONSTRUCTION_CHAIN[5])  # the QA filter takes a QARecord
    with pytest.raises(TypeError, match="takes QARecord but its upstream stage returns VideoRecord"):
        stage_chain(qa_stage_first)
    with pytest.raises(TypeError, match="unique"):
        stage_chain((CONSTRUCTION_CHAIN[0], CONSTRUCTION_CHAIN[0]))
    assert stage_chain(CONSTRUCTION_CHAIN)[-1].input_type is QARecord


def test_an_old_build_config_with_a_stages_section_loads_into_the_typed_sections(tmp_path):
    old = {
        "groups": {"size": 3},
        "stages": {
            "qa_generation": {"pairs_per_group": 5},
            "grounding": {"spatial": False},
            "llm_batch": {"enabled": True, "max_wait_s": 0},
        },
    }
    path = tmp_path / "build_config.json"
    path.write_text(json.dumps(old))
    config = BuildConfig.load(path)
    assert config.qa_generation.pairs_per_group == 5 and not config.grounding.spatial
    assert config.llm_batch.enabled and config.llm_batch.max_wait_s == 0 and config.groups.size == 3
    config.save(path)
    assert "stages" not in json.loads(path.read_text()) and BuildConfig.load(path) == config
    with pytest.raises(ValueError, match="unknown stage 'colour_grading'"):
        BuildConfig.model_validate({"stages": {"colour_grading": {}}})
