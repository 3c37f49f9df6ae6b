"""``videoespresso`` entry point.

Each subcommand lives in its own module of this package and exposes
``register(subparsers) -> None``; the parser it adds sets ``func`` to a callable taking the parsed
namespace and returning an exit status. Modules are imported lazily so that ``videoespresso score``
does not pay for torch.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from videoespresso_hf import __version__

# Order is the order of ``--help``; a module missing from this build is left out of the parser and the help.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "demo", "score", "judge", "data", "build", "select", "answer", "train", "predict", "env",
)  # fmt: skip
ISSUES_URL = "https://github.com/videoespresso-hf/videoespresso_hf/issues"


class UserError(Exception):
    """An error caused by the user's input: printed as one line, exit status 2."""


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse's parser, except that a usage error is ONE line (``PROG: error: MSG (see PROG --help)``), not the
    usage block with the line that matters at its end. Sub-commands inherit the class (``add_subparsers``)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="videoespresso",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"`videoespresso COMMAND --help` for a command's options.\n"
        f"Bugs and questions: {ISSUES_URL} (paste the output of `videoespresso env`).",
    )
    parser.add_argument("--version", action="version", version=f"videoespresso_hf {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(f"videoespresso_hf.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"videoespresso_hf.cli.{name}":
                continue  # subcommand not shipped in this build
            raise
        module.register(subparsers)
    # The summary names the commands actually registered, so it cannot promise one that is not there.
    parser.description = "VideoEspresso on the Hugging Face stack: " + ", ".join(subparsers.choices) + "."
    return parser


def _silence_stdout() -> None:
    """After a closed pipe (``videoespresso score … | head``), send what Python still flushes at exit to
    /dev/null, as the Python docs recommend for SIGPIPE, so the exit prints no second traceback."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    from videoespresso_hf.cli._config_args import parse_with_args_file

    parser = build_parser()
    try:
        args = parse_with_args_file(parser, argv)
    except UserError as error:
        print(f"videoespresso: error: {error}", file=sys.stderr)
        return 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a reader that went away is noticed here, not at exit
        return status
    except UserError as error:
        print(f"videoespresso {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        print("interrupted: only what the command had already written is kept; the same command resumes from it", file=sys.stderr)
        return 130
