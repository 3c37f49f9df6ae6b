"""Built-in stages. The registry imports every stage module on first use (:func:`load_stages`).

The chain order comes from each stage's ``after`` attribute, not from the order below.
"""

from __future__ import annotations

import importlib

from videoespresso_hf.pipeline.stages.base import (
    DatasetStage,
    Stage,
    StageContext,
    StageError,
    StageUsage,
    get_stage,
    register_stage,
    registered_stages,
    stage_chain,
    stage_fingerprints,
)

STAGE_MODULES: tuple[str, ...] = (
    "sample_frames",
    "caption",
    "dedup",
    "group",
    "qa_generation",
    "qa_filter",
    "cot_evidence",
    "grounding",
    "distractors",
    "export",
)


def load_stages() -> None:
    """Import every stage module so that its stages register themselves."""
    for module in STAGE_MODULES:
        importlib.import_module(f"{__name__}.{module}")


__all__ = [
    "STAGE_MODULES",
    "DatasetStage",
    "Stage",
    "StageContext",
    "StageError",
    "StageUsage",
    "get_stage",
    "load_stages",
    "register_stage",
    "registered_stages",
    "stage_chain",
    "stage_fingerprints",
]
