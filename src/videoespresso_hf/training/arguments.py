"""Settings of the two training recipes, with the paper's Table 8 as defaults.

Table 8 (both stages): 224-px frames, max length 6144, LoRA, weight decay 0.02 (printed as "weight
ratio"), cosine decay, batch 16, warm-up 0.03 (a ratio), 1 epoch; learning rate 2e-5 (stage 1) then
1e-5 (stage 2). LoRA rank 16 / alpha 32 comes from the paper's text. What the paper leaves open is
chosen here and said so: LoRA on the language model only (the ViT stays frozen, as Qwen's own video
fine-tuning does), bf16 where the GPU supports it.

The batch of 16 is an *effective* batch: per-device batch × gradient accumulation × number of
processes. The accumulation is computed from the world size at start, so the recipe is the same on
1 GPU, 8 GPUs or several nodes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from videoespresso_hf.defaults import REASONER_MODEL, SELECTOR_CAPTIONER, SELECTOR_CHOOSER

__all__ = [
    "LLM_LORA_PATTERN",
    "ReasonerRLArguments",
    "ReasonerTrainingArguments",
    "SelectorTrainingArguments",
    "arguments_from",
    "gradient_accumulation_for",
    "settings_table",
]

# Qwen2.5-VL's vision blocks also have gate/up/down_proj: bare names would put LoRA on the ViT.
# Anchored on "language_model", the pattern cannot match a module of the vision tower.
LLM_LORA_PATTERN = r".*language_model.*\.(q|k|v|o|gate|up|down)_proj"

TABLE8 = "paper Table 8"

A = TypeVar("A", bound="_CommonArguments")


def gradient_accumulation_for(effective_batch_size: int, per_device_batch_size: int, world_size: int) -> int:
    """Accumulation steps that make ``per_device × steps × world_size == effective_batch_size``.

    Raises:
        ValueError: when the effective batch is not a multiple of ``per_device × world_size`` (the
            recipe would silently train with another batch size).
    """
    per_step = per_device_batch_size * world_size
    if effective_batch_size < per_step or effective_batch_size % per_step:
        raise ValueError(
            f"effective batch {effective_batch_size} is not a multiple of per-device batch "
            f"{per_device_batch_size} × {world_size} processes; change --effective-batch-size or "
            "--per-device-batch-size"
        )
    return effective_batch_size // per_step


def arguments_from(config_class: type[A], arguments: A | None, overrides: dict[str, Any]) -> A:
    """The settings an entry point was called with: its arguments dataclass, or keyword arguments (not both), so
    that ``train_reasoner(data=..., output_dir=...)`` and ``train_reasoner(ReasonerTrainingArguments(...))`` agree.

    Raises:
        TypeError: both, an object of another class, or an unknown keyword.
        ValueError: a setting out of range (the dataclass's own check).
    """
    if arguments is None:
        return config_class(**overrides)
    if not isinstance(arguments, config_class):
        raise TypeError(f"expected a {config_class.__name__}, got {type(arguments).__name__}")
    if overrides:
        raise TypeError(f"pass a {config_class.__name__} or keyword arguments, not both ({', '.join(overrides)})")
    return arguments


def local_path_or_id(value: str | None) -> str | None:
    """``value`` made absolute when it names an existing local file or folder (``ckpt/vlm`` and its absolute spelling
    are the same checkpoint, in the settings printed, the summary recorded and a resumed run); a Hub id as it is."""
    if not value:
        return value
    path = Path(value).expanduser()
    return str(path.resolve()) if path.exists() else value


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _help(text: str, *aliases: str, **extra: Any) -> dict[str, Any]:
    """Field metadata: the help text (the CLI's, via ``HfArgumentParser``) and earlier flag spellings as aliases."""
    return {"help": text, **({"aliases": list(aliases)} if aliases else {}), **extra}


@dataclass
class _CommonArguments:
    """Settings both recipes share (see the module docstring for the Table 8 defaults)."""

    # Whether this recipe checkpoints activations (recomputes them in the backward pass) unless
    # trainer_overrides says otherwise; set under its current name so that transformers warns about nothing.
    ACTIVATION_CHECKPOINTING: ClassVar[bool] = False

    model: str = field(default="", metadata=_help("model to train: a local folder or a Hub id"))
    data: str = field(default="", metadata=_help("a folder written by `videoespresso data prepare`"))
    output_dir: str = field(
        default="", metadata=_help("output folder (a re-run resumes from its checkpoints)", "--output")
    )
    config: str = field(
        default="train_video",
        metadata=_help("config of --data to train on: train_video, train_multi_image or generated (bench is test-only)"),
    )
    split: str = field(default="train", metadata=_help("split of the config to train on"))
    max_rows: int | None = field(default=None, metadata=_help("use only the first N rows (None: all)"))
    effective_batch_size: int = field(
        default=16, metadata=_help(f"per-device batch × accumulation × processes ({TABLE8})")
    )
    per_device_batch_size: int = field(default=1, metadata=_help("samples per device and forward pass"))
    num_train_epochs: float = field(default=1.0, metadata=_help(f"epochs ({TABLE8}); --max-steps wins", "--epochs"))
    max_steps: int = field(
        default=-1, metadata=_help("stop after this many optimizer steps; -1: train --num-train-epochs epochs")
    )
    lr_scheduler_type: str = field(default="cosine", metadata=_help(f"learning-rate schedule ({TABLE8})"))
    warmup_ratio: float = field(default=0.03, metadata=_help(f"share of the steps spent warming up ({TABLE8})"))
    weight_decay: float = field(default=0.02, metadata=_help(f"AdamW weight decay ({TABLE8})"))
    bf16: bool | None = field(
        default=None, metadata=_help("bf16 mixed precision: true, false, or auto (None): where the GPU supports it")
    )
    save_steps: int = field(default=200, metadata=_help("checkpoint every N steps (the resume point)"))
    save_total_limit: int | None = field(default=2, metadata=_help("checkpoints kept at most (None: all)"))
    logging_steps: int = field(default=10, metadata=_help("log the loss every N steps"))
    dataloader_num_workers: int = field(
        default=2, metadata=_help("DataLoader worker processes (frame decoding); 0: in the main process", "--workers")
    )
    seed: int = field(default=42, metadata=_help("random seed"))
    push_to_hub: str | None = field(
        default=None, metadata=_help("push the result with its card to this Hub repo (user/name)", metavar="REPO")
    )
    trust_remote_code: bool = field(default=False, metadata=_help("load checkpoints with their own code"))
    trainer_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata=_help("any other SFTConfig / TrainingArguments field, applied last (e.g. {'optim': 'adamw_torch'})"),
    )

    def __post_init__(self) -> None:
        """Refuse settings out of range before anything loads (one line each), and record local paths absolute."""
        _check(self.max_steps == -1 or self.max_steps >= 1,
               f"max_steps must be at least 1, or -1 to train num_train_epochs epochs (got {self.max_steps})")  # fmt: skip
        _check(self.num_train_epochs > 0, f"num_train_epochs must be above 0 (got {self.num_train_epochs})")
        for name in ("effective_batch_size", "per_device_batch_size", "save_steps", "logging_steps"):
            _check(getattr(self, name) >= 1, f"{name} must be at least 1 (got {getattr(self, name)})")
        for name in ("max_rows", "save_total_limit"):
            value = getattr(self, name)
            _check(value is None or value >= 1, f"{name} must be at least 1, or unset (got {value})")
        _check(self.dataloader_num_workers >= 0, f"dataloader_num_workers must be 0 or more (got {self.dataloader_num_workers})")
        _check(0 <= self.warmup_ratio < 1, f"warmup_ratio must be in [0, 1) (got {self.warmup_ratio})")
        _check(self.weight_decay >= 0, f"weight_decay must be 0 or more (got {self.weight_decay})")
        _check(self.seed >= 0, f"seed must be 0 or more (got {self.seed})")
        _check(isinstance(self.trainer_overrides, dict), "trainer_overrides must be a dict of trainer settings")
        gradient_accumulation_for(self.effective_batch_size, self.per_device_batch_size, 1)
        if self.push_to_hub:
            from huggingface_hub.utils import HFValidationError, validate_repo_id

            try:
                validate_repo_id(self.push_to_hub)
            except HFValidationError as error:
                raise ValueError(f"push_to_hub {self.push_to_hub!r} is not a repo id (use user/name): {error}") from None
        self.model = local_path_or_id(self.model)
        self.data = local_path_or_id(self.data)

    def cpu_only(self) -> bool:
        """Train on CPU: asked for (``use_cpu``) or no CUDA device. Under ``accelerate launch --multi_gpu``
        on a machine without GPUs this gives gloo DDP over CPU processes (accelerate's MULTI_CPU)."""
        import torch

        return bool(self.trainer_overrides.get("use_cpu")) or not torch.cuda.is_available()

    def process_state(self):
        """accelerate's process state, created with the CPU flag before any trainer (it is a singleton)."""
        from accelerate import PartialState

        return PartialState(cpu=self.cpu_only())

    def resolved_bf16(self) -> bool:
        """``bf16`` as given, else on exactly when a CUDA device supports it."""
        if self.bf16 is not None:
            return self.bf16
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())

    def trainer_settings(self, output_dir: str | Path, learning_rate: float, accumulation: int) -> dict[str, Any]:
        """The ``TrainingArguments`` fields both recipes set from these settings, ``trainer_overrides`` last.

        ``SFTConfig`` extends ``TrainingArguments``, so the reasoner adds its SFT fields to the same dict.
        Checkpointing is set as ``activation_checkpointing`` (transformers 5's name): trl's SFTConfig defaults the
        deprecated ``gradient_checkpointing`` to true, which otherwise warns on every run; an override under the
        old name is moved to the new one.
        """
        overrides = dict(self.trainer_overrides)
        for old, new in (("gradient_checkpointing", "activation_checkpointing"),
                         ("gradient_checkpointing_kwargs", "activation_checkpointing_kwargs")):  # fmt: skip
            if old in overrides:
                overrides.setdefault(new, overrides.pop(old))
        return {
            "output_dir": str(output_dir),
            "learning_rate": learning_rate,
            "per_device_train_batch_size": self.per_device_batch_size,
            "gradient_accumulation_steps": accumulation,
            "num_train_epochs": self.num_train_epochs,
            "max_steps": self.max_steps,
            "lr_scheduler_type": self.lr_scheduler_type,
            "warmup_steps": self.warmup_ratio,  # transformers 5: a float below 1 is a ratio
            "weight_decay": self.weight_decay,
            "bf16": self.resolved_bf16(),
            "activation_checkpointing": self.ACTIVATION_CHECKPOINTING,
            "save_strategy": "steps",
            "save_steps": self.save_steps,
            "save_total_limit": self.save_total_limit,
            "logging_steps": self.logging_steps,
            "dataloader_num_workers": self.dataloader_num_workers,
            "seed": self.seed,
            "report_to": "none",
            "use_cpu": self.cpu_only(),
            "remove_unused_columns": False,
            **overrides,
        }


