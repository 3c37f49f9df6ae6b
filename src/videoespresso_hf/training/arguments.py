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
from typing import Any, Literal

from videoespresso_hf.models.frame_selector.configuration_frame_selector import (
    DEFAULT_CAPTIONER as DEFAULT_SELECTOR_CAPTIONER,
)
from videoespresso_hf.models.frame_selector.configuration_frame_selector import (
    DEFAULT_CHOOSER as DEFAULT_SELECTOR_CHOOSER,
)
from videoespresso_hf.models.reasoner.configuration_reasoner import (
    DEFAULT_QWEN2_5_VL_REASONER as DEFAULT_REASONER_BASE,
)

__all__ = [
    "LLM_LORA_PATTERN",
    "ReasonerRLArguments",
    "ReasonerTrainingArguments",
    "SelectorTrainingArguments",
    "gradient_accumulation_for",
    "settings_table",
]

# Qwen2.5-VL's vision blocks also have gate/up/down_proj: bare names would put LoRA on the ViT.
# Anchored on "language_model", the pattern cannot match a module of the vision tower.
LLM_LORA_PATTERN = r".*language_model.*\.(q|k|v|o|gate|up|down)_proj"


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


@dataclass
class _CommonArguments:
    model: str = ""
    data: str = ""
    output_dir: str = ""
    config: str = "train_video"
    split: str = "train"
    max_rows: int | None = None
    effective_batch_size: int = 16
    per_device_batch_size: int = 1
    num_train_epochs: float = 1.0
    max_steps: int = -1
    lr_scheduler_type: str = "cosine"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.02
    bf16: bool | None = None
    save_steps: int = 200
    save_total_limit: int | None = 2
    logging_steps: int = 10
    dataloader_num_workers: int = 2
    seed: int = 42
    push_to_hub: str | None = None
    trust_remote_code: bool = False
    # Any other SFTConfig / TrainingArguments field, applied last (e.g. {"gradient_checkpointing": True}).
    trainer_overrides: dict[str, Any] = field(default_factory=dict)

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
        """
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
            "save_strategy": "steps",
            "save_steps": self.save_steps,
            "save_total_limit": self.save_total_limit,
            "logging_steps": self.logging_steps,
            "dataloader_num_workers": self.dataloader_num_workers,
            "seed": self.seed,
            "report_to": "none",
            "use_cpu": self.cpu_only(),
            "remove_unused_columns": False,
            **self.trainer_overrides,
        }


@dataclass
class ReasonerTrainingArguments(_CommonArguments):
    """Two-stage LoRA fine-tuning of the reasoner (paper §4.3, Table 8).

    Attributes:
        model: base VLM (``Qwen/Qwen2.5-VL-7B-Instruct``, ``Qwen/Qwen3-VL-8B-Instruct``) or a reasoner
            checkpoint, path or Hub id.
        data: a folder written by ``videoespresso data prepare``; ``config`` names the config in it
            (``train_video``, ``train_multi_image`` or ``generated``).
        stage: ``"1"`` (question → evidence), ``"2"`` (question + evidence → answer) or ``"both"``
            (stage 2 continues the stage-1 adapter); ``"rl"``: GRPO with grounded rewards, settings in
            :class:`ReasonerRLArguments` (a plain instance is promoted to it with the RL defaults).
        init_adapter: adapter that stage 2 continues when run alone (default: ``OUT/stage1`` when it exists).
        learning_rate_stage1 / learning_rate_stage2: Table 8.
        lora_r / lora_alpha / lora_dropout / lora_target_modules: LoRA (paper: r 16, α 32).
        frame_size: every core frame gets the pixels of a ``frame_size``-px square (Table 8: 224), written
            into the reasoner config's ``min_pixels``/``max_pixels`` (saved with the merged model) and the
            processor (saved with each adapter), so inference from either sizes frames alike; ``None`` keeps
            the config's bounds; fixed-size families (LLaVA) ignore it.
        max_length: tokens per sample at most (Table 8: 6144); the target is cut, never the frames.
        evidence_field: the row column used as stage-1 target and stage-2 input (``evidence_raw``
            keeps the ``<obj_start>…<box_end>`` tags as the row has them; ``evidence`` is plain text).
        merge: also write ``OUT/merged``, a full reasoner checkpoint with the adapter merged in.
    """

    model: str = DEFAULT_REASONER_BASE
    stage: Literal["1", "2", "both", "rl"] = "both"
    init_adapter: str | None = None
    learning_rate_stage1: float = 2e-5
    learning_rate_stage2: float = 1e-5
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = LLM_LORA_PATTERN
    frame_size: int = 224
    max_length: int = 6144
    evidence_field: str = "evidence_raw"
    merge: bool = False


@dataclass
class SelectorTrainingArguments(_CommonArguments):
    """Supervised training of the Frame Selector's chooser on annotated core frames.

    The paper does not describe it (§4.1 "NOT FOUND"); the recipe here: candidates are sampled by
    the selector's own rule (``candidate_fps``, ``max_candidates`` of its config), a candidate is
    labelled 1 when it is the candidate nearest to an annotated core frame, and the chooser's yes/no
    logit is trained with binary cross-entropy (:meth:`VexFrameSelectorModel.forward`). The captioner
    is frozen; its captions are computed once and cached on disk.

    Attributes:
        model: a saved selector (path or Hub id), or ``"components"`` to assemble one from
            ``captioner_id`` + ``chooser_id``.
        caption_cache_dir: where candidate captions are cached (default: under the HF cache home).
        candidate_fps / max_candidates: override the selector config's candidate rule (saved with
            the trained selector, so inference samples candidates as training did).
        learning_rate: chooser learning rate.
        balance_labels: repeat the positive (core-frame) examples so that an epoch holds about as many
            positives as negatives (~3 core frames among up to 64 candidates would otherwise teach "no").
    """

    model: str = "components"
    captioner_id: str = DEFAULT_SELECTOR_CAPTIONER
    chooser_id: str = DEFAULT_SELECTOR_CHOOSER
    caption_cache_dir: str | None = None
    candidate_fps: float | None = None
    max_candidates: int | None = None
    learning_rate: float = 1e-5
    balance_labels: bool = True
    caption_batch_size: int = 8


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
    """

    stage: Literal["1", "2", "both", "rl"] = "rl"
    num_generations: int = 8
    beta: float = 0.04
    learning_rate_rl: float | None = None
    max_completion_length: int = 768
    temperature: float = 1.0
    full_finetune: bool = False
    reward_weights: list[float] | None = None

    def resolved_learning_rate(self) -> float:
        """``learning_rate_rl``, else the documented default of the chosen mode."""
        if self.learning_rate_rl is not None:
            return self.learning_rate_rl
        return RL_FULL_FINETUNE_LEARNING_RATE if self.full_finetune else RL_LORA_LEARNING_RATE
