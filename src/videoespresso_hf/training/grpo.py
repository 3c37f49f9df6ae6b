"""GRPO of the reasoner on its frames, with grounded rewards (``videoespresso train reasoner --stage rl``).

What trl 1.16's ``GRPOTrainer`` does with vision inputs decides the design (``shared/spec/rl-video.md`` §1): it
runs the vision tower in the loss forward only for an ``images`` column, so every row's core frames go as
*images* — with their timestamps as text before each one (``Frame i (at t s): <image>``), which is exactly the
``"images"`` presentation :func:`~videoespresso_hf.models.reasoner.modeling_reasoner.stage_messages` renders for
inference. The prompt is that function's one-pass prompt and the frames are sized by the processor's bounds,
which :func:`load_reasoner_for_training` sets from the config as inference does: what RL trains is what
``answer`` / ``predict`` send. This path needs no override of trl's private methods.

Native video (Qwen families): when the reasoner config's ``frame_presentation`` is ``"video"`` (the checkpoint's, or
``ReasonerRLArguments.frame_presentation``), each row carries its core frames as one clip with their times, the prompt
is the ``"video"`` presentation, and :class:`~videoespresso_hf.training.grpo_video.VideoGRPOTrainer` (a small
``GRPOTrainer`` subclass; its docstring says what it overrides and why) gets the video tensors to every forward.
:func:`trainer_class_for` is the one place that picks the trainer.

Rollouts use ``model.generate`` (trl's default), not vLLM: trl 1.16's vLLM path has open multi-image bugs
(trl #6294, #6401) and no test here could cover it. Generation suppresses both the image and the video pad
tokens (trl suppresses only the image one, and ``generation_kwargs`` *replaces* its list): a sampled
``<|video_pad|>`` would crash the loss forward.

Layout of ``OUT/rl``: the LoRA adapter (language model only, safetensors) and the processor, or with
``full_finetune`` a full reasoner checkpoint; ``reasoning_mode="one_pass"`` recorded in its config (an adapter:
in :data:`~videoespresso_hf.models.hybrid.ADAPTER_CONFIG_OVERRIDES`); ``training_summary.json`` with the
logged reward means per reward (``rewards/<name>/mean``); ``checkpoint-*`` while running (a killed run resumes).

LLaVA-NeXT-Interleave, whose chat template moves every image before the text, has its frames rendered in place
through an RL-only chat template (:mod:`~videoespresso_hf.training.rl_templates`); what is saved keeps the family's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoespresso_hf.errors import first_line
from videoespresso_hf.evaluation.grounding import GroundingReference
from videoespresso_hf.models.reasoner.modeling_reasoner import stage_messages
from videoespresso_hf.training.arguments import ReasonerRLArguments
from videoespresso_hf.training.cards import SUMMARY_FILE, logged_losses, write_training_record
from videoespresso_hf.training.reasoner import (
    apply_frame_presentation,
    record_frame_presentation,
    saved_frame_presentation,
)
from videoespresso_hf.training.rewards import REWARD_FUNCTIONS, REWARD_NAMES
from videoespresso_hf.training.rows import SkipLog, check_rows, core_frame_times, decode_core_frames

if TYPE_CHECKING:
    from transformers import PretrainedConfig
    from trl import GRPOTrainer

__all__ = [
    "CONFIGS_WITH_EVIDENCE",
    "TESTED_TRL",
    "RLRowBuilder",
    "apply_frame_presentation",
    "box_scale_for",
    "check_trl_version",
    "generation_suppress_ids",
    "grounding_reference",
    "grpo_config",
    "planned_frame_presentation",
    "reference_answer",
    "requested_frame_presentation",
    "reward_means",
    "train_rl",
    "trainer_class_for",
    "validate_rl",
]

# The trl versions the RL stage was tested on (rl-video.md: trl's VLM handling changes between minors).
TESTED_TRL = ("1.16", "1.17")  # >= first, < second
CONFIGS_WITH_EVIDENCE = ("train_video", "train_multi_image", "generated")
STAGE = "rl"


def check_trl_version(installed: str | None = None) -> None:
    """Refuse (one line) a trl outside :data:`TESTED_TRL`: the stage relies on how that trl feeds images."""
    from packaging.version import Version

    if installed is None:
        import trl

        installed = trl.__version__
    low, high = TESTED_TRL
    if not Version(low) <= Version(installed) < Version(high):
        raise ValueError(
            f"the RL stage was tested with trl >={low},<{high}; installed trl is {installed} "
            f"(pip install 'trl>={low},<{high}')"
        )


def box_scale_for(config, processor, frame) -> tuple[float, float] | None:
    """``(width, height)`` of the coordinate frame the backbone writes boxes in, for a row whose first frame is
    ``frame`` (H, W, 3):

    * Qwen2.5-VL: absolute pixels of the *resized* model input (its grounding convention), read from the
      processor's patch grid for that frame;
    * Qwen3-VL: its 0–1000 relative grid;
    * LLaVA-NeXT-Interleave (no grounding convention of its own): the 0–1000 grid too, our stated rule — its
      input is always resized to a fixed square, so pixels of the input would mean nothing to a user.
    """
    model_type = getattr(config, "model_type", "")
    if "qwen2_5_vl" not in model_type:
        return (1000.0, 1000.0)
    image_processor = processor.image_processor
    grid = image_processor(images=[frame], return_tensors="pt")["image_grid_thw"][0]
    patch = image_processor.patch_size
    return float(grid[2] * patch), float(grid[1] * patch)


def _frame_boxes(row: Mapping[str, Any], frame_count: int, size: tuple[int, int]) -> list[list[tuple]]:
    """Per key frame, its annotated boxes in unit coordinates.

    The release writes boxes per key object, not per frame: an object with one box per key frame (as many as the
    row has frames) gives box *i* to frame *i*; otherwise each of its boxes is taken as on every key frame (the
    object is shown, the frame is not said). The coordinate convention is decided per row from the frame size
    (:func:`videoespresso_hf.data.boxes.decide_box_convention`). Rows whose ``key_objects`` are empty are read
    from the tags of ``evidence_raw``.
    """
    from videoespresso_hf.data.boxes import decide_box_convention, to_pixels
    from videoespresso_hf.data.evidence import parse_evidence

    objects = [list(item.get("boxes") or []) for item in row.get("key_objects") or []]
    if not any(objects):  # a config that kept the boxes only inline in the evidence
        objects = [list(item.boxes) for item in parse_evidence(row.get("evidence_raw")).key_objects]
    width, height = size
    convention = decide_box_convention((box, size) for boxes in objects for box in boxes).name
    per_frame: list[list[tuple]] = [[] for _ in range(frame_count)]
    for boxes in objects:
        unit = [tuple(v / s for v, s in zip(to_pixels(box, convention, width, height), (width, height, width, height),
                                               strict=True)) for box in boxes]  # fmt: skip
        if len(unit) == frame_count and frame_count > 1:
            for index, box in enumerate(unit):
                per_frame[index].append(box)
        else:
            for frame in per_frame:
                frame.extend(unit)
    return per_frame


def grounding_reference(row: Mapping[str, Any], frame_size: tuple[int, int], box_scale) -> GroundingReference | None:
    """The reference the temporal/spatial rewards check a row's claims against (``None``: no key-frame times)."""
    try:
        times = core_frame_times(row)
    except ValueError:
        return None
    if not times:
        return None
    boxes = _frame_boxes(row, len(times), frame_size)
    return GroundingReference(tuple(times), tuple(tuple(frame) for frame in boxes), box_scale)