@dataclass
class ReasonerTrainingArguments(_CommonArguments):
    """Two-stage LoRA fine-tuning of the reasoner (paper §4.3, Table 8).

    Every field's ``help`` (the ``videoespresso train reasoner`` flag of the same name) says what it does; in short:
    ``stage`` 1 trains question → evidence, 2 question + evidence → answer, ``both`` runs 1 then 2 (stage 2
    continues the stage-1 adapter); ``frame_size`` is written into the reasoner config's ``min_pixels``/
    ``max_pixels`` (saved with the merged model) and the processor (saved with each adapter), so inference from
    either sizes frames as training did; fixed-size families (LLaVA) ignore it.
    """

    # trl's SFTConfig checkpoints by default: a 7B VLM's activations at 6144 tokens need it.
    ACTIVATION_CHECKPOINTING: ClassVar[bool] = True

    model: str = field(
        default=REASONER_MODEL,
        metadata=_help("base VLM (Qwen2.5-VL, Qwen3-VL, LLaVA-NeXT-Interleave) or a reasoner checkpoint: folder or Hub id"),
    )
    stage: Literal["1", "2", "both", "rl"] = field(
        default="both",
        metadata=_help("1: question → evidence; 2: question + evidence → answer; both: 1 then 2 on its adapter; "
                       "rl: GRPO with grounded rewards (settings in ReasonerRLArguments, the RL defaults)"),
    )
    init_adapter: str | None = field(
        default=None, metadata=_help("stage-1 adapter that --stage 2 continues (None: OUT/stage1 when it exists)")
    )
    learning_rate_stage1: float = field(default=2e-5, metadata=_help(f"stage-1 learning rate ({TABLE8})", "--lr-stage1"))
    learning_rate_stage2: float = field(default=1e-5, metadata=_help(f"stage-2 learning rate ({TABLE8})", "--lr-stage2"))
    lora_r: int = field(default=16, metadata=_help("LoRA rank (paper §4.3)"))
    lora_alpha: int = field(default=32, metadata=_help("LoRA alpha (paper §4.3)"))
    lora_dropout: float = field(default=0.05, metadata=_help("LoRA dropout"))
    lora_target_modules: str = field(
        default=LLM_LORA_PATTERN, metadata=_help("regex of the modules LoRA adapts (the language model only)")
    )
    frame_size: int | None = field(
        default=224,
        metadata=_help(f"frames get the pixels of a SIZE-px square, via the reasoner config's min/max_pixels ({TABLE8})"),
    )
    frame_presentation: Literal["images", "video"] | None = field(
        default=None,
        metadata=_help("how training shows the frames: images (each with its time as text) or video (one native clip, "
                       "Qwen families only); unset: the checkpoint's own (images unless its config, or the "
                       "--init-adapter, says video). Recorded with each adapter, so inference presents them the same way"),
    )  # fmt: skip
    max_length: int = field(default=6144, metadata=_help(f"tokens per sample at most; the target is cut, never the frames ({TABLE8})"))
    evidence_field: Literal["evidence_raw", "evidence"] = field(
        default="evidence_raw",
        metadata=_help("stage-1 target / stage-2 input: evidence_raw keeps the <obj_start>…<box_end> tags; evidence is plain text"),
    )
    merge: bool = field(default=False, metadata=_help("also write OUT/merged, a full reasoner checkpoint"))

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("learning_rate_stage1", "learning_rate_stage2"):
            _check(getattr(self, name) > 0, f"{name} must be above 0 (got {getattr(self, name)})")
        for name in ("lora_r", "lora_alpha", "max_length"):
            _check(getattr(self, name) >= 1, f"{name} must be at least 1 (got {getattr(self, name)})")
        _check(0 <= self.lora_dropout < 1, f"lora_dropout must be in [0, 1) (got {self.lora_dropout})")
        _check(self.frame_size is None or self.frame_size >= 28,
               f"frame_size must be at least 28 pixels, or unset to keep the config's bounds (got {self.frame_size})")  # fmt: skip
        self.init_adapter = local_path_or_id(self.init_adapter)


