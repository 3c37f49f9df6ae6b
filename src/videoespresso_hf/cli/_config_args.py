"""Flags generated from a job's config dataclass, so that every default and help text lives once: in the
dataclass that the Python entry point (``videoespresso_hf.predict`` …) takes too.

transformers' ``HfArgumentParser`` turns each dataclass field into a flag (``--max_new_tokens`` and
``--max-new-tokens`` alike; ``metadata={"help": ...}`` is its help; a ``bool`` field is ``--flag`` and, when it
defaults to true, also ``--no-flag``). A command built here is parse → ``config_from_args`` → call → print.

``--args-file FILE`` (YAML or JSON, keys = field names) sets the fields first; flags given on the command line
win. A command line and the same settings in a file make the same config.

Usage, in a ``cli/<command>.py``::

    def register(subparsers):
        parser = add_config_command(subparsers, "predict", PredictConfig, help="...")
        parser.set_defaults(func=run)

    def run(args):
        result = predict(config_from_args(args, PredictConfig))
        print(result.summary)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from videoespresso_hf.cli.main import UserError
from videoespresso_hf.errors import first_line

T = TypeVar("T")

ARGS_FILE_FLAG = "--args-file"


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every flag's help ends with its default (read from the dataclass); descriptions keep their lines.

    A help that already states its default (``"... (default: BAAI/bge-m3)"``, for a field whose dataclass
    default is None meaning "not set here") is left as it is rather than followed by ``(default: None)``.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help and "default:" in action.help:
            return action.help
        return super()._get_help_string(action)


def add_config_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    config_class: type | Callable[[], type],
    *,
    help: str,
    description: str | None = None,
    on_fields: Callable[[argparse.ArgumentParser], None] | None = None,
    positional: str | None = None,
) -> argparse.ArgumentParser:
    """Add subcommand ``name`` whose flags are the fields of ``config_class`` (a dataclass).

    ``config_class`` may be a function returning the dataclass, for a job whose module is slow to import (it is
    then imported when this command is parsed, like the fields). The field flags are added when this command is
    first parsed (its own run or ``--help``), not when the parser is
    built: ``HfArgumentParser`` imports transformers (~1 s), which every other command would pay otherwise.
    ``on_fields(parser)`` runs right after they are added (to adjust a generated flag).

    ``positional`` names a field given without a flag (``videoespresso build VIDEO... --out OUT``: a list field
    without default becomes one or more required positional arguments). A command with a positional argument has
    its ``bool`` flags as plain switches (``--dry-run``, not ``--dry-run [BOOL]``, whose optional value would
    swallow the positional after it); an optional ``bool | None`` field (None: "not set here") becomes the pair
    ``--flag`` / ``--no-flag``.

    Returns the subparser, for ``set_defaults(func=...)`` and any flag that is not a config field (e.g. an
    output format that only the CLI prints).
    """
    parser = subparsers.add_parser(name, help=help, description=description, formatter_class=_HelpFormatter)
    parser.add_argument(
        ARGS_FILE_FLAG,
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML or JSON file of settings (keys = the option names with underscores); flags given here win",
    )
    if dataclasses.is_dataclass(config_class):
        parser.set_defaults(config_class=config_class)
    parse_known_args = parser.parse_known_args  # the class's, wrapped by this instance's below

    def parse_with_fields(args=None, namespace=None):
        if not getattr(parser, "_config_fields_added", False):
            from transformers import HfArgumentParser

            parser._config_fields_added = True
            dataclass = config_class if dataclasses.is_dataclass(config_class) else config_class()
            parser.set_defaults(config_class=dataclass)
            for action in HfArgumentParser(dataclass, add_help=False)._actions:
                if action.dest == positional:
                    parser.add_argument(action.dest, nargs=action.nargs, type=action.type, help=action.help)
                elif positional is not None and _takes_a_bool(action):
                    _add_switches(parser, action)
                else:
                    parser._add_action(action)
            if on_fields is not None:
                on_fields(parser)
        return parse_known_args(args, namespace)

    parser.parse_known_args = parse_with_fields
    return parser


def _takes_a_bool(action: argparse.Action) -> bool:
    """A flag ``HfArgumentParser`` made for a ``bool`` field (``--flag [BOOL]``; not its ``--no-flag``)."""
    from transformers.hf_argparser import string_to_bool

    return action.type is string_to_bool


def _add_switches(parser: argparse.ArgumentParser, action: argparse.Action) -> None:
    """``--flag`` that takes no value in place of ``action``; for an optional bool, ``--no-flag`` beside it."""
    parser.add_argument(
        *action.option_strings, action="store_const", const=True, default=action.default, dest=action.dest,
        help=action.help,
    )  # fmt: skip
    if action.default is None:  # a bool default True already has HfArgumentParser's --no-flag
        parser.add_argument(
            f"--no_{action.dest}", f"--no-{action.dest.replace('_', '-')}", action="store_const", const=False,
            dest=action.dest, default=None, help=f"the opposite of --{action.dest.replace('_', '-')} (default: neither)",
        )  # fmt: skip


def read_args_file(path: Path, config_class: type) -> dict[str, Any]:
    """The settings of an ``--args-file``: a mapping whose keys are fields of ``config_class``.

    Raises:
        UserError: the file is missing, is not YAML/JSON, is not a mapping, or names an unknown field.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(f"{ARGS_FILE_FLAG} {path}: {error.strerror or error}") from None
    try:
        if path.suffix.lower() == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text)
    except Exception as error:  # json's ValueError or yaml.YAMLError (no common base)
        kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
        raise UserError(f"{ARGS_FILE_FLAG} {path}: not valid {kind}: {first_line(error)}") from None
    if not isinstance(values, dict):
        raise UserError(f"{ARGS_FILE_FLAG} {path}: expected a mapping of option names to values")
    known = {field.name for field in dataclasses.fields(config_class) if field.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UserError(f"{ARGS_FILE_FLAG} {path}: unknown option(s) {', '.join(unknown)}")
    return values


def parse_with_args_file(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; when it names ``--args-file``, the file's settings become the subcommand's defaults first,
    so that flags on the command line override them."""
    args = parser.parse_args(argv)
    path = getattr(args, "args_file", None)
    config_class = getattr(args, "config_class", None)
    if path is None or config_class is None:
        return args
    subparser = _subparser_for(parser, args)
    subparser.set_defaults(**read_args_file(path, config_class))
    return parser.parse_args(argv)


def _subparser_for(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost sub-command parser ``args`` went through (``train`` → ``reasoner``): the one whose defaults
    the file's settings must replace."""
    chosen = None
    while True:
        actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
        name = getattr(args, actions[0].dest, None) if actions else None
        if name is None:
            break
        parser = chosen = actions[0].choices[name]
    if chosen is None:  # pragma: no cover - every parser built by cli.main has subcommands
        raise LookupError("no sub-command")
    return chosen


def config_from_args(args: argparse.Namespace, config_class: type[T]) -> T:
    """The config dataclass holding the parsed flags (fields the parser does not have keep their defaults)."""
    values = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(config_class)
        if field.init and hasattr(args, field.name)
    }
    try:
        return config_class(**values)
    except (TypeError, ValueError) as error:
        raise UserError(first_line(error)) from None
