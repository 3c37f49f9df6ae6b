"""Configuration of a build: data, fully serialisable, saved as ``OUT/build_config.json``.

Each stage declares which part of the config changes its output (``Stage.config_slice``); that part goes
into the stage's fingerprint, so a changed setting recomputes exactly the stages downstream of it (a new
``tau`` reuses every caption) and never reuses stale results silently. Runtime-only settings (runner,
workers, dry run, budget, endpoint URL) are excluded from fingerprints on purpose.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoespresso_hf.files import write_text_atomic
from videoespresso_hf.llm.config import REDACT_SECRETS, LLMConfig
from videoespresso_hf.pipeline.captioning import DEFAULT_CAPTION_MODELS, CaptionConfig
from videoespresso_hf.pipeline.stages.cot_evidence import CoTEvidenceSettings
from videoespresso_hf.pipeline.stages.dedup import DEFAULT_TAU, DedupConfig
from videoespresso_hf.pipeline.stages.distractors import DistractorSettings
from videoespresso_hf.pipeline.stages.export import ExportSettings
from videoespresso_hf.pipeline.stages.grounding import GroundingSettings
from videoespresso_hf.pipeline.stages.group import GroupConfig
from videoespresso_hf.pipeline.stages.llm_calls import BatchSettings
from videoespresso_hf.pipeline.stages.qa_filter import QAFilterSettings
from videoespresso_hf.pipeline.stages.qa_generation import QAGenerationSettings
from videoespresso_hf.pipeline.stages.sample_frames import SamplingConfig

__all__ = [
    "DEFAULT_CAPTION_MODELS",
    "DEFAULT_TAU",
    "BuildConfig",
    "CaptionConfig",
    "DedupConfig",
    "GroupConfig",
    "SamplingConfig",
    "config_reference",
]

# Older build_config.json files configure the frames stage under this key (now ``frames``, the stage's name).
LEGACY_FRAMES_KEY = "sampling"


class BuildConfig(BaseModel):
    """Everything that decides what ``videoespresso build`` produces: one typed section per stage.

    Attributes:
        frames / captions / dedup / groups: the frame stages (frame sampling, captioning, redundancy removal,
            grouping). Each section is named like its stage (``--until frames`` stops after ``frames``).
        qa_generation / qa_filter / cot_evidence / grounding / distractors: the QA stages.
        export: the ``generated`` dataset written at the end.
        llm: the OpenAI-compatible client used by LLM stages (endpoint, concurrency, retries, budget);
            the captioner uses it with ``captions.model`` as the model id.
        llm_batch: whether the QA stages send their requests through the OpenAI Batch API.
    """

    model_config = ConfigDict(extra="forbid")

    frames: SamplingConfig = Field(default_factory=SamplingConfig)
    captions: CaptionConfig = Field(default_factory=CaptionConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    groups: GroupConfig = Field(default_factory=GroupConfig)
    qa_generation: QAGenerationSettings = Field(default_factory=QAGenerationSettings)
    qa_filter: QAFilterSettings = Field(default_factory=QAFilterSettings)
    cot_evidence: CoTEvidenceSettings = Field(default_factory=CoTEvidenceSettings)
    grounding: GroundingSettings = Field(default_factory=GroundingSettings)
    distractors: DistractorSettings = Field(default_factory=DistractorSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    llm_batch: BatchSettings = Field(default_factory=BatchSettings)

    @model_validator(mode="before")
    @classmethod
    def _sections_from_older_configs(cls, data: Any) -> Any:
        """Read configs written by earlier versions: the frames stage's settings sat under ``"sampling"``, and
        before every stage had its own section the later stages' settings sat in
        ``"stages": {<stage name>: {...}}`` (and batch mode in ``stages["llm_batch"]``)."""
        if not isinstance(data, dict):
            return data
        if LEGACY_FRAMES_KEY in data:
            data = dict(data)
            legacy = data.pop(LEGACY_FRAMES_KEY)
            if "frames" in data:
                raise ValueError(f"both 'frames' and its old name {LEGACY_FRAMES_KEY!r}: keep only 'frames'")
            data["frames"] = legacy
        if "stages" not in data:
            return data
        data = dict(data)
        for name, settings in (data.pop("stages") or {}).items():
            if name not in cls.model_fields:
                raise ValueError(f"unknown stage {name!r} in the config's old 'stages' section")
            data[name] = {**settings, **(data.get(name) or {})}
        return data

    def stored_json(self) -> str:
        """The JSON written to ``OUT/build_config.json`` and printed by ``--print-config``: the endpoint URL's
        credentials redacted (:func:`~videoespresso_hf.llm.config.redact_url`); the key itself is never here."""
        return self.model_dump_json(indent=2, context=REDACT_SECRETS)

    def save(self, path: str | Path) -> None:
        write_text_atomic(Path(path), self.stored_json() + "\n")

    @classmethod
    def load(cls, path: str | Path) -> BuildConfig:
        return cls.model_validate_json(Path(path).read_text())


def config_reference() -> str:
    """``docs/build-config.md``: every key of :class:`BuildConfig` with its type, default and meaning.

    Generated from the models themselves (field types and defaults, the sections' docstrings), so the
    reference cannot drift from the code: ``tests/pipeline/test_build_config_doc.py`` compares the two.
    """
    lines = [
        "# `videoespresso build` configuration reference",
        "",
        "<!-- Generated by videoespresso_hf.pipeline.config.config_reference(); do not edit by hand. -->",
        "",
        "A build reads its settings from `--config FILE`, else from `OUT/build_config.json` (written by every run),",
        "else from these defaults; command-line flags then override single keys. A config found in `OUT` (not",
        "named with `--config`) may not choose where the API key goes: when its `llm.base_url` or `llm.api_key_env`",
        "is not the default, the build stops until you pass `--base-url` / `--api-key-env` or name the file.",
        "Stored and printed configs show endpoint URLs with their credentials redacted.",
        "`--print-config` prints the effective configuration as JSON and exits: save it (`> my_build_config.json`),",
        "edit it, and pass it back with `--config my_build_config.json`.",
        "",
        "```bash",
        "videoespresso build videos/ --out build/ --print-config",
        "```",
    ]
    for section, field in BuildConfig.model_fields.items():
        model = field.annotation
        summary, attributes = _documented_attributes(model)
        lines += ["", f"## `{section}`", "", summary, ""]
        lines += ["| key | type | default |", "| --- | --- | --- |"]
        defaults = model().model_dump(mode="json")
        for key, info in model.model_fields.items():
            kind = str(info.annotation).replace("typing.", "").replace("pathlib.", "")
            kind = kind.removeprefix("<class '").removesuffix("'>").replace("|", "\\|")
            default = json.dumps(defaults[key]).replace("|", "\\|")
            lines.append(f"| `{key}` | `{kind}` | `{default}` |")
        lines += ["", "```text", attributes, "```"]
    return "\n".join(lines) + "\n"


def _documented_attributes(model: type[BaseModel]) -> tuple[str, str]:
    """The model's one-paragraph summary and its attribute docs, those inherited from base settings included."""
    summary, parts = "", []
    for cls in model.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or cls is BaseModel or not cls.__doc__:
            continue
        doc = inspect.cleandoc(cls.__doc__)
        marker = "Attributes:" if "Attributes:" in doc else "Args:"
        head, _, attributes = doc.partition(marker)
        summary = summary or " ".join(head.split())
        if attributes.strip():
            parts.append(inspect.cleandoc(attributes))
    return summary, "\n".join(parts)
