"""Each stage's settings live beside the stage, under the config key named like the stage, with no import circle."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import BuildConfig

STAGES = Path(inspect.getfile(BuildConfig)).parent / "stages"


def test_every_stage_is_configured_under_its_own_name():
    for stage in CONSTRUCTION_CHAIN:
        assert stage.name in BuildConfig.model_fields, f"stage {stage.name!r} has no config section of its name"


def test_each_stage_settings_class_is_defined_beside_its_stage():
    for stage in CONSTRUCTION_CHAIN:
        settings = BuildConfig.model_fields[stage.name].annotation
        stage_module = type(stage).__module__
        # The captions stage's settings sit with the captioners that read them (the stage imports both).
        beside = {stage_module, "videoespresso_hf.pipeline.captioning"}
        assert settings.__module__ in beside, (stage.name, settings.__module__, stage_module)


def test_no_stage_imports_the_build_config_not_even_for_types():
    offenders = []
    for path in sorted(STAGES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "videoespresso_hf.pipeline.config":
                offenders.append(path.name)
    captioning = STAGES.parent / "captioning.py"
    if "videoespresso_hf.pipeline.config" in captioning.read_text():
        offenders.append(captioning.name)
    assert not offenders


def test_no_stage_is_special_cased_by_name_in_the_cli_or_the_job():
    root = STAGES.parents[1]
    for path in (root / "cli" / "build.py", root / "pipeline" / "job.py"):
        source = path.read_text()
        assert "stage.name ==" not in source and "LLMStage" not in source, path


def test_qa_records_are_typed_and_read_by_attribute():
    import re

    from videoespresso_hf.pipeline.stages.answer_models import CoTEvidence
    from videoespresso_hf.pipeline.stages.qa_items import CoreFrame, GroundedObject, QAItem

    annotations = {name: field.annotation for name, field in QAItem.model_fields.items()}
    assert annotations["cot"] == CoTEvidence | None
    assert annotations["core_frames"] == list[CoreFrame]
    assert annotations["key_objects"] == list[GroundedObject]
    for name in ("grounding.py", "export.py", "distractors.py"):
        source = (STAGES / name).read_text()
        assert not re.search(r'\b(cot|obj|frame)(\.get\()?\[?"(core_captions|key_objects|evidence|label|'
                             r'frame_index|boxes|box_status|checks|path|caption|timestamp)"', source), name