def reference_answer(config, row: Mapping[str, Any]) -> tuple[str, bool]:
    """``(reference, multiple_choice)``: the correct letter for a row with options, else its answer text."""
    options = row.get("options") or []
    letter = (row.get("correct_answer") or "").strip().strip("()")
    if options and letter and letter in config.option_letters[: len(options)]:
        return letter, True
    return str(row.get("answer") or "").strip(), False


class RLRowBuilder:
    """``datasets`` transform: a row position → trl's GRPO example, decoded on access.

    The example: ``prompt`` (the one-pass user turn of :func:`stage_messages`, an image placeholder per frame),
    ``images`` (the decoded core frames, PIL) — or, for a config whose ``frame_presentation`` is ``"video"``, a video
    placeholder and ``video``, the clip's processor arguments (see :meth:`_video_columns`) — and the columns
    the rewards read (``reference_answer``, ``multiple_choice``, ``grounding``) plus ``id`` and ``task``. A row whose
    frames fail to decode mid-run is logged and replaced by the next usable one, as in SFT.
    """

    def __init__(self, rows, positions: Sequence[int], processor, config, skip_log: SkipLog):
        self.rows = rows
        self.positions = list(positions)
        self.processor = processor
        self.config = config
        self.skip_log = skip_log

    def example(self, index: int) -> dict[str, Any]:
        for attempt in range(len(self.positions)):
            row = self.rows[self.positions[(index + attempt) % len(self.positions)]]
            try:
                return self._example(row)
            except ValueError as error:  # VideoError is a ValueError
                self.skip_log.add(str(row.get("id")), f"at decode: {first_line(error)}", STAGE)
        raise RuntimeError("no row of the dataset could be decoded; see the skipped-rows log")

    def _example(self, row: Mapping[str, Any]) -> dict[str, Any]:
        from PIL import Image

        from videoespresso_hf.models.reasoner.modeling_reasoner import frame_timestamps

        clip = decode_core_frames(row)
        seconds = frame_timestamps(len(clip.frames), clip.metadata, self.config.video_fps)
        options = row.get("options") or None
        messages = stage_messages(self.config, "one_pass", seconds, row["question"], options)
        height, width = clip.frames.shape[1:3]
        reference = grounding_reference(row, (width, height), box_scale_for(self.config, self.processor, clip.frames[0]))
        answer, choice = reference_answer(self.config, row)
        if self.config.frame_presentation == "video":
            media = self._video_columns(clip)
        else:
            media = {"images": [Image.fromarray(frame) for frame in clip.frames]}
        return {
            "prompt": messages,
            **media,
            "reference_answer": answer,
            "multiple_choice": choice,
            "grounding": reference.to_dict() if reference else None,
            "id": str(row.get("id")),
            "task": str(row.get("task") or ""),
        }

    def _video_columns(self, clip) -> dict[str, Any]:
        """``{"video": ...}``: the processor arguments ``build_stage_inputs`` gives this clip in the ``"video"``
        presentation (:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.video_processor_inputs`)."""
        from videoespresso_hf.models.reasoner.modeling_reasoner import video_processor_inputs

        return {"video": video_processor_inputs(self.config, self.processor, clip.frames, clip.metadata)}

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        examples = [self.example(index) for index in batch["sample"]]
        return {key: [example[key] for example in examples] for key in examples[0]}

    def dataset(self):
        import datasets

        return datasets.Dataset.from_dict({"sample": list(range(len(self.positions)))}).with_transform(self)


