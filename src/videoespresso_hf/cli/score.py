"""``videoespresso score PREDICTIONS``: parse → :func:`videoespresso_hf.score` → print.

The flags are :class:`videoespresso_hf.ScoreConfig`'s fields; the one thing added here is the positional
predictions file(s), which argparse's generated ``--predictions`` cannot spell.
"""

from __future__ import annotations

import argparse

from videoespresso_hf.cli._config_args import add_config_command, config_from_args
from videoespresso_hf.cli.main import UserError

DESCRIPTION = (
    "Score a predictions file: a JSON list (as eval/close_ended.py writes it) or JSON Lines of bench_hard.json "
    "records with the model's `model_output` added. Every number is shown with what it covers (items and tasks "
    "out of the benchmark); --format json has one verdict per item; --diff A B compares two models item by item."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    from videoespresso_hf.evaluation.job import ScoreConfig

    parser = add_config_command(
        subparsers, "score", ScoreConfig, help="score model predictions on the 14-task benchmark", description=DESCRIPTION
    )
    parser.add_argument("files", nargs="*", default=[], metavar="PREDICTIONS",
                        help="predictions file(s) (.json list or .jsonl); several = several models side by side")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.evaluation.job import ScoreConfig, score

    config = config_from_args(args, ScoreConfig)
    config.predictions = [*args.files, *config.predictions]
    try:
        result = score(config)
    except ValueError as error:  # ScoreError and PredictionsError: one line naming the culprit
        raise UserError(str(error)) from None
    print(result.summary)
    return 0
