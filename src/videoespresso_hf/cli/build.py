"""``videoespresso build``: run (or resume) the construction pipeline on a set of videos."""

from __future__ import annotations

import argparse
import sys

from videoespresso_hf.defaults import CONSTRUCTION_LLM
from videoespresso_hf.errors import first_line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build caption groups (and QA) from videos: sample, caption, deduplicate, group, ...",
        description=(
            "Run the VideoEspresso construction pipeline. State lives in OUT/state.sqlite: re-running the same "
            "command resumes where it stopped without redoing or re-paying finished work."
        ),
    )
    parser.add_argument("videos", nargs="+", help="video files or folders (searched recursively)")
    parser.add_argument(
        "--out", required=True, help="output folder (state, caches, frames.jsonl, groups.jsonl)"
    )
    parser.add_argument(
        "--until", default=None, help="last stage to run (frames, captions, dedup, groups, ...)"
    )
    parser.add_argument("--runner", choices=("local", "ray"), default="local", help="where stages run")
    parser.add_argument(
        "--ray-address", default=None, help="Ray cluster address (default: start a local Ray)"
    )
    parser.add_argument("--workers", type=int, default=None, help="processes (default: min(cpus, videos))")
    parser.add_argument(
        "--config",
        default=None,
        help="a build_config.json to start from (trusted; default: the one an earlier run left in --out, which "
        "may not choose the endpoint or key variable)",
    )
    parser.add_argument(
        "--captioner", choices=("openai", "transformers"), default=None, help="caption backend"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="captioning model id (endpoint model or HF checkpoint); with --base-url and no --llm-model, the QA "
        "stages use it too (a vLLM server serves one model)",
    )
    parser.add_argument(
        "--llm-model",
        default=None,
        help="model of the QA, filter, evidence and distractor stages (default: " + CONSTRUCTION_LLM + ", or --model "
        "when --base-url is given)",
    )
    parser.add_argument(
        "--base-url", default=None, help="OpenAI-compatible endpoint, e.g. http://host:8000/v1"
    )
    parser.add_argument(
        "--api-key-env",
        default=None,
        help="environment variable holding the endpoint's API key (default: OPENAI_API_KEY); a build_config.json "
        "found in --out cannot change it (nor the endpoint): pass it here or name the file with --config",
    )
    parser.add_argument("--concurrency", type=int, default=None, help="LLM requests in flight")
    parser.add_argument(
        "--sampling", choices=("adaptive", "fps", "uniform"), default=None, help="frame sampling"
    )
    parser.add_argument("--max-frames", type=int, default=None, help="cap on sampled frames per video")
    parser.add_argument(
        "--embedding-model",
        "--embedder",
        dest="embedder",
        default=None,
        help="sentence-transformers model for redundancy removal, grounding and distractors (default: BAAI/bge-m3)",
    )
    parser.add_argument(
        "--detector-model",
        default=None,
        help="GroundingDINO checkpoint boxing key objects (default: IDEA-Research/grounding-dino-base)",
    )
    parser.add_argument(
        "--clip-model",
        default=None,
        help="CLIP checkpoint verifying each box (default: openai/clip-vit-base-patch32)",
    )
    parser.add_argument(
        "--no-grounding",
        action="store_true",
        help="skip spatial grounding (no GroundingDINO/CLIP download; key objects get no boxes)",
    )
    parser.add_argument("--tau", type=float, default=None, help="redundancy threshold (cosine similarity)")
    parser.add_argument("--group-size", type=int, default=None, help="captions per group (paper: 15)")
    parser.add_argument(
        "--max-cost", type=float, default=None, help="stop before LLM spend exceeds this (USD)"
    )
    parser.add_argument(
        "--price-per-1m-input",
        type=float,
        default=None,
        help="USD per 1M prompt tokens of the endpoint's models (needed for --max-cost when the price is unknown)",
    )
    parser.add_argument(
        "--price-per-1m-output",
        type=float,
        default=None,
        help="USD per 1M completion tokens of the endpoint's models (with --price-per-1m-input)",
    )
    parser.add_argument(
        "--batch",
        action="store_true",
        help="send the QA/filter/evidence/distractor requests through the OpenAI Batch API (about half price; resumable)",
    )
    parser.add_argument(
        "--batch-wait",
        type=float,
        default=None,
        help="with --batch: seconds to wait for a batch before stopping (0: submit and exit; re-run to collect)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="sample frames and estimate every LLM stage's cost (captions exactly, later ones as upper bounds); "
        "no call",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the effective build config (JSON: --config or OUT/build_config.json, then flags; URLs "
        "redacted) and which key variable goes to which host, and exit",
    )
    parser.add_argument("--retry-failed", action="store_true", help="retry videos that failed on their input")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.cli.main import UserError
    from videoespresso_hf.pipeline.job import build

    try:
        result = build(
            videos=args.videos,
            out=args.out,
            config_file=args.config,
            until=args.until,
            runner=args.runner,
            ray_address=args.ray_address,
            workers=args.workers,
            retry_failed=args.retry_failed,
            dry_run=args.dry_run,
            print_config=args.print_config,
            progress=not args.no_progress,
            argv=sys.argv,
            captioner=args.captioner,
            model=args.model,
            llm_model=args.llm_model,
            base_url=args.base_url,
            api_key_env=args.api_key_env,
            concurrency=args.concurrency,
            max_cost=args.max_cost,
            sampling=args.sampling,
            max_frames=args.max_frames,
            embedder=args.embedder,
            tau=args.tau,
            group_size=args.group_size,
            detector_model=args.detector_model,
            clip_model=args.clip_model,
            grounding=False if args.no_grounding else None,
            price_per_1m_input=args.price_per_1m_input,
            price_per_1m_output=args.price_per_1m_output,
            batch=args.batch,
            batch_wait=args.batch_wait,
        )
    except ValueError as error:  # BuildSettingsError: one line, nothing was run or sent
        raise UserError(first_line(error)) from None
    print(result.summary)
    if args.print_config:
        # stdout stays the JSON to save and edit; where the key goes is said beside it.
        print(f"videoespresso build: {result.key_destination}", file=sys.stderr)
        return 0
    for message in result.messages:
        print(f"videoespresso build: {message}", file=sys.stderr)
    return 0 if result.ok else 1