def requested_frame_presentation(arguments: ReasonerRLArguments) -> str | None:
    """``--frame-presentation``, else the one the SFT adapter RL continues (``--init-adapter``) was trained with."""
    return arguments.frame_presentation or saved_frame_presentation(arguments.init_adapter)


def planned_frame_presentation(arguments: ReasonerRLArguments) -> str | None:
    """The frame presentation RL will train with, read from the reasoner's ``config.json`` alone (no weights), and
    refused (one line) where it cannot train: a presentation the family cannot build (its config class's
    ``supported_presentations``, as :func:`apply_frame_presentation` checks after loading), or native video with
    rollouts that send no video (:func:`~videoespresso_hf.training.grpo_video.check_video_rollouts`).

    ``None`` when it cannot be known before loading (``--model`` a LoRA adapter folder with no flag: the adapter's
    saved presentation applies; :func:`apply_frame_presentation` checks it after loading)."""
    import importlib

    from transformers import PretrainedConfig

    from videoespresso_hf.models.hybrid import adapter_base_model, reasoner_backbone

    hub = {"trust_remote_code": arguments.trust_remote_code}
    try:
        base = adapter_base_model(arguments.model, {})
        backbone = reasoner_backbone(base or arguments.model, hub)  # refuses an unsupported family
        settings = PretrainedConfig.get_config_dict(base or arguments.model)[0]
    except OSError as error:
        raise ValueError(f"cannot load the reasoner {arguments.model}: {first_line(error)}") from error
    # the family's config class only (backbone.classes() would import the modeling code, and torch)
    config_class = getattr(importlib.import_module("videoespresso_hf.models.reasoner.configuration_reasoner"),
                           backbone.config_class)  # fmt: skip
    presentation = requested_frame_presentation(arguments)
    if presentation is None and base is not None:
        presentation = saved_frame_presentation(arguments.model)
    elif presentation is None:
        presentation = settings.get("frame_presentation", config_class.frame_presentation)
    if presentation is None:
        return None
    apply_frame_presentation(config_class(), presentation)  # the family's own check, on a config without weights
    if presentation == "video":
        from videoespresso_hf.training.grpo_video import check_video_rollouts

        check_video_rollouts(arguments.trainer_overrides)
    return presentation


