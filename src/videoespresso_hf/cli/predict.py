"""``videoespresso predict``: run a model over the benchmark and write resumable predictions.

    videoespresso predict --data hub/VideoEspresso --model Qwen/Qwen2.5-VL-7B-Instruct --output preds.jsonl
    videoespresso score preds.jsonl
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from importlib import metadata
from pathlib import Path

from videoespresso_hf.cli._common import device_map, missing_local_folder, parse_dtype, positive_int
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.defaults import REASONER_MODEL

DEFAULT_MODEL = REASONER_MODEL
DEFAULT_FRAMES = "uniform:16"
DEFAULT_MAX_NEW_TOKENS = {"multiple_choice": 32, "open_ended": 512}
_VERSIONED = ("videoespresso-hf", "torch", "transformers", "datasets", "av", "openai", "accelerate")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="run a model (HF VLM, the hybrid, an OpenAI-compatible endpoint) over the benchmark",
        description="Writes one JSON line per item (the released record + `model_output`) as each finishes, "
        "with a `.meta.json` sidecar; a re-run continues where it stopped. Score with `videoespresso score`.",
    )
    parser.add_argument("--data", required=True, help="prepared folder (`videoespresso data prepare`) or Hub dataset id")
    parser.add_argument("--config", default="bench", help="dataset config (default bench)")
    parser.add_argument("--split", default="test", help="split (default test)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"Hub id or folder (hf, hybrid: the reasoner) or endpoint model name (default {DEFAULT_MODEL})")  # fmt: skip
    parser.add_argument("--revision", default=None, help="Hub branch, tag or commit of --model (hf backend)")
    parser.add_argument("--backend", choices=("hf", "hybrid", "openai"), default="hf")
    parser.add_argument("--frames", default=DEFAULT_FRAMES, help="uniform:N | fps:X | shots[:N] | selector:PATH (default uniform:16)")
    parser.add_argument("--open-ended", action="store_true", help="ask without options (score with `videoespresso judge`)")
    parser.add_argument("--output", type=Path, required=True, help="predictions file (.jsonl), appended to")
    parser.add_argument("--limit", type=positive_int, default=None, help="only the first N items")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="items per generate call (hf, hybrid)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=None,
                        help="answer budget (default 32 multiple choice, 512 open-ended)")  # fmt: skip
    parser.add_argument("--official-sampling", action="store_true",
                        help="sample at temperature 0.8 as the authors' eval/close_ended.py does (default: greedy)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (recorded)")
    parser.add_argument("--device-map", default=None,
                        help='e.g. "auto" (accelerate) or "cpu" (default: "auto" when a GPU is present, else the CPU)')  # fmt: skip
    parser.add_argument("--dtype", default="auto", help='"auto" (checkpoint dtype), "bfloat16", "float32"...')
    parser.add_argument("--attn-implementation", default=None, help='"sdpa", "flash_attention_2", "eager"')
    parser.add_argument("--trust-remote-code", action="store_true", help="load checkpoints with their own code")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="openai backend: endpoint (vLLM, …)")
    parser.add_argument("--cache", type=Path, default=None, help="openai backend: SQLite cache and ledger (default OUTPUT.llm.sqlite)")
    parser.add_argument("--max-cost", type=float, default=None, help="openai backend: stop before spending more USD")
    parser.add_argument("--concurrency", type=positive_int, default=8, help="openai backend: requests in flight")
    parser.add_argument("--image-detail", choices=("low", "high", "auto"), default="low", help="openai backend: image detail")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
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


def _environment() -> dict:
    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"versions": {"python": platform.python_version(), **versions},
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip


def _load_backend(args: argparse.Namespace, rule, generation, prompt_name: str):
    from videoespresso_hf.benchmarking.backends import EndpointBackend, HybridBackend, TransformersBackend

    local = {"dtype": parse_dtype(args.dtype), "device_map": device_map(args.device_map), "attn_implementation": args.attn_implementation,
             "trust_remote_code": args.trust_remote_code}  # fmt: skip
    try:
        if args.backend == "hf":
            return TransformersBackend(args.model, generation, revision=args.revision, **local)
        if args.backend == "hybrid":
            return HybridBackend(args.model, generation, rule, revision=args.revision, open_ended=args.open_ended, **local)
    except ValueError as error:
        raise UserError(str(error)) from None
    cache = args.cache or args.output.with_name(args.output.name + ".llm.sqlite")
    return EndpointBackend(
        args.model, generation, base_url=args.base_url, cache_path=cache, budget_usd=args.max_cost,
        concurrency=args.concurrency, image_detail=args.image_detail, prompt_version=prompt_name,
    )  # fmt: skip


def _print_summary(summary, backend, output: Path) -> None:
    per_item = max(summary.written, 1)
    reasons = ", ".join(f"{reason}: {count}" for reason, count in summary.failure_reasons.items())
    reasons = f"  ({reasons})" if reasons else ""
    lines = [
        f"predictions: {output}  ({summary.items} items: {summary.written} written now, {summary.skipped} already there)",
        f"failures:    {summary.failures}{reasons}",
        f"time:        {summary.seconds:.1f} s  ({summary.items_per_second:.2f} items/s; data path "
        f"{1000 * summary.decode_seconds / per_item:.0f} ms/item, model {1000 * summary.model_seconds / per_item:.0f} ms/item)",
        f"tokens:      {summary.input_tokens} in, {summary.output_tokens} out",
    ]
    if backend.name == "openai":
        lines.append(f"cost:        ${summary.cost_usd:.4f} (this run; cached answers are free)")
    print("\n".join(lines))


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.benchmarking.backends import GenerationSettings
    from videoespresso_hf.benchmarking.frames import FrameSampler, parse_frame_rule
    from videoespresso_hf.benchmarking.items import dataset_fingerprint, load_bench_items
    from videoespresso_hf.benchmarking.prompts import MULTIPLE_CHOICE_PROMPT, OPEN_ENDED_PROMPT, template_text
    from videoespresso_hf.benchmarking.runner import run_predictions
    from videoespresso_hf.benchmarking.store import PredictionStore, RunMismatchError, check_sidecar
    from videoespresso_hf.data.sources import DataError

    try:
        rule = parse_frame_rule(args.frames)
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.backend != "openai" and missing_local_folder(args.model):  # an endpoint's model is a name, not a path
        raise UserError(f"--model {args.model}: no such checkpoint folder")
    if missing_local_folder(rule.selector):
        raise UserError(f"--frames selector:{rule.selector}: no such checkpoint folder")
    if args.max_cost is not None and not args.max_cost >= 0:
        raise UserError(f"--max-cost must be an amount >= 0, got {args.max_cost}")
    if args.batch_size > 1 and args.backend == "openai":
        raise UserError("--batch-size is for the hf and hybrid backends; use --concurrency for the openai backend")
    try:
        items = load_bench_items(args.data, args.config, args.split)
    except DataError as error:
        raise UserError(str(error)) from None
    prompt_name = OPEN_ENDED_PROMPT if args.open_ended else MULTIPLE_CHOICE_PROMPT
    kind = "open_ended" if args.open_ended else "multiple_choice"
    generation = GenerationSettings(args.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[kind], args.official_sampling, args.seed)
    identity = {
        "backend": args.backend,
        "model": args.model,
        "frames": rule.spec,
        "open_ended": args.open_ended,
        "prompt": {"name": prompt_name, "template": template_text(prompt_name)},
        "data": {"config": args.config, "split": args.split, "fingerprint": dataset_fingerprint(items)},
    }
    try:
        check_sidecar(args.output, identity)  # before minutes of model loading
    except RunMismatchError as error:
        raise UserError(str(error)) from None
    items = items[: args.limit] if args.limit else items
    backend = _load_backend(args, rule, generation, prompt_name)
    sampler = FrameSampler(rule, device_map=device_map(args.device_map))
    if backend.decodes_frames:  # the hybrid loads its own selector
        try:
            sampler.load()
        except ValueError as error:
            raise UserError(str(error)) from None
    from videoespresso_hf.llm import BudgetExceededError, MissingAPIKeyError

    try:
        with PredictionStore(args.output, {**identity, **backend.identity, "model": args.model}, _environment()) as store:
            if store.torn_line_dropped:
                print(f"{args.output}: the last line was cut by an interrupted run; that item is redone")
            summary = run_predictions(items, backend, sampler, store, prompt_name=prompt_name, open_ended=args.open_ended,
                                      batch_size=args.batch_size, progress=not args.no_progress)  # fmt: skip
    except RunMismatchError as error:
        raise UserError(str(error)) from None
    except MissingAPIKeyError as error:
        raise UserError(f"{error}; or point --base-url at a local OpenAI-compatible server (vLLM, …)") from None
    except BudgetExceededError as error:
        raise UserError(f"{error} (predictions so far are saved: re-run with a higher --max-cost to continue)") from None
    finally:
        backend.close()
    _print_summary(summary, backend, args.output)
    if args.open_ended:
        print(f"\nopen-ended answers: score them with `videoespresso judge {args.output}`")
    else:
        from videoespresso_hf.evaluation.report import render
        from videoespresso_hf.evaluation.scorer import score_file

        print()
        print(render(score_file(args.output, "robust"), "table", name=Path(args.model).name or args.model))
    return 1 if summary.failures else 0
