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
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from videoespresso_hf.embeddings import DEFAULT_EMBEDDING_MODEL
from videoespresso_hf.files import write_text_atomic
from videoespresso_hf.llm.config import REDACT_SECRETS, LLMConfig
from videoespresso_hf.pipeline.stages.cot_evidence import CoTEvidenceSettings
from videoespresso_hf.pipeline.stages.distractors import DistractorSettings
from videoespresso_hf.pipeline.stages.export import ExportSettings
from videoespresso_hf.pipeline.stages.grounding import GroundingSettings
from videoespresso_hf.pipeline.stages.llm_calls import BatchSettings
from videoespresso_hf.pipeline.stages.qa_filter import QAFilterSettings
from videoespresso_hf.pipeline.stages.qa_generation import QAGenerationSettings

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

# The paper captions with InternVL2-8B, which ships only remote code (no native transformers class).
# InternVL3-8B-hf is the same family converted to the native `internvl` architecture, so it loads with
# AutoModelForImageTextToText and no trust_remote_code. For the endpoint backend the default is a cheap
# vision model of the OpenAI API; a vLLM server can serve "OpenGVLab/InternVL2-8B" itself (pass --model).
DEFAULT_CAPTION_MODELS: dict[str, str] = {
    "openai": "gpt-4o-mini",
    "transformers": "OpenGVLab/InternVL3-8B-hf",
}

# Chosen by measurement with benchmarks/redundancy_removal_savings.py: the threshold on the cosine similarity
# between a caption and the last kept caption at or above which the later frame is dropped. On 1,328 synthetic
# captions with known redundancy (paraphrases and repeats within a scene, scene pairs sharing a setting) and the
# offline all-MiniLM-L6-v2 embedder, drop precision is 1.0 from 0.60 up and F1 plateaus at 0.99-1.00 on
# 0.55-0.70; 0.70 is the largest (most conservative) threshold on the plateau. Held out: precision 1.000,
# recall 0.985, 70.4% of captions dropped (oracle 71.5%). BGE-M3 (the production embedder) scores paraphrases
# and unrelated sentences higher than MiniLM: re-run the benchmark with --embedder BAAI/bge-m3 to re-tune.
DEFAULT_TAU = 0.70

# Older build_config.json files configure the frames stage under this key (now ``frames``, the stage's name).
LEGACY_FRAMES_KEY = "sampling"


class SamplingConfig(BaseModel):
    """How frames are sampled before captioning (paper §1.2: FPS 1 for static, 2–4 for dynamic content).

    Attributes:
        strategy: ``"adaptive"`` (per shot: static shots at ``static_fps``, dynamic ones at a rate in
            ``dynamic_fps`` rising with motion; :func:`videoespresso_hf.video.plan_adaptive_sampling`),
            ``"fps"`` (a fixed ``fps`` everywhere) or ``"uniform"`` (``num_frames`` evenly spaced).
        static_fps / dynamic_fps: adaptive rates.
        fps: rate of the ``"fps"`` strategy.
        num_frames: frame count of the ``"uniform"`` strategy.
        max_frames: cap per video (evenly thinned when exceeded); None for no cap.
        options: further fields of :class:`videoespresso_hf.video.AdaptiveSamplingConfig`
            (``static_threshold``, ``detector``, ``probe_fps``, ...).
    """

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["adaptive", "fps", "uniform"] = "adaptive"
    static_fps: float = Field(default=1.0, gt=0)
    dynamic_fps: tuple[float, float] = (2.0, 4.0)
    fps: float = Field(default=1.0, gt=0)
    num_frames: int = Field(default=32, ge=1)
    max_frames: int | None = Field(default=None, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)


class CaptionConfig(BaseModel):
    """Frame captioning (paper §1.3).

    Attributes:
        backend: ``"openai"`` (any OpenAI-compatible chat-completions endpoint: OpenAI, vLLM, TGI, ...) or
            ``"transformers"`` (a local ``AutoModelForImageTextToText``, batched).
        model: model id; None picks :data:`DEFAULT_CAPTION_MODELS` for the backend.
        prompt_version: template file ``pipeline/prompts/<prompt_version>.jinja``.
        image_max_side: frames are downscaled so their longer side is at most this many pixels.
        detail: OpenAI image detail (``"low"`` is a flat 85 tokens per image).
        max_new_tokens: caption length cap.
        batch_size: frames per forward pass (transformers backend).
        device / dtype: where and in what precision the local model runs (transformers backend).
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["openai", "transformers"] = "openai"
    model: str | None = None
    prompt_version: str = "caption.v1"
    image_max_side: int = Field(default=512, ge=16)
    detail: Literal["low", "high", "auto"] = "low"
    max_new_tokens: int = Field(default=96, ge=1)
    batch_size: int = Field(default=8, ge=1)
    device: str | None = None
    dtype: str = "auto"

    @property
    def resolved_model(self) -> str:
        return self.model or DEFAULT_CAPTION_MODELS[self.backend]


class DedupConfig(BaseModel):
    """Semantic-aware redundancy removal (paper §1.4).

    Attributes:
        embedder: sentence-transformers model id or path (paper: BGE-M3).
        tau: cosine-similarity threshold; a caption at least this similar to the last *kept* caption is
            dropped (the later frame goes: the paper's LIFO rule). Thresholds are model-specific: the default
            was measured with the offline MiniLM embedder (see ``benchmarks/redundancy_removal_savings.py``);
            BGE-M3 similarities sit higher on the scale, re-measure before relying on it.
        compare_to: ``"last_kept"`` (default; a slow drift still keeps a frame once it has drifted far enough)
            or ``"previous"`` (literal adjacent-frame similarity, as the paper words it).
        batch_size: captions per embedding batch.
        device: embedder device (None: sentence-transformers picks).
    """

    model_config = ConfigDict(extra="forbid")

    embedder: str = DEFAULT_EMBEDDING_MODEL
    tau: float = Field(default=DEFAULT_TAU, ge=-1.0, le=1.0)
    compare_to: Literal["last_kept", "previous"] = "last_kept"
    batch_size: int = Field(default=32, ge=1)
    device: str | None = None


class GroupConfig(BaseModel):
    """Grouping of kept captions (paper §1.5: 15 consecutive captions per group, no overlap).

    Attributes:
        size: captions per group.
        min_size: a trailing group shorter than this is merged into the previous group (1 keeps it as is).
    """

    model_config = ConfigDict(extra="forbid")

    size: int = Field(default=15, ge=1)
    min_size: int = Field(default=1, ge=1)


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
