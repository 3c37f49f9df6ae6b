"""Two-stage LoRA fine-tuning of the reasoner (paper §4.3): evidence first, then answers.

>>> from videoespresso_hf.training import ReasonerTrainingArguments, train_reasoner
>>> train_reasoner(ReasonerTrainingArguments(data="prepared/", config="train_video", output_dir="out/"))  # doctest: +SKIP

Layout of ``output_dir``::

    stage1/   LoRA adapter (safetensors) + processor (with the training frame bounds) + README.md card
              + checkpoint-*/ while running
    stage2/   the same, continuing the stage-1 adapter (PeftModel.from_pretrained(..., is_trainable=True))
    merged/   with merge=True: a full reasoner checkpoint (Auto classes, trust_remote_code)
    skipped_rows.jsonl  only when a row was skipped: each with its reason

Runs unchanged under ``accelerate launch`` (DDP, DeepSpeed ZeRO-2/3, FSDP from the config files in
``videoespresso_hf/training/accelerate_configs``). A killed run resumes from the last ``checkpoint-*``
of the unfinished stage; a finished stage (its ``training_summary.json`` exists) is not run again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from videoespresso_hf.errors import first_line
from videoespresso_hf.training.arguments import ReasonerTrainingArguments, arguments_from
from videoespresso_hf.training.cards import (
    SUMMARY_FILE,
    logged_losses,
    push_folder,
    write_training_card,
    write_training_record,
)
from videoespresso_hf.training.reasoner_data import ReasonerCollator, SampleBuilder, apply_frame_size
from videoespresso_hf.training.results import (
    ReasonerTrainingResult,
    metrics_table,
    read_metrics,
    skipped_rows_line,
)
from videoespresso_hf.training.rows import SkipLog, check_rows, load_rows
from videoespresso_hf.training.startup import TrainingRun, log_as_table, start_training

if TYPE_CHECKING:
    from transformers import TrainerCallback

__all__ = [
    "apply_frame_presentation",
    "load_reasoner_for_training",
    "merge_adapter",
    "record_frame_presentation",
    "saved_frame_presentation",
    "train_reasoner",
]


def saved_frame_presentation(adapter: str | Path | None) -> str | None:
    """The ``frame_presentation`` recorded beside a local adapter of ours (``None``: no adapter, or none recorded)."""
    from videoespresso_hf.models.hybrid import ADAPTER_CONFIG_OVERRIDES

    path = Path(adapter) / ADAPTER_CONFIG_OVERRIDES if adapter else None
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8")).get("frame_presentation")


def apply_frame_presentation(config, presentation: str | None) -> None:
    """Set the reasoner config's ``frame_presentation`` for training (``None``: keep the checkpoint's), refusing
    (one line) one the family cannot build (LLaVA: images only)."""
    if presentation is not None:
        config.frame_presentation = presentation
    config.validate_two_stage()


def record_frame_presentation(folder: Path, config, **overrides: Any) -> None:
    """Write the reasoner config fields an adapter was trained with beside it (``ADAPTER_CONFIG_OVERRIDES``): an
    adapter folder has no config of its own, and inference must present the frames as training did."""
    from videoespresso_hf.models.hybrid import ADAPTER_CONFIG_OVERRIDES

    fields = {**overrides, "frame_presentation": config.frame_presentation}
    (folder / ADAPTER_CONFIG_OVERRIDES).write_text(json.dumps(fields) + "\n", encoding="utf-8")


def load_reasoner_for_training(
    model: str, *, dtype=None, trust_remote_code: bool = False, frame_size: int | None = None,
    frame_presentation: str | None = None,
):
    """The reasoner class for ``model`` (a base VLM of a supported family or a reasoner checkpoint) and its
    processor, with the training frame size in its config (:func:`apply_frame_size`) and in the processor
    (:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.save_frame_bounds`): the processor is saved
    with every adapter, which has no config of its own to carry the bounds.

    Loaded by :func:`videoespresso_hf.models.hybrid.load_reasoner`, the loader inference uses, so the adapter
    lands on the module tree ``HybridVideoQA.from_pretrained`` builds.
    """
    from videoespresso_hf.models.hybrid import load_reasoner
    from videoespresso_hf.models.reasoner.modeling_reasoner import save_frame_bounds

    hub = {"trust_remote_code": trust_remote_code}
    try:
        reasoner, processor = load_reasoner(model, {"dtype": dtype or "auto", "device_map": None, **hub}, hub)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot load the reasoner {model}: {first_line(error)}") from error
    apply_frame_size(reasoner.config, frame_size)
    save_frame_bounds(reasoner.config, processor)
    apply_frame_presentation(reasoner.config, frame_presentation)
    return reasoner, processor


def _load_base(arguments: ReasonerTrainingArguments, init_adapter: Path | None = None):
    """:func:`load_reasoner_for_training` with the recipe's settings: the model a stage trains and a merge starts from.
    The frames are presented as ``frame_presentation`` says, else as the adapter it continues was trained."""
    import torch

    dtype = torch.bfloat16 if arguments.resolved_bf16() else torch.float32
    return load_reasoner_for_training(
        arguments.model, dtype=dtype, trust_remote_code=arguments.trust_remote_code, frame_size=arguments.frame_size,
        frame_presentation=arguments.frame_presentation or saved_frame_presentation(init_adapter),
    )  # fmt: skip


def _required_text(arguments: ReasonerTrainingArguments, stage: str) -> tuple[str, ...]:
    """Row fields a sample of ``stage`` cannot do without (stage 2 reads the evidence too)."""
    return ("question", arguments.evidence_field) + (("answer",) if stage == "2" else ())


def _sft_config(arguments: ReasonerTrainingArguments, stage: str, output_dir: Path, accumulation: int):
    from trl import SFTConfig

    settings = arguments.trainer_settings(
        output_dir,
        arguments.learning_rate_stage1 if stage == "1" else arguments.learning_rate_stage2,
        accumulation,
    )
    # Samples are built by our collator from decoded frames: TRL must not tokenize them (and keeps every column,
    # remove_unused_columns=False). trainer_overrides, in settings, still win.
    return SFTConfig(**{"max_length": arguments.max_length, "dataset_kwargs": {"skip_prepare_dataset": True}, **settings})


def _lora_config(arguments: ReasonerTrainingArguments):
    from peft import LoraConfig

    return LoraConfig(
        r=arguments.lora_r,
        lora_alpha=arguments.lora_alpha,
        lora_dropout=arguments.lora_dropout,
        target_modules=arguments.lora_target_modules,
        task_type="CAUSAL_LM",
    )


def _finished(stage_dir: Path) -> bool:
    return (stage_dir / SUMMARY_FILE).is_file()


def _run_stage(
    arguments: ReasonerTrainingArguments, stage: str, rows, run: TrainingRun, init_adapter: Path | None, callbacks
) -> Path:
    from peft import PeftModel
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTTrainer

    main_process = run.state.is_main_process
    say = print if main_process else (lambda *_: None)
    stage_dir = run.output / f"stage{stage}"
    if _finished(stage_dir):
        say(f"stage {stage}: already finished in {stage_dir} (delete it to train again)")
        return stage_dir
    stage_dir.mkdir(parents=True, exist_ok=True)
    # Every process checks the rows (same result); the main one logs them.
    check_log = SkipLog(run.skip_log.path, enabled=main_process)
    positions, reasons = check_rows(rows, _required_text(arguments, stage), check_log, stage)
    skipped = skipped_rows_line(sum(reasons.values()), run.skip_log.path, reasons)
    say(f"stage {stage}: {len(positions)} rows to train on; {skipped}")
    if not positions:
        raise ValueError(f"stage {stage}: no usable row in {arguments.data} ({arguments.config}): {skipped}")

    model, processor = _load_base(arguments, init_adapter)
    say(f"stage {stage}: frames as {model.config.frame_presentation}")
    peft_config = None
    if init_adapter is not None:
        model = PeftModel.from_pretrained(model, str(init_adapter), is_trainable=True)
        say(f"stage {stage}: continuing the adapter in {init_adapter}")
    else:
        peft_config = _lora_config(arguments)
        if stage == "2":
            say("stage 2: a new LoRA adapter (no stage-1 adapter given with init_adapter, none in OUT/stage1)")
    config = _sft_config(arguments, stage, stage_dir, run.accumulation)
    dataset = SampleBuilder(
        rows, positions, processor, model.config, stage, max_length=arguments.max_length,
        evidence_field=arguments.evidence_field, skip_log=run.skip_log,
    ).dataset()  # fmt: skip
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset,
        data_collator=ReasonerCollator(processor.tokenizer.pad_token_id),
        processing_class=processor,
        peft_config=peft_config,
        callbacks=list(callbacks or []),
    )
    log_as_table(trainer)
    _check_lora_placement(trainer.model)
    last_checkpoint = get_last_checkpoint(str(stage_dir))  # the folder was created above
    if last_checkpoint:
        say(f"stage {stage}: resuming from {last_checkpoint}")
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    trainer.save_model(str(stage_dir))
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(stage_dir))
        record_frame_presentation(stage_dir, model.config)
        summary = {
            "stage": stage,
            "global_step": trainer.state.global_step,
            "train_rows": len(positions),
            "skipped_rows": dict(reasons),
            "losses": logged_losses(trainer.state.log_history),
            "train_loss": result.training_loss,
            "effective_batch_size": arguments.effective_batch_size,
            "gradient_accumulation_steps": run.accumulation,
            "world_size": run.state.num_processes,
            "learning_rate": config.learning_rate,
            # the per-frame bounds frames were sized by (saved in the processor too, which loading an adapter reads)
            "frame_pixels": {"min_pixels": model.config.min_pixels, "max_pixels": model.config.max_pixels},
            "frame_presentation": model.config.frame_presentation,
            "init_adapter": str(init_adapter) if init_adapter else None,
            "arguments": asdict(arguments),
        }
        write_training_record(stage_dir, kind="reasoner", base_model=arguments.model, summary=summary)
    trainer.accelerator.wait_for_everyone()
    return stage_dir


def _check_lora_placement(model) -> None:
    """Fail before training if a LoRA layer landed outside the language model (e.g. on the ViT)."""
    stray = [name for name, _ in model.named_modules() if name.endswith("lora_A") and "language_model" not in name]
    if stray:
        raise ValueError(f"LoRA layers outside the language model: {stray[:3]}; fix --lora-target-modules")


def merge_adapter(arguments: ReasonerTrainingArguments, adapter_dir: Path) -> Path:
    """Write ``OUT/merged``: the base reasoner with the adapter merged in, loadable with the Auto classes."""
    from peft import PeftModel

    model, processor = _load_base(arguments, adapter_dir)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.config.base_model_id = arguments.model
    out = Path(arguments.output_dir) / "merged"
    merged.save_pretrained(str(out))
    processor.save_pretrained(str(out))
    summary = json.loads((adapter_dir / SUMMARY_FILE).read_text(encoding="utf-8"))
    write_training_card(out, kind="reasoner", base_model=arguments.model, summary=summary, merged=True)
    return out


def _rl_arguments(arguments: ReasonerTrainingArguments):
    """A plain ``ReasonerTrainingArguments(stage="rl")`` promoted to ``ReasonerRLArguments`` with the RL defaults."""
    from videoespresso_hf.training.arguments import ReasonerRLArguments

    return arguments if isinstance(arguments, ReasonerRLArguments) else ReasonerRLArguments(**asdict(arguments))


def _train_rl(arguments: ReasonerTrainingArguments, rows, run: TrainingRun, callbacks) -> Path:
    """``stage="rl"``: GRPO (:mod:`videoespresso_hf.training.grpo`) → ``OUT/rl``; pushed like SFT."""
    from videoespresso_hf.training.grpo import train_rl

    folder = train_rl(arguments, rows, run, callbacks)
    if run.state.is_main_process and arguments.push_to_hub:
        url = push_folder(folder, arguments.push_to_hub, "videoespresso train reasoner --stage rl")
        print(f"pushed {folder} to {url}")
    run.state.wait_for_everyone()
    return folder


def train_reasoner(
    arguments: ReasonerTrainingArguments | None = None,
    /,
    *,
    callbacks: Sequence[TrainerCallback] | None = None,
    **settings: Any,
) -> ReasonerTrainingResult:
    """Fine-tune a reasoner on a prepared config: the configured stage(s) with LoRA (paper §4.3, Table 8 defaults).

    >>> train_reasoner(data="prepared/", config="train_video", output_dir="runs/reasoner", merge=True)  # doctest: +SKIP

    Args:
        arguments: the settings as a :class:`ReasonerTrainingArguments`, or
        **settings: its fields as keyword arguments (not both).
        callbacks: extra ``transformers.TrainerCallback`` objects (notebooks, monitoring).

    Returns:
        the folders written (``result.paths``: ``stage1``, ``stage2``, ``merged``) and each stage's metrics
        (:class:`~videoespresso_hf.training.results.ReasonerTrainingResult`).

    Raises:
        ValueError: bad settings, an unloadable model, or no usable row (one-line messages).
    """
    from videoespresso_hf.training.arguments import ReasonerRLArguments

    # Keyword arguments of an RL run (stage="rl", num_generations=…) build the RL settings directly.
    keyword_class = ReasonerRLArguments if settings.get("stage") == "rl" else ReasonerTrainingArguments
    arguments = arguments_from(ReasonerTrainingArguments if arguments is not None else keyword_class, arguments, settings)
    derived = {"bf16 (resolved)": arguments.resolved_bf16()}
    title = "videoespresso train reasoner — settings (defaults: paper Table 8)"
    if arguments.stage == "rl":
        from videoespresso_hf.training.grpo import validate_rl

        arguments = _rl_arguments(arguments)
        validate_rl(arguments)
        derived["learning_rate_rl (resolved)"] = arguments.resolved_learning_rate()
        title = "videoespresso train reasoner --stage rl — settings (RL defaults: Video-R1 / Open-o3 Video)"
    run = start_training(arguments, title, derived)
    state, output, skip_log = run.state, run.output, run.skip_log
    state.wait_for_everyone()
    rows = load_rows(arguments.data, arguments.config, arguments.split, arguments.max_rows)
    written: dict[str, Path] = {}
    stages = [] if arguments.stage == "rl" else ["1", "2"] if arguments.stage == "both" else [arguments.stage]
    if arguments.stage == "rl":
        written["rl"] = _train_rl(arguments, rows, run, callbacks)
    init_adapter = Path(arguments.init_adapter) if arguments.init_adapter else None
    for stage in stages:
        if stage == "2" and init_adapter is None and _finished(output / "stage1"):
            init_adapter = output / "stage1"
        written[f"stage{stage}"] = _run_stage(
            arguments, stage, rows, run, init_adapter if stage == "2" else None, callbacks
        )
    final = written["rl"] if arguments.stage == "rl" else written[f"stage{stages[-1]}"]
    if state.is_main_process and arguments.stage != "rl":  # the RL folder is pushed by _train_rl
        if arguments.merge:
            written["merged"] = merge_adapter(arguments, final)
        if arguments.push_to_hub:
            url = push_folder(written.get("merged", final), arguments.push_to_hub, "videoespresso train reasoner")
            print(f"pushed {written.get('merged', final)} to {url}")
    state.wait_for_everyone()
    count = len(skip_log.entries())
    metrics = {part: read_metrics(folder) for part, folder in written.items() if part != "merged"}
    table = metrics_table(metrics)
    lines = [f"done: {', '.join(f'{part} {folder}' for part, folder in written.items())}",
             skipped_rows_line(count, skip_log.path), *([table] if table else [])]  # fmt: skip
    return ReasonerTrainingResult(
        output_dir=output, paths=written, metrics=metrics, skipped_rows=count,
        skipped_rows_file=skip_log.path if count else None, summary="\n".join(lines) if state.is_main_process else "",
    )  # fmt: skip

