"""``videoespresso build``: parse → :func:`videoespresso_hf.build` → print.

The flags are :class:`videoespresso_hf.pipeline.job.BuildArguments`' fields (their help and defaults live there);
``videos`` is the positional argument, ``--config`` and ``--embedder`` are aliases declared with their fields.
"""

from __future__ import annotations

import argparse
import sys

from videoespresso_hf.cli._config_args import add_config_command, config_from_args
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.errors import first_line


def _arguments_class() -> type:
    from videoespresso_hf.pipeline.job import BuildArguments  # ~2 s of imports: only when `build` is parsed

    return BuildArguments


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_config_command(
        subparsers,
        "build",
        _arguments_class,
        positional="videos",
        help="build caption groups (and QA) from videos: sample, caption, deduplicate, group, ...",
        description=(
            "Run the VideoEspresso construction pipeline. State lives in OUT/state.sqlite: re-running the same "
            "command resumes where it stopped without redoing or re-paying finished work."
        ),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Parse → call → print: the job decides everything, the CLI maps its one-line errors to exit 2."""
    from videoespresso_hf.pipeline.job import BuildArguments, build

    arguments = config_from_args(args, BuildArguments)
    try:
        result = build(arguments, argv=sys.argv)
    except ValueError as error:  # BuildSettingsError: one line, nothing was run or sent
        raise UserError(first_line(error)) from None
    print(result.summary)
    if arguments.print_config:
        # stdout stays the JSON to save and edit; where the key goes is said beside it.
        print(f"videoespresso build: {result.key_destination}", file=sys.stderr)
        return 0
    for message in result.messages:
        print(f"videoespresso build: {message}", file=sys.stderr)
    return 0 if result.ok else 1