@dataclass
class SelectorTrainingArguments(_CommonArguments):
    """Supervised training of the Frame Selector's chooser on annotated core frames.

    The paper does not describe it (§4.1 "NOT FOUND"); the recipe here: candidates are sampled by
    the selector's own rule (``candidate_fps``, ``max_candidates`` of its config), a candidate is
    labelled 1 when it is the candidate nearest to an annotated core frame, and the chooser's yes/no
    logit is trained with binary cross-entropy (:meth:`VexFrameSelectorModel.forward`). The captioner
    is frozen; its captions are computed once and cached on disk.

    ``balance_labels`` repeats the positive (core-frame) examples so that an epoch holds about as many positives as
    negatives: ~3 core frames among up to 64 candidates would otherwise teach "no".
    """

    model: str = field(
        default="components",
        metadata=_help("a saved selector (folder or Hub id), or 'components' to assemble --captioner-id + --chooser-id"),
    )
    captioner_id: str = field(
        default=SELECTOR_CAPTIONER, metadata=_help("captioner with --model components (frozen)", "--captioner")
    )
    chooser_id: str = field(
        default=SELECTOR_CHOOSER, metadata=_help("chooser LM with --model components (trained)", "--chooser")
    )
    caption_cache_dir: str | None = field(
        default=None, metadata=_help("caption cache folder (None: under HF_HOME)", "--caption-cache")
    )
    candidate_fps: float | None = field(
        default=None, metadata=_help("candidate frames per second (None: the selector's); saved with the trained selector")
    )
    max_candidates: int | None = field(
        default=None, metadata=_help("candidates per video at most (None: the selector's); saved with the trained selector")
    )
    learning_rate: float = field(default=1e-5, metadata=_help("chooser learning rate", "--lr"))
    balance_labels: bool = field(
        default=True, metadata=_help("repeat core-frame (positive) examples to balance the labels")
    )
    caption_batch_size: int = field(default=8, metadata=_help("frames captioned per batch"))

    def __post_init__(self) -> None:
        super().__post_init__()
        _check(self.learning_rate > 0, f"learning_rate must be above 0 (got {self.learning_rate})")
        _check(self.candidate_fps is None or self.candidate_fps > 0,
               f"candidate_fps must be above 0 (got {self.candidate_fps})")  # fmt: skip
        for name in ("max_candidates", "caption_batch_size"):
            value = getattr(self, name)
            _check(value is None or value >= 1, f"{name} must be at least 1 (got {value})")


