"""``videoespresso train reasoner|selector``: the training recipes, also under ``accelerate launch``.

Any ``SFTConfig`` / ``TrainingArguments`` field not covered by a flag is set with ``--set NAME=VALUE``
(repeatable; e.g. ``--set gradient_checkpointing=false --set optim=adamw_torch_fused``), applied last.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from videoespresso_hf.cli.main import UserError
from videoespresso_hf.errors import first_line

TABLE8 = "default from the paper's Table 8"


def _common(parser: argparse.ArgumentParser, default_model_help: str) -> None:
    parser.add_argument("--model", default=None, help=default_model_help)
    parser.add_argument("--data", required=True, help="a folder written by `videoespresso data prepare`")
    parser.add_argument("--config", default="train_video", help="config of --data: train_video, train_multi_image, generated")
    parser.add_argument("--split", default="train")
    parser.add_argument("--output", required=True, help="output folder (a re-run resumes from its checkpoints)")
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps")
    parser.add_argument("--max-rows", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--effective-batch-size", type=int, default=16, help=f"per-device × accumulation × processes ({TABLE8})")
    parser.add_argument("--per-device-batch-size", type=int, default=1)
    parser.add_argument("--epochs", type=float, default=1.0, help=TABLE8)
    parser.add_argument("--save-steps", type=int, default=200, help="checkpoint every N steps (resume point)")
    parser.add_argument("--logging-steps", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (frame decoding)")
    parser.add_argument("--bf16", choices=("auto", "true", "false"), default="auto", help="auto: where the GPU supports it")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--push-to-hub", default=None, metavar="REPO", help="push the result with its card to this repo")
    parser.add_argument("--trust-remote-code", action="store_true")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="any other trainer setting (SFTConfig / TrainingArguments field), repeatable")  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune the reasoner (two stages, LoRA) or train the selector")
    commands = parser.add_subparsers(dest="train_command", metavar="WHAT", required=True)

    reasoner = commands.add_parser(
        "reasoner", help="two-stage LoRA fine-tuning: question → evidence, then question + evidence → answer",
        description="Two-stage LoRA fine-tuning of the reasoner (paper §4.3, Table 8). --set NAME=VALUE "
        "sets any other field of trl's SFTConfig.",
    )  # fmt: skip
    _common(reasoner, "base VLM or reasoner checkpoint (default Qwen/Qwen2.5-VL-7B-Instruct)")
    reasoner.add_argument("--stage", choices=("1", "2", "both", "rl"), default="both",
                          help="rl: GRPO with grounded rewards (settings below; --set takes GRPOConfig fields)")  # fmt: skip
    reasoner.add_argument("--init-adapter", default=None, help="stage-1 adapter that --stage 2 continues")
    reasoner.add_argument("--lr-stage1", type=float, default=2e-5, help=TABLE8)
    reasoner.add_argument("--lr-stage2", type=float, default=1e-5, help=TABLE8)
    reasoner.add_argument("--lora-r", type=int, default=16)
    reasoner.add_argument("--lora-alpha", type=int, default=32)
    reasoner.add_argument("--frame-size", type=int, default=224, help=f"frames get the pixels of a SIZE-px square, via the reasoner config's min/max_pixels ({TABLE8})")
    reasoner.add_argument("--max-length", type=int, default=6144, help=TABLE8)
    reasoner.add_argument("--evidence-field", choices=("evidence_raw", "evidence"), default="evidence_raw",
                          help="evidence_raw keeps the <obj_start>…<box_end> tags; evidence is plain text")  # fmt: skip
    reasoner.add_argument("--merge", action="store_true", help="also write OUT/merged, a full reasoner checkpoint")
    _rl_flags(reasoner)
    reasoner.set_defaults(func=run_reasoner)

    selector = commands.add_parser(
        "selector", help="train the selector's chooser on annotated core frames (captions cached on disk)",
        description="Supervised chooser training: candidates by the selector's rule, labels from the core frames. "
        "--set NAME=VALUE sets any other field of transformers' TrainingArguments.",
    )  # fmt: skip
    _common(selector, "a saved selector, or 'components' to assemble --captioner + --chooser (default)")
    selector.add_argument("--captioner", default=None, help="captioner id with --model components (OpenGVLab/InternVL3-1B-hf)")
    selector.add_argument("--chooser", default=None, help="chooser id with --model components (Qwen/Qwen2.5-0.5B-Instruct)")
    selector.add_argument("--caption-cache", default=None, help="caption cache folder (default: under HF_HOME)")
    selector.add_argument("--candidate-fps", type=float, default=None, help="override the selector's candidate rate")
    selector.add_argument("--max-candidates", type=int, default=None)
    selector.add_argument("--lr", type=float, default=1e-5)
    selector.add_argument("--no-balance-labels", dest="balance_labels", action="store_false",
                          help="do not repeat core-frame (positive) examples to balance the labels")  # fmt: skip
    selector.set_defaults(func=run_selector)


# ------------------------------------------------------------------ --stage rl (GRPO, issue 20)
def _rl_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of ``--stage rl``, one per :class:`~videoespresso_hf.training.arguments.ReasonerRLArguments` field."""
    group = parser.add_argument_group("--stage rl (GRPO; defaults: Video-R1 / Open-o3 Video)")
    group.add_argument("--num-generations", type=int, default=8, help="completions per prompt (G)")
    group.add_argument("--beta", type=float, default=0.04, help="KL coefficient")
    group.add_argument("--lr-rl", type=float, default=None, help="default 1e-6 with --full-finetune, 1e-5 for LoRA")
    group.add_argument("--max-completion-length", type=int, default=768)
    group.add_argument("--temperature", type=float, default=1.0, help="rollout sampling temperature")
    group.add_argument("--full-finetune", action="store_true", help="train every weight instead of a LoRA adapter")
    group.add_argument("--reward-weights", type=float, nargs=4, default=None, metavar=("ANSWER", "FORMAT", "TEMPORAL", "SPATIAL"),
                       help="weights of the four rewards (default: all 1)")  # fmt: skip