def trainer_class_for(config: PretrainedConfig) -> type[GRPOTrainer]:
    """The trainer for a reasoner config: trl's ``GRPOTrainer`` for frames as images, :class:`~videoespresso_hf.
    training.grpo_video.VideoGRPOTrainer` for native video (``frame_presentation="video"``)."""
    if config.frame_presentation == "video":
        from videoespresso_hf.training.grpo_video import VideoGRPOTrainer

        return VideoGRPOTrainer
    from trl import GRPOTrainer

    return GRPOTrainer


def generation_suppress_ids(config) -> list[int]:
    """The media placeholder ids generation must never sample (image and video pads, where the family has them)."""
    ids = [getattr(config, name, None) for name in ("image_token_id", "video_token_id", "image_token_index")]
    return sorted({int(value) for value in ids if value is not None})


def grpo_config(arguments: ReasonerRLArguments, output_dir: Path, accumulation: int, model_config):
    """trl's ``GRPOConfig`` from the settings: the shared trainer fields, the RL ones, ``trainer_overrides`` last
    (so every ``GRPOConfig`` field is reachable: ``--set NAME=VALUE``)."""
    from trl import GRPOConfig

    settings = arguments.trainer_settings(output_dir, arguments.resolved_learning_rate(), accumulation)
    overrides = dict(arguments.trainer_overrides)
    rl = {
        "num_generations": arguments.num_generations,
        "beta": arguments.beta,
        "max_completion_length": arguments.max_completion_length,
        "temperature": arguments.temperature,
        "reward_weights": arguments.reward_weights,
        "generation_kwargs": {"suppress_tokens": generation_suppress_ids(model_config)},
        "log_completions": False,
    }
    for name, value in overrides.items():  # an override wins, a generation_kwargs override keeps the suppress list
        if name == "generation_kwargs" and isinstance(value, Mapping):
            value = {**rl["generation_kwargs"], **value}
        rl[name] = value
    return GRPOConfig(**{**settings, **rl})


