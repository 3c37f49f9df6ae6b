"""``videoespresso score PREDICTIONS``: score a predictions file on the 14-task benchmark."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from videoespresso_hf.cli.main import UserError


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score model predictions on the 14-task benchmark",
        description=(
            "Score a predictions file: a JSON list (as eval/close_ended.py writes it) or JSON Lines of "
            "bench_hard.json records with the model's `model_output` added."
        ),
    )
    parser.add_argument("predictions", type=Path, help="predictions file (.json list or .jsonl)")
    parser.add_argument(
        "--protocol",
        choices=("official", "robust", "similarity"),
        default="robust",
        help="official: reproduces eval/score.py (quirks included); robust (default): careful letter "
        "extraction; similarity: the paper's Algorithm 1 for free-form answers",
    )
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table", dest="fmt")
    parser.add_argument("--output", type=Path, help="also write the result here (.json: JSON, .md: Markdown, otherwise --format)")
    parser.add_argument("--name", default=None, help="row label in the table (default: the file name)")
    parser.add_argument("--embedding-model", default=None, help="similarity protocol: sentence-transformers id or path")
    parser.add_argument("--threshold", type=float, default=0.8, help="similarity protocol threshold (default 0.8)")
    parser.add_argument("--bootstrap", type=positive_int, default=1000, help="bootstrap resamples for the 95%% interval")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def write_output(path: Path, text: str) -> None:
    """Write ``text`` beside ``path`` and rename it there: a failure never leaves a half-written file.

    Raises:
        UserError: the file cannot be written (one line; the temporary file is removed).
    """
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp", encoding="utf-8") as handle:
            temporary = Path(handle.name)
            handle.write(text + "\n")
        os.replace(temporary, path)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.embeddings import DEFAULT_EMBEDDING_MODEL
    from videoespresso_hf.evaluation.predictions import PredictionsError
    from videoespresso_hf.evaluation.report import render
    from videoespresso_hf.evaluation.scorer import score_file

    try:
        result = score_file(
            args.predictions,
            args.protocol,
            embedding_model=args.embedding_model or DEFAULT_EMBEDDING_MODEL,
            similarity_threshold=args.threshold,
            bootstrap_resamples=args.bootstrap,
            seed=args.seed,
        )
    except PredictionsError as error:
        raise UserError(str(error)) from None
    except OSError as error:  # e.g. the embedding model is not in the local cache while offline
        raise UserError(f"{error} (set --embedding-model to a local folder or a model in the Hub cache)") from None
    name = args.name or args.predictions.stem
    print(render(result, args.fmt, name=name))
    if args.output:
        fmt = "json" if args.output.suffix == ".json" else ("markdown" if args.output.suffix == ".md" else args.fmt)
        write_output(args.output, render(result, fmt, name=name))
    return 0
