"""The construction chain: every stage of ``videoespresso build``, in the order it runs. Written once, here.

Each stage takes the output of the one before it (the driver hands it over and checks that the types fit,
:func:`~videoespresso_hf.pipeline.stages.base.stage_chain`); ``--until NAME`` cuts the chain after NAME.
"""

from __future__ import annotations

from videoespresso_hf.pipeline.stages.base import DatasetStage, Stage
from videoespresso_hf.pipeline.stages.caption import CaptionStage
from videoespresso_hf.pipeline.stages.cot_evidence import CoTEvidenceStage
from videoespresso_hf.pipeline.stages.dedup import DedupStage
from videoespresso_hf.pipeline.stages.distractors import DistractorsStage
from videoespresso_hf.pipeline.stages.export import ExportStage
from videoespresso_hf.pipeline.stages.grounding import GroundingStage
from videoespresso_hf.pipeline.stages.group import GroupStage
from videoespresso_hf.pipeline.stages.qa_filter import QAFilterStage
from videoespresso_hf.pipeline.stages.qa_generation import QAGenerationStage
from videoespresso_hf.pipeline.stages.sample_frames import SampleFramesStage

__all__ = ["CONSTRUCTION_CHAIN"]

CONSTRUCTION_CHAIN: tuple[Stage | DatasetStage, ...] = (
    SampleFramesStage(),  # VideoRecord -> frames to caption (adaptive sampling)
    CaptionStage(),  # -> a caption per frame (VLM)
    DedupStage(),  # -> semantic redundancy removal
    GroupStage(),  # -> caption groups
    QAGenerationStage(),  # VideoRecord -> QARecord
    QAFilterStage(),
    CoTEvidenceStage(),
    GroundingStage(),
    DistractorsStage(),
    ExportStage(),  # every video's QARecord -> OUT/generated
)
