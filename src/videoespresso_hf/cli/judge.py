"""``videoespresso judge PREDICTIONS``: LLM-judged scores of free-form answers (the open-ended protocol)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

from videoespresso_hf.cli._common import positive_int
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.defaults import JUDGE_MODEL

DEFAULT_JUDGE_MODEL = JUDGE_MODEL


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected an amount >= 0, got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "judge",
        help="score free-form answers with an LLM judge (logic, factuality, accuracy, conciseness, overall)",
        description="Records need `question`, `answer` (reference) and `model_output`; `evidence` and `task` are optional.",
    )
    parser.add_argument("predictions", type=Path, help="predictions file (.json list or .jsonl)")
    parser.add_argument("--model", default=DEFAULT_JUDGE_MODEL, help=f"judge model (default {DEFAULT_JUDGE_MODEL})")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="OpenAI-compatible endpoint (vLLM, …)")
    parser.add_argument("--cache", type=Path, default=Path("judge_cache.sqlite"), help="SQLite cache and cost ledger")
    parser.add_argument("--max-cost", type=_non_negative_float, default=None, help="stop before spending more than this many USD")
    parser.add_argument("--concurrency", type=positive_int, default=8)
    parser.add_argument("--dry-run", action="store_true", help="print the estimated cost and exit; no calls")
    parser.add_argument("--output", type=Path, help="write the result here (as --format)")
    parser.add_argument("--format", choices=("json", "html", "png"), default="json", dest="fmt",
                        help="json (default); html: a report with the score distribution per criterion and the paper's "
                        "Table 2 rows; png: the distribution chart alone (html/png need --output)")  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.cli._common import write_output
    from videoespresso_hf.evaluation.coverage import coverage_line
    from videoespresso_hf.evaluation.judge import (
        build_judge_request,
        judge_open_ended,
        validate_judge_records,
    )
    from videoespresso_hf.evaluation.predictions import PredictionsError, load_prediction_records
    from videoespresso_hf.evaluation.report import render_judge_html, render_judge_png
    from videoespresso_hf.llm import BudgetExceededError, LLMClient, LLMConfig, MissingAPIKeyError

    if args.fmt != "json" and not args.output:
        raise UserError(f"--format {args.fmt} writes a file: add --output report.{args.fmt}")
    try:
        records = load_prediction_records(args.predictions)
        items = validate_judge_records(records)
    except PredictionsError as error:
        raise UserError(str(error)) from None
    config = LLMConfig(model=args.model, base_url=args.base_url, cache_path=args.cache, budget_usd=args.max_cost,
                       max_concurrency=args.concurrency)  # fmt: skip
    try:
        client = LLMClient(config)
    except (OSError, sqlite3.Error) as error:
        raise UserError(f"cannot open the cache {args.cache}: {error}") from None
    with client:
        if args.dry_run:
            print(client.estimate([build_judge_request(item) for item in items]))
            return 0
        try:
            result = judge_open_ended(records, client, progress=True)
        except MissingAPIKeyError as error:
            raise UserError(f"{error}; or point --base-url at a local OpenAI-compatible server (vLLM, …)") from None
        except BudgetExceededError as error:
            raise UserError(f"{error} (answers so far are cached: re-run with a higher --max-cost to continue)") from None
        print(client.ledger.format_summary())
    print(coverage_line(result["coverage"]))
    text = json.dumps(result, indent=2)
    print(text)
    if args.output:
        if args.fmt == "json":
            write_output(args.output, text)
        else:
            report = render_judge_html(result, args.predictions.stem) if args.fmt == "html" else render_judge_png(result)
            write_output(args.output, report)
            print(f"wrote {args.fmt} report: {args.output.resolve().as_uri()}")
    return 1 if result["overall"]["failed"] else 0