def reward_means(log_history: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Per reward, its logged ``rewards/<name>/mean`` values in order (NaN: no row of that step had one)."""
    return {name: [entry[f"rewards/{name}/mean"] for entry in log_history if f"rewards/{name}/mean" in entry]
            for name in REWARD_NAMES}  # fmt: skip


def _sft_parent(arguments: ReasonerRLArguments, model) -> tuple[str | None, str | None]:
    """``(parent, kind)``: what RL continued. ``kind`` ``"adapter"``: the SFT adapter (``init_adapter``), trained on as
    the RL adapter; ``"merged"``: a merged SFT reasoner given as ``--model`` (its config names the base it was merged
    from), under a new LoRA adapter or fully fine-tuned; ``(None, None)`` from a base model."""
    if arguments.init_adapter:
        return str(arguments.init_adapter), "adapter"
    if getattr(model.config, "base_model_id", None):
        return arguments.model, "merged"
    return None, None


def _rollouts(config) -> str:
    """How the ``GRPOConfig`` generates rollouts (the card's "Rollouts" line and the start line say it)."""
    if getattr(config, "use_vllm", False):
        return "vllm"
    return "continuous_batching" if getattr(config, "use_transformers_continuous_batching", False) else "generate"


def _base_model(arguments: ReasonerRLArguments, model) -> str:
    """The base VLM under the run: a merged SFT reasoner's recorded base, else ``--model``."""
    return str(getattr(model.config, "base_model_id", None) or arguments.model)


@contextmanager
def _cpu_rollout_threads(arguments: ReasonerRLArguments, say):
    """One torch thread per process for a CPU run, unless ``OMP_NUM_THREADS`` says otherwise.

    Why: a rollout decodes token by token, so an RL step on CPU is tens of thousands of tiny ops (a decode step is
    ``batch × 1`` tokens). With torch's default of one intra-op thread per core, every op waits for its sibling
    thread, and on a CPU other processes share that wait is a scheduler time slice per op: the hidden check
    (``--max-steps 2``, default 768-token completions, tiny Qwen2.5-VL) took ~16 min on 2 shared cores. One step of
    it, before/after in one run on that machine (``benchmarks/rl_step_profile.py --threads --steps 1``): 112.9 s →
    32.7 s, 3.5× (start-up included; the gap grows with the machine's load). ``accelerate launch`` (torchrun)
    already sets ``OMP_NUM_THREADS=1`` per process; GPU runs are left alone.
    """
    import torch

    if not arguments.cpu_only() or os.environ.get("OMP_NUM_THREADS"):
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    if before != 1:
        say(f"stage rl: CPU run: 1 torch thread instead of {before} (rollouts are many tiny ops; set OMP_NUM_THREADS to choose)")
    try:
        yield
    finally:
        torch.set_num_threads(before)


def validate_rl(arguments: ReasonerRLArguments) -> None:
    """Every check that needs no data and no model (called before anything is read or loaded)."""
    check_trl_version()
    if arguments.num_generations < 2:
        raise ValueError(f"--num-generations {arguments.num_generations}: GRPO compares at least 2 completions per prompt")
    if arguments.reward_weights is not None and len(arguments.reward_weights) != len(REWARD_NAMES):
        raise ValueError(
            f"--reward-weights takes {len(REWARD_NAMES)} numbers ({', '.join(REWARD_NAMES)}), got {len(arguments.reward_weights)}"
        )
    if arguments.full_finetune and arguments.init_adapter:
        raise ValueError("full fine-tuning starts from a full checkpoint: merge the SFT adapter (--merge) and pass OUT/merged as --model")
    overrides = arguments.trainer_overrides
    if arguments.effective_batch_size % arguments.num_generations and not {"generation_batch_size", "steps_per_generation"} & set(overrides):
        # trl generates one effective batch per step (per-device × processes × steps_per_generation, which defaults to
        # the accumulation): whole groups only. Said here, in our flags, before anything loads (trl says it later).
        raise ValueError(
            f"--effective-batch-size {arguments.effective_batch_size} is not a multiple of --num-generations "
            f"{arguments.num_generations}: each step samples whole groups of G completions per prompt"
        )
    if arguments.max_completion_length < 1:
        raise ValueError(f"--max-completion-length {arguments.max_completion_length}: must be at least 1")


def _usable_rows(arguments: ReasonerRLArguments, rows, skip_log: SkipLog, say):
    positions, reasons = check_rows(rows, ("question",), skip_log, STAGE)
    answered = [position for position in positions if (rows[position].get("answer") or rows[position].get("correct_answer"))]
    for position in sorted(set(positions) - set(answered)):
        skip_log.add(str(rows[position].get("id")), "empty answer", STAGE)
    reasons.update({"empty answer": len(positions) - len(answered)} if len(answered) < len(positions) else {})
    say(f"stage rl: {len(answered)} rows to train on, {sum(reasons.values())} skipped {dict(reasons)}")
    if not answered:
        raise ValueError(
            f"stage rl: no usable row in {arguments.data} ({arguments.config}): RL needs rows with core frames and an "
            f"answer; configs with evidence: {', '.join(CONFIGS_WITH_EVIDENCE)} (see {skip_log.path})"
        )
    return answered, dict(reasons)


def _fill_generation_batch(positions: list[int], config, say) -> list[int]:
    """Repeat the rows when there are fewer than one generation batch asks for (``generation_batch_size /
    num_generations`` distinct prompts): trl's sampler drops an incomplete batch, and would train on nothing."""
    needed = config.generation_batch_size // config.num_generations
    if len(positions) >= needed:
        return positions
    say(f"stage rl: {len(positions)} rows for {needed} prompts per generation batch: rows repeated")
    return (positions * -(-needed // len(positions)))[: max(needed, len(positions))]


def _load_policy(arguments: ReasonerRLArguments, say):
    """The model RL trains (reasoning_mode="one_pass"), its processor and the LoRA config for a new adapter."""
    import torch
    from peft import LoraConfig, PeftModel

    from videoespresso_hf.training.reasoner import load_reasoner_for_training

    dtype = torch.bfloat16 if arguments.resolved_bf16() else torch.float32
    model, processor = load_reasoner_for_training(
        arguments.model, dtype=dtype, trust_remote_code=arguments.trust_remote_code, frame_size=arguments.frame_size
    )
    model.config.reasoning_mode = "one_pass"
    if arguments.full_finetune:
        say("stage rl: full fine-tuning (every weight)")
        return model, processor, None
    if arguments.init_adapter:
        say(f"stage rl: continuing the SFT adapter in {arguments.init_adapter}")
        return PeftModel.from_pretrained(model, arguments.init_adapter, is_trainable=True), processor, None
    lora = LoraConfig(r=arguments.lora_r, lora_alpha=arguments.lora_alpha, lora_dropout=arguments.lora_dropout,
                      target_modules=arguments.lora_target_modules, task_type="CAUSAL_LM")  # fmt: skip
    return model, processor, lora


def _save_one_pass_mode(folder: Path, full_finetune: bool, config) -> None:
    if full_finetune:
        return  # save_model wrote config.json with reasoning_mode="one_pass" (and the frame presentation)
    record_frame_presentation(folder, config, reasoning_mode="one_pass")  # inference presents as RL did


def train_rl(arguments: ReasonerRLArguments, rows, run, callbacks=None) -> Path:
    """Run GRPO (see the module docstring); returns ``OUT/rl``.

    Raises:
        ValueError: trl outside the tested range, bad settings, no usable row, a frame presentation the family or
            the rollout settings cannot train (all before any model loads or ``OUT/rl`` is made), an unloadable model
            (one-line messages).
    """
    from transformers.trainer_utils import get_last_checkpoint

    from videoespresso_hf.training.reasoner import _check_lora_placement
    from videoespresso_hf.training.rl_templates import rl_chat_templates, rl_template_callbacks

    validate_rl(arguments)
    main_process = run.state.is_main_process
    say = print if main_process else (lambda *_: None)
    folder = run.output / STAGE
    if (folder / SUMMARY_FILE).is_file():
        say(f"stage rl: already finished in {folder} (delete it to train again)")
        return folder
    check_log = SkipLog(run.skip_log.path, enabled=main_process)
    positions, skipped = _usable_rows(arguments, rows, check_log, say)
    planned_frame_presentation(arguments)  # refused from config.json, before any weights load or OUT/rl exists
    folder.mkdir(parents=True, exist_ok=True)

    model, processor, lora = _load_policy(arguments, say)
    apply_frame_presentation(model.config, requested_frame_presentation(arguments))
    trainer_class = trainer_class_for(model.config)
    config = grpo_config(arguments, folder, run.accumulation, model.config)
    say(
        f"stage rl: GRPO with G={config.num_generations}, beta={config.beta}, lr={config.learning_rate}, "
        f"max completion {config.max_completion_length}, temperature {config.temperature}, rewards "
        f"{', '.join(REWARD_NAMES)} weighted {list(config.reward_weights or [1.0] * len(REWARD_NAMES))}, "
        f"{'full fine-tuning' if arguments.full_finetune else 'LoRA on the language model'}; rollouts with {_rollouts(config)}; "
        f"frames as {model.config.frame_presentation} ({trainer_class.__name__})"
    )
    template_callbacks = rl_template_callbacks(processor, model.config)  # LLaVA: frames inline
    callbacks = [*(callbacks or []), *template_callbacks]
    dataset = RLRowBuilder(rows, _fill_generation_batch(positions, config, say), processor, model.config,
                           run.skip_log).dataset()  # fmt: skip
    trainer = trainer_class(
        model=model, reward_funcs=list(REWARD_FUNCTIONS), args=config, train_dataset=dataset,
        processing_class=processor, peft_config=lora, callbacks=list(callbacks or []),
    )  # fmt: skip
    if not arguments.full_finetune:
        _check_lora_placement(trainer.model)
    last_checkpoint = get_last_checkpoint(str(folder))
    if last_checkpoint:
        say(f"stage rl: resuming from {last_checkpoint}")
    with _cpu_rollout_threads(arguments, say), rl_chat_templates(template_callbacks):
        result = trainer.train(resume_from_checkpoint=last_checkpoint)
    trainer.save_model(str(folder))
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(folder))
        _save_one_pass_mode(folder, arguments.full_finetune, model.config)
        parent, parent_kind = _sft_parent(arguments, model)
        summary = {
            "stage": STAGE,
            "global_step": trainer.state.global_step,
            "train_rows": len(positions),
            "skipped_rows": skipped,  # by reason, before training (rows failing at decode: the skipped-rows log)
            "rewards": reward_means(trainer.state.log_history),
            "losses": logged_losses(trainer.state.log_history),
            "train_loss": result.training_loss,
            "reasoning_mode": "one_pass",
            "frame_presentation": model.config.frame_presentation,
            "learning_rate": config.learning_rate,
            "num_generations": config.num_generations,
            "beta": config.beta,
            "reward_weights": dict(zip(REWARD_NAMES, config.reward_weights or [1.0] * len(REWARD_NAMES), strict=True)),
            "full_finetune": arguments.full_finetune,
            "sft_parent": parent,
            "sft_parent_kind": parent_kind,  # "adapter" / "merged" / None: the card words each
            "rollouts": _rollouts(config),
            "base_model": _base_model(arguments, model),
            "max_completion_length": config.max_completion_length,
            "temperature": config.temperature,
            "effective_batch_size": arguments.effective_batch_size,
            "gradient_accumulation_steps": run.accumulation,
            "world_size": run.state.num_processes,
            "arguments": asdict(arguments),
        }
        write_training_record(folder, kind="reasoner", base_model=summary["base_model"], summary=summary)
    trainer.accelerator.wait_for_everyone()
    return folder
