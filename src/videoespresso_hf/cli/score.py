"""``videoespresso score PREDICTIONS``: score a predictions file on the 14-task benchmark."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from videoespresso_hf.cli._common import positive_int, write_output
from videoespresso_hf.cli.main import UserError

FORMATS = ("table", "markdown", "json")  # printed (and written with --output)
FILE_FORMATS = ("html", "png")  # written to --output only


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="score model predictions on the 14-task benchmark",
        description=(
            "Score a predictions file: a JSON list (as eval/close_ended.py writes it) or JSON Lines of "
            "bench_hard.json records with the model's `model_output` added."
        ),
    )
    parser.add_argument("predictions", type=Path, nargs="+",
                        help="predictions file(s) (.json list or .jsonl); several = several models side by side")  # fmt: skip
    parser.add_argument(
        "--protocol",
        choices=("official", "robust", "similarity"),
        default="robust",
        help="official: reproduces eval/score.py (quirks included); robust (default): careful letter "
        "extraction; similarity: the paper's Algorithm 1 for free-form answers",
    )
    parser.add_argument("--format", choices=(*FORMATS, *FILE_FORMATS), default="table", dest="fmt",
                        help="html: a report with charts and the published rows; png: the chart alone (both need --output)")  # fmt: skip
    parser.add_argument("--output", type=Path, help="also write the result here (.json: JSON, .md: Markdown, otherwise --format)")
    parser.add_argument("--name", default=None, help="row label in the table (default: the file name; one file only)")
    parser.add_argument("--embedding-model", default=None, help="similarity protocol: sentence-transformers id or path")
    parser.add_argument("--threshold", type=float, default=0.8, help="similarity protocol threshold (default 0.8)")
    parser.add_argument("--bootstrap", type=positive_int, default=1000, help="bootstrap resamples for the 95%% interval")
    parser.add_argument("--seed", type=int, default=0)
    # -- grounding (issue 20): see _print_grounding
    parser.add_argument("--grounding", action="store_true",
                        help="also report temporal/spatial grounding of the predictions' evidence where the records "
                        "carry key-frame references (a `grounding` field); bench items have none")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.embeddings import DEFAULT_EMBEDDING_MODEL
    from videoespresso_hf.evaluation.predictions import PredictionsError
    from videoespresso_hf.evaluation.report import render, render_html, render_leaderboard, render_png
    from videoespresso_hf.evaluation.scorer import score_file

    if args.fmt in FILE_FORMATS and not args.output:
        raise UserError(f"--format {args.fmt} writes a file: add --output report.{args.fmt}")
    if args.name and len(args.predictions) > 1:
        raise UserError("--name labels a single file; with several files each row is named after its file")
    results = {}
    for path, name in zip(args.predictions, _row_names(args.predictions, args.name), strict=True):
        try:
            results[name] = score_file(
                path,
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

    def text(fmt: str) -> str:
        if len(results) == 1:
            return render(*results.values(), fmt, name=next(iter(results)))
        return json.dumps(results, indent=2, ensure_ascii=False) if fmt == "json" else render_leaderboard(results, fmt)

    print(text("table" if args.fmt in FILE_FORMATS else args.fmt))
    if args.output:
        if args.fmt in FILE_FORMATS:
            write_output(args.output, render_html(results) if args.fmt == "html" else render_png(results))
            print(f"wrote {args.fmt} report: {args.output.resolve().as_uri()}")
        else:
            fmt = "json" if args.output.suffix == ".json" else ("markdown" if args.output.suffix == ".md" else args.fmt)
            write_output(args.output, text(fmt))
    if args.grounding:
        _print_grounding(args.predictions)
    return 0


# ------------------------------------------------------------------ --grounding (issue 20)
def _print_grounding(paths: list[Path]) -> None:
    """Per file, the grounding metrics of :func:`videoespresso_hf.evaluation.grounding.grounding_report`, each number
    with the items and claims it covers."""
    from videoespresso_hf.evaluation.grounding import grounding_report
    from videoespresso_hf.evaluation.predictions import load_prediction_records

    def rate(value) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    for path in paths:
        records = [record for record in load_prediction_records(path) if isinstance(record, dict)]
        report = grounding_report(records)
        overall = report["overall"]
        print(f"grounding of {path.name}: {overall['items']} of {len(records)} items carry evidence and key-frame "
              f"references ({report['skipped']} not scored); tolerances {report['tolerances']['time_s']} s, "
              f"IoU {report['tolerances']['iou']}")  # fmt: skip
        for task, block in [("overall", overall), *report["per_task"].items()] if overall["items"] else []:
            parts = [f"{kind} precision {rate(block[kind]['precision'])} of {block[kind]['claims']} claims, "
                     f"recall {rate(block[kind]['recall'])} of {block[kind]['references']}"
                     for kind in ("temporal", "spatial") if kind in block]  # fmt: skip
            print(f"  {task} ({block['items']} items): " + "; ".join(parts))


def _row_names(paths: list[Path], name: str | None) -> list[str]:
    """One label per file: ``--name``, else the file stem (with its folder when stems repeat)."""
    if name:
        return [name]
    stems = [path.stem for path in paths]
    return [f"{path.parent.name}/{path.stem}" if stems.count(path.stem) > 1 else path.stem for path in paths]
