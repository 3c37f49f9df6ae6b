"""``videoespresso train reasoner|selector``: the training recipes, also under ``accelerate launch``.

Parse → call → print. The flags are generated from the recipes' settings dataclasses
(:class:`~videoespresso_hf.training.arguments.ReasonerTrainingArguments`, ``SelectorTrainingArguments``: every
default and help text lives there), plus, the way ``trl sft`` exposes them, every other field of the trainer's
config (trl's ``SFTConfig`` for the reasoner, transformers' ``TrainingArguments`` for the selector) as a flag of
its own name, applied last: ``--optim adamw_torch_fused --activation-checkpointing false``. Those are added when a
``train`` command is parsed, so that other commands do not import trl. ``--set NAME=VALUE`` is the deprecated
spelling of the same.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path

from videoespresso_hf.cli._common import model_source
from videoespresso_hf.cli._config_args import add_config_command, config_from_args
from videoespresso_hf.cli.main import OneLineErrorParser, UserError
from videoespresso_hf.errors import first_line
from videoespresso_hf.training.arguments import (
    ReasonerRLArguments,
    ReasonerTrainingArguments,
    SelectorTrainingArguments,
)

# Trainer fields each recipe derives itself (from the effective batch, the stage, the output folder): no flag.
DERIVED_TRAINER_FIELDS = frozenset({"output_dir", "per_device_train_batch_size", "gradient_accumulation_steps"})
TRAINER_GROUP = "trainer settings ({name} fields, applied last; `--set NAME=VALUE` is the deprecated spelling)"


def _sft_config() -> type:
    from trl import SFTConfig

    return SFTConfig


def _grpo_config() -> type:
    from trl import GRPOConfig

    return GRPOConfig


def _training_arguments() -> type:
    from transformers import TrainingArguments

    return TrainingArguments


# sub-command -> the trainer config classes whose fields are its flags (first class wins a shared name). Another
# trainer of the same recipe (e.g. trl's GRPOConfig for an RL stage) adds its class to the tuple: its fields become
# flags too, and the run keeps those its trainer has.
TRAINER_CONFIGS: dict[str, Callable[[], tuple[type, ...]]] = {
    "reasoner": lambda: (_sft_config(), _grpo_config()),
    "selector": lambda: (_training_arguments(),),
}


class _TrainParser(OneLineErrorParser):
    """A ``train`` sub-command's parser: on first use it adds every field of its trainer config(s) that the recipe's
    own dataclass does not cover as a flag (default: absent, so only the flags given become overrides)."""

    trainer_configs: Callable[[], tuple[type, ...]] | None = None  # imported only when this command is parsed
    recipe_fields: frozenset[str] = frozenset()  # the recipe's own fields and the trainer fields it derives
    _trainer_flags_added = False

    def _add_trainer_flags(self) -> None:
        from transformers import HfArgumentParser

        self._trainer_flags_added = True
        classes = self.trainer_configs()
        group = self.add_argument_group(TRAINER_GROUP.format(name=" / ".join(cls.__name__ for cls in classes)))
        added = set()
        for config_class in classes:
            earlier = set(added)  # fields an earlier class already made flags of
            for action in HfArgumentParser(config_class, add_help=False)._actions:
                if (action.dest in self.recipe_fields or action.dest in earlier
                        or any(option in self._option_string_actions for option in action.option_strings)):  # fmt: skip
                    continue
                action.default = argparse.SUPPRESS
                action.help = argparse.SUPPRESS if action.dest.startswith("gradient_checkpointing") else action.help
                group._add_action(action)
                added.add(action.dest)
        self.set_defaults(trainer_fields=tuple(sorted(added)))

    def parse_known_args(self, args=None, namespace=None):
        if self.trainer_configs is not None and not self._trainer_flags_added:
            self._add_trainer_flags()
        return super().parse_known_args(args, namespace)


def _drop_flag(parser: argparse.ArgumentParser, dest: str) -> None:
    """Remove the flag of field ``dest`` (a field the command line cannot spell, e.g. a dict)."""
    for action in [action for action in parser._actions if action.dest == dest]:
        parser._remove_action(action)
        for group in parser._action_groups:
            if action in group._group_actions:
                group._group_actions.remove(action)
        for option in action.option_strings:
            parser._option_string_actions.pop(option, None)


def _bf16(text: str) -> bool | None:
    """``--bf16 auto|true|false``: auto (``None``) is on exactly where the GPU supports it."""
    from transformers.hf_argparser import string_to_bool

    return None if text.lower() == "auto" else string_to_bool(text)


def _recipe_command(commands, name: str, config_class: type, derived: frozenset[str], help: str, description: str,
                    stage_class: type | None = None, on_fields: Callable[[argparse.ArgumentParser], None] | None = None):
    """A recipe's sub-command: flags from ``config_class`` (and, for another stage, the fields ``stage_class`` adds,
    through ``on_fields``), generated when the command is first parsed (see ``add_config_command``)."""

    def adjust(parser: argparse.ArgumentParser) -> None:
        _drop_flag(parser, "trainer_overrides")
        for action in parser._actions:
            if action.dest == "bf16":
                action.type, action.metavar = _bf16, "{auto,true,false}"
            if action.dest in ("data", "output_dir"):  # no default a run could use
                action.required, action.default = True, None
        if on_fields is not None:
            on_fields(parser)

    parser = add_config_command(commands, name, config_class, help=help, description=description, on_fields=adjust)
    parser.usage = "%(prog)s --data PREPARED --output OUT [--model MODEL] [options] [trainer settings]"
    parser.allow_abbrev = False  # among ~200 flags a prefix must not silently pick one (--learning_rate)
    parser.trainer_configs = TRAINER_CONFIGS[name]
    parser.recipe_fields = DERIVED_TRAINER_FIELDS | derived | {
        field.name for recipe in (config_class, stage_class) if recipe for field in dataclasses.fields(recipe)
    }
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="deprecated: give a trainer setting as its own flag (--NAME VALUE)")  # fmt: skip
    return parser


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="fine-tune the reasoner (two stages, LoRA) or train the selector")
    commands = parser.add_subparsers(dest="train_command", metavar="WHAT", required=True, parser_class=_TrainParser)
    reasoner = _recipe_command(
        commands, "reasoner", ReasonerTrainingArguments, frozenset({"learning_rate"}),  # per stage
        help="two-stage LoRA fine-tuning: question → evidence, then question + evidence → answer",
        description="Two-stage LoRA fine-tuning of the reasoner (paper §4.3; defaults: the paper's Table 8). Any "
        "other field of trl's SFTConfig is a flag too, applied last.",
        stage_class=ReasonerRLArguments, on_fields=_add_rl_flags,
    )  # fmt: skip
    reasoner.set_defaults(func=run_reasoner)
    selector = _recipe_command(
        commands, "selector", SelectorTrainingArguments, frozenset(),
        help="train the selector's chooser on annotated core frames (captions cached on disk)",
        description="Supervised chooser training: candidates by the selector's rule, labels from the core frames. "
        "Any other field of transformers' TrainingArguments is a flag too, applied last.",
    )  # fmt: skip
    selector.set_defaults(func=run_selector)


# ------------------------------------------------------------------ --stage rl (GRPO, issue 20)
def _add_rl_flags(parser: argparse.ArgumentParser) -> None:
    """The fields :class:`~videoespresso_hf.training.arguments.ReasonerRLArguments` adds to the SFT recipe's, as flags
    of their own group (help and defaults from the dataclass); ``--stage rl`` builds that class from them."""
    from transformers import HfArgumentParser

    sft_fields = {field.name for field in dataclasses.fields(ReasonerTrainingArguments)}
    group = parser.add_argument_group("--stage rl (GRPO with grounded rewards; defaults: Video-R1 / Open-o3 Video)")
    for action in HfArgumentParser(ReasonerRLArguments, add_help=False)._actions:
        if action.dest not in sft_fields and action.option_strings:
            group._add_action(action)


# ------------------------------------------------------------------
def trainer_overrides(settings: list[str], config_class) -> dict:
    """``["name=value", ...]`` (the deprecated ``--set``) → typed fields of ``config_class`` (an ``SFTConfig`` /
    ``TrainingArguments``)."""
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


def _arguments(args: argparse.Namespace, config_class: type, trainer_config: type):
    """The recipe's settings from the parsed flags: its own fields, then the trainer settings (``--set`` first, the
    trainer flags over them)."""
    overrides = trainer_overrides(args.settings, trainer_config)
    if overrides:  # after the check: a bad --set is its one-line error alone
        print("warning: --set is deprecated; give trainer settings as flags: --NAME VALUE", file=sys.stderr)
    overrides.update({name: getattr(args, name) for name in getattr(args, "trainer_fields", ()) if hasattr(args, name)})
    arguments = config_from_args(args, config_class)
    arguments.trainer_overrides = overrides
    if not Path(arguments.data).is_dir():
        raise UserError(f"--data {args.data}: no such folder (run `videoespresso data prepare` first)")
    return arguments


def _run(train, arguments) -> int:
    try:
        result = train(arguments)
    except ValueError as error:
        raise UserError(first_line(error)) from error
    if result.summary:  # empty on all processes but the main one under accelerate launch
        print(result.summary)
    return 0


def _require_training_extra() -> None:
    """The reasoner recipe needs trl and peft (the ``train`` extra); the selector's needs neither."""
    import importlib.util

    missing = [name for name in ("trl", "peft") if importlib.util.find_spec(name) is None]
    if missing:
        raise UserError(f"training needs {' and '.join(missing)}: pip install 'videoespresso-hf[train]'")


def run_reasoner(args: argparse.Namespace) -> int:
    _require_training_extra()
    from videoespresso_hf import train_reasoner

    rl = args.stage == "rl"  # GRPO: the RL settings, and the trainer settings are GRPOConfig's
    sft_config, grpo_config = TRAINER_CONFIGS["reasoner"]()
    arguments = _arguments(args, ReasonerRLArguments if rl else ReasonerTrainingArguments, grpo_config if rl else sft_config)
    arguments.model = model_source(arguments.model, "--model")
    if arguments.init_adapter:
        arguments.init_adapter = model_source(arguments.init_adapter, "--init-adapter")
    return _run(train_reasoner, arguments)


def run_selector(args: argparse.Namespace) -> int:
    from videoespresso_hf import train_selector

    arguments = _arguments(args, SelectorTrainingArguments, TRAINER_CONFIGS["selector"]()[0])
    if arguments.model == "components":
        arguments.captioner_id = model_source(arguments.captioner_id, "--captioner")
        arguments.chooser_id = model_source(arguments.chooser_id, "--chooser")
    else:
        arguments.model = model_source(arguments.model, "--model")
    return _run(train_selector, arguments)