def settings_table(arguments: _CommonArguments, derived: dict[str, Any]) -> str:
    """Every setting, one per line, as printed at start and written in the model card."""
    rows = {
        item.name: getattr(arguments, item.name)
        for item in dataclasses.fields(arguments)
        if item.name != "trainer_overrides"
    }
    rows.update(derived)
    rows.update({f"override.{key}": value for key, value in arguments.trainer_overrides.items()})
    width = max(len(name) for name in rows)
    return "\n".join(f"  {name:<{width}}  {value}" for name, value in rows.items())


# ---------------------------------------------------------------------------------------------------- RL (GRPO)
# Defaults from the papers (rl-video.md §2): Video-R1 and Open-o3 Video use G 8 / 4, beta 0.04, lr 1e-6 (full
# fine-tuning), max completion 768, temperature 1.0 (trl's). LoRA needs a larger step than full fine-tuning:
# 1e-5 is the value trl's own PEFT GRPO examples use (10x the full-FT rate), and ours.
RL_FULL_FINETUNE_LEARNING_RATE = 1e-6
RL_LORA_LEARNING_RATE = 1e-5


@dataclass
class ReasonerRLArguments(ReasonerTrainingArguments):
    """GRPO of the reasoner on frames with grounded rewards (``videoespresso train reasoner --stage rl``).

    Starts from a base VLM (``model``), a merged SFT reasoner (``model=OUT/merged``) or an SFT adapter
    (``init_adapter=OUT/stage2``, continued as the RL adapter). Writes ``OUT/rl``: a LoRA adapter on the language
    model only (safetensors) with the processor, or with ``full_finetune`` a full checkpoint; either way the
    config records ``reasoning_mode="one_pass"`` so ``answer`` / ``predict`` run it in one pass.

    Attributes:
        num_generations: completions per prompt (G; Video-R1: 8).
        beta: KL coefficient against the reference (the starting model; LoRA: the adapter disabled).
        learning_rate_rl: ``None``: 1e-6 with ``full_finetune``, else 1e-5 (LoRA).
        max_completion_length: tokens per completion (Video-R1: 768).
        temperature: sampling temperature of the rollouts.
        full_finetune: train every weight of the language model and vision tower instead of a LoRA adapter.
        reward_weights: weights of the rewards answer, format, temporal, spatial (``None``: all 1, Open-o3 Video).
        (``frame_presentation``, shared with SFT, also picks the RL trainer: ``grpo.trainer_class_for``.)
    """

    stage: Literal["1", "2", "both", "rl"] = field(default="rl", metadata=_help("rl: GRPO (this class's recipe)"))
    num_generations: int = field(default=8, metadata=_help("completions per prompt (G; Video-R1: 8)"))
    beta: float = field(default=0.04, metadata=_help("KL coefficient against the starting model (Video-R1: 0.04)"))
    learning_rate_rl: float | None = field(
        default=None,
        metadata=_help(f"GRPO learning rate; unset: {RL_FULL_FINETUNE_LEARNING_RATE:g} with --full-finetune (Video-R1), "
                       f"{RL_LORA_LEARNING_RATE:g} for the LoRA adapter", "--lr-rl"),
    )  # fmt: skip
    max_completion_length: int = field(default=768, metadata=_help("tokens per rollout at most (Video-R1: 768)"))
    temperature: float = field(default=1.0, metadata=_help("rollout sampling temperature"))
    full_finetune: bool = field(
        default=False, metadata=_help("train every weight (language model and vision tower) instead of a LoRA adapter")
    )
    reward_weights: list[float] | None = field(
        default=None,
        metadata=_help("weights of the rewards answer, format, temporal, spatial (unset: all 1, as Open-o3 Video)"),
    )

    def resolved_learning_rate(self) -> float:
        """``learning_rate_rl``, else the documented default of the chosen mode."""
        if self.learning_rate_rl is not None:
            return self.learning_rate_rl
        return RL_FULL_FINETUNE_LEARNING_RATE if self.full_finetune else RL_LORA_LEARNING_RATE
