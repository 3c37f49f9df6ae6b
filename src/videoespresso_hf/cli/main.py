"""``videoespresso`` entry point.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the parsed
namespace and returning an exit status. Modules are imported lazily so that ``videoespresso score``
does not pay for torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from videoespresso_hf import __version__

# Order is the order of ``--help``.
SUBCOMMAND_MODULES: tuple[str, ...] = ("demo", "score", "judge", "data", "build", "select", "answer", "predict", "train", "env")


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videoespresso",
        description="VideoEspresso on the Hugging Face stack: build, load, train and score.",
    )
    parser.add_argument("--version", action="version", version=f"videoespresso_hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"videoespresso_hf.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"videoespresso_hf.cli.{name}":
                continue  # subcommand not shipped in this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except UserError as error:
        print(f"videoespresso {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is saved and a re-run resumes", file=sys.stderr)
        return 130
