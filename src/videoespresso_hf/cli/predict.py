"""``videoespresso predict``: run a model over the benchmark and write resumable predictions.

    videoespresso predict --data hub/VideoEspresso --model Qwen/Qwen2.5-VL-7B-Instruct --output preds.jsonl
    videoespresso score preds.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videoespresso_hf.benchmarking.job import PredictConfig, PredictError, PredictInterrupted, predict
from videoespresso_hf.cli._common import missing_local_folder
from videoespresso_hf.cli._config_args import add_config_command, config_from_args
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.defaults import REASONER_MODEL

DEFAULT_MODEL = REASONER_MODEL  # kept for callers of the earlier CLI module (the demo)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = add_config_command(
        subparsers,
        "predict",
        PredictConfig,
        help="run a model (HF VLM, the hybrid, an OpenAI-compatible endpoint) over the benchmark",
        description="Writes one JSON line per item (the released record + `model_output`) as each finishes, "
        "with a `.meta.json` sidecar; a re-run continues where it stopped. Score with `videoespresso score`.\n"
        "Under `accelerate launch` / `torchrun` every process predicts its share and the main process merges them.",
    )
    parser.set_defaults(func=run)

    tasks = subparsers.add_parser(
        "lmms-eval-task",
        help="write the videoespresso lmms-eval tasks for a dataset and print the --include_path",
        description="Writes videoespresso.yaml (multiple choice) and videoespresso_open.yaml (open-ended, LLM judge) "
        "that reuse this package's data loading, prompts and scorer.",
    )
    tasks.add_argument("--data", required=True, help="prepared folder (`videoespresso data prepare`) or Hub dataset id")
    tasks.add_argument("--config", default="bench")
    tasks.add_argument("--split", default="test")
    tasks.add_argument("--out", type=Path, default=Path("videoespresso_lmms_tasks"), help="task folder to write")
    tasks.set_defaults(func=run_lmms_eval_task)


def run_lmms_eval_task(args: argparse.Namespace) -> int:
    from videoespresso_hf.integrations.lmms_eval import write_task_folder

    if missing_local_folder(args.data):
        raise UserError(f"--data {args.data}: no such folder (prepare one with `videoespresso data prepare`)")
    try:
        folder = write_task_folder(args.out, args.data, args.config, args.split).resolve()
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"--include_path {folder}")
    print(f"tasks: videoespresso (multiple choice), videoespresso_open (open-ended); e.g.\n"
          f"  python -m lmms_eval --model qwen2_5_vl --model_args pretrained=Qwen/Qwen2.5-VL-7B-Instruct "
          f"--tasks videoespresso --include_path {folder} --batch_size 1 --log_samples --output_path results/")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    """Parse → call → print: the job decides everything, the CLI maps its one-line errors to exit 2."""
    try:
        result = predict(config_from_args(args, PredictConfig))
    except PredictError as error:
        raise UserError(str(error)) from None
    except PredictInterrupted as interrupt:
        print(str(interrupt), file=sys.stderr)
        return 130
    if result.is_main_process:
        print(result.summary)
    return result.exit_status
