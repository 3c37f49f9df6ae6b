"""The construction stages, one module each; their order is :mod:`videoespresso_hf.pipeline.chain`."""

from videoespresso_hf.pipeline.stages.base import (
    DatasetStage,
    Stage,
    StageContext,
    StageError,
    StageUsage,
    stage_chain,
    stage_fingerprints,
)

__all__ = [
    "DatasetStage",
    "Stage",
    "StageContext",
    "StageError",
    "StageUsage",
    "stage_chain",
    "stage_fingerprints",
]