def _rl_fields(args: argparse.Namespace) -> dict:
    return {"num_generations": args.num_generations, "beta": args.beta, "learning_rate_rl": args.lr_rl,
            "max_completion_length": args.max_completion_length, "temperature": args.temperature,
            "full_finetune": args.full_finetune, "reward_weights": args.reward_weights}  # fmt: skip


# ------------------------------------------------------------------
def trainer_overrides(settings: list[str], config_class) -> dict:
    """``["name=value", ...]`` → typed fields of ``config_class`` (an ``SFTConfig`` / ``TrainingArguments``)."""
    from transformers import HfArgumentParser

    pairs = []
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep or not name:
            raise UserError(f"--set {setting!r}: expected NAME=VALUE")
        pairs.append((name.strip().replace("-", "_"), value))
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = [name for name, _ in pairs if name not in known]
    if unknown:
        raise UserError(f"--set {unknown[0]}: not a field of {config_class.__name__}")
    if not pairs:
        return {}
    argv = [token for name, value in pairs for token in (f"--{name}", value)]
    try:  # typed by the dataclass's own argparse parser; the config itself is built later, with every setting
        parsed = HfArgumentParser(config_class).parse_args([*argv, "--output_dir", "unused"])
    except SystemExit as error:
        raise UserError(f"bad value in --set {' '.join(settings)}") from error
    return {name: getattr(parsed, name) for name, _ in pairs}


def _common_fields(args: argparse.Namespace) -> dict:
    if args.push_to_hub:
        from huggingface_hub.utils import HFValidationError, validate_repo_id

        try:
            validate_repo_id(args.push_to_hub)
        except HFValidationError as error:
            raise UserError(f"--push-to-hub {args.push_to_hub!r} is not a repo id (use user/name): {error}") from error
    if not Path(args.data).is_dir():
        raise UserError(f"--data {args.data}: no such folder (run `videoespresso data prepare` first)")
    return {
        "data": args.data, "config": args.config, "split": args.split, "output_dir": args.output,
        "max_steps": args.max_steps, "max_rows": args.max_rows, "effective_batch_size": args.effective_batch_size,
        "per_device_batch_size": args.per_device_batch_size, "num_train_epochs": args.epochs,
        "save_steps": args.save_steps, "logging_steps": args.logging_steps, "dataloader_num_workers": args.workers,
        "bf16": {"auto": None, "true": True, "false": False}[args.bf16], "seed": args.seed,
        "push_to_hub": args.push_to_hub, "trust_remote_code": args.trust_remote_code,
    }  # fmt: skip


def _run(train, arguments) -> int:
    from videoespresso_hf.training.arguments import gradient_accumulation_for

    try:
        gradient_accumulation_for(arguments.effective_batch_size, arguments.per_device_batch_size, 1)
        train(arguments)
    except ValueError as error:
        raise UserError(first_line(error)) from error
    return 0


def _require_training_extra() -> None:
    """The reasoner recipe needs trl and peft (the ``train`` extra); the selector's needs neither."""
    import importlib.util

    missing = [name for name in ("trl", "peft") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"training needs {' and '.join(missing)}: pip install 'videoespresso-hf[train]'")


def run_reasoner(args: argparse.Namespace) -> int:
    _require_training_extra()
    from trl import GRPOConfig, SFTConfig

    from videoespresso_hf.training.arguments import ReasonerRLArguments, ReasonerTrainingArguments
    from videoespresso_hf.training.reasoner import train_reasoner

    rl = args.stage == "rl"  # --stage rl: the RL settings, and --set takes GRPOConfig fields
    trainer_config = GRPOConfig if rl else SFTConfig
    arguments = (ReasonerRLArguments if rl else ReasonerTrainingArguments)(
        **(_rl_fields(args) if rl else {}),
        **_common_fields(args),
        **({"model": args.model} if args.model else {}),
        stage=args.stage, init_adapter=args.init_adapter, learning_rate_stage1=args.lr_stage1,
        learning_rate_stage2=args.lr_stage2, lora_r=args.lora_r, lora_alpha=args.lora_alpha,
        frame_size=args.frame_size, max_length=args.max_length, evidence_field=args.evidence_field, merge=args.merge,
        trainer_overrides=trainer_overrides(args.settings, trainer_config),
    )  # fmt: skip
    return _run(train_reasoner, arguments)


def run_selector(args: argparse.Namespace) -> int:
    from transformers import TrainingArguments

    from videoespresso_hf.training.arguments import SelectorTrainingArguments
    from videoespresso_hf.training.selector import train_selector

    components = {
        key: value
        for key, value in (("model", args.model), ("captioner_id", args.captioner), ("chooser_id", args.chooser))
        if value
    }
    arguments = SelectorTrainingArguments(
        **_common_fields(args), **components, caption_cache_dir=args.caption_cache,
        candidate_fps=args.candidate_fps, max_candidates=args.max_candidates, learning_rate=args.lr,
        balance_labels=args.balance_labels,
        trainer_overrides=trainer_overrides(args.settings, TrainingArguments),
    )  # fmt: skip
    return _run(train_selector, arguments)
