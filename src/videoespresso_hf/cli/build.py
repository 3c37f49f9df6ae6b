"""``videoespresso build``: run (or resume) the construction pipeline on a set of videos."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from videoespresso_hf.defaults import CONSTRUCTION_LLM
from videoespresso_hf.errors import first_line

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts")


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
    parser.add_argument("--config", default=None, help="a build_config.json to start from")
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
        help="print the effective build config (JSON: --config or OUT/build_config.json, then flags) and exit",
    )
    parser.add_argument("--retry-failed", action="store_true", help="retry videos that failed on their input")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def expand_videos(inputs: list[str]) -> list[Path]:
    """Files as given, folders expanded to video files (missing paths are kept: :func:`run` reports them)."""
    videos: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            videos.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    # Hidden files (macOS "._clip.mp4" resource forks, editor temp files) are not videos.
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
                )
            )
        else:
            videos.append(path)
    return videos


def _load_config(args: argparse.Namespace):
    from videoespresso_hf.cli.main import UserError
    from videoespresso_hf.pipeline.config import BuildConfig
    from videoespresso_hf.pipeline.orchestrator import CONFIG_FILE

    previous = Path(args.out) / CONFIG_FILE
    source = Path(args.config) if args.config else (previous if previous.is_file() else None)
    try:
        config = BuildConfig.load(source) if source is not None else BuildConfig()
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read config {source}: {' '.join(str(error).split())[:300]}") from None
    updates = {
        ("captions", "backend"): args.captioner,
        ("captions", "model"): args.model,
        ("llm", "model"): args.llm_model,
        ("llm", "base_url"): args.base_url,
        ("llm", "max_concurrency"): args.concurrency,
        ("llm", "budget_usd"): args.max_cost,
        ("sampling", "strategy"): args.sampling,
        ("sampling", "max_frames"): args.max_frames,
        ("dedup", "embedder"): args.embedder,
        ("dedup", "tau"): args.tau,
        ("groups", "size"): args.group_size,
        ("grounding", "detector"): args.detector_model,
        ("grounding", "clip"): args.clip_model,
        ("grounding", "spatial"): False if args.no_grounding else None,
    }
    if args.llm_model is None and args.base_url and args.model and args.captioner != "transformers":
        # A self-hosted OpenAI-compatible server (vLLM, TGI) serves the one model it was started with: asking
        # it for GPT-4o would fail, so the QA stages follow the captioner's model there.
        updates["llm", "model"] = args.model
    data = config.model_dump()
    for (section, key), value in updates.items():
        if value is not None:
            data[section][key] = value
    if (args.price_per_1m_input is None) != (args.price_per_1m_output is None):
        raise UserError("--price-per-1m-input and --price-per-1m-output go together: pass both")
    if args.price_per_1m_input is not None:
        price = (args.price_per_1m_input, args.price_per_1m_output)
        for model in _endpoint_models(BuildConfig.model_validate(data)):
            data["llm"]["prices"][model] = price
    if args.batch or args.batch_wait is not None:
        data["llm_batch"]["enabled"] = True
        if args.batch_wait is not None:
            data["llm_batch"]["max_wait_s"] = args.batch_wait
    try:
        return BuildConfig.model_validate(data)
    except ValueError as error:
        raise UserError(f"invalid setting: {' '.join(str(error).split())[:300]}") from None


def _endpoint_models(config, chain=None) -> list[str]:
    """The models the build asks the endpoint for (those of ``chain``'s stages when given)."""
    from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
    from videoespresso_hf.pipeline.stages.llm_calls import LLMStage

    models = []
    for stage in chain if chain is not None else CONSTRUCTION_CHAIN:
        if not stage.needs_llm(config):
            continue
        if isinstance(stage, LLMStage):
            models.append(stage.settings(config).resolved_model(config))
        elif stage.name == "captions":
            models.append(config.captions.resolved_model)
    return list(dict.fromkeys(models))


def _check_budget(config, chain) -> None:
    """A budget needs a price for every model it pays for; without one the cap would silently cap nothing."""
    from videoespresso_hf.cli.main import UserError

    if config.llm.budget_usd is None:
        return
    unpriced = [
        model for model in _endpoint_models(config, chain) if config.llm.model_copy(update={"model": model}).price_per_1m() is None
    ]
    if unpriced:
        raise UserError(
            f"--max-cost cannot be enforced: no price is known for {', '.join(unpriced)}; pass "
            "--price-per-1m-input and --price-per-1m-output (USD per 1M tokens, 0 for a free local server)"
        )


def _check_endpoint(config, chain, dry_run: bool) -> None:
    """Fail early and clearly when an LLM stage will run but no endpoint can be reached."""
    from videoespresso_hf.cli.main import UserError

    if dry_run or not any(stage.needs_llm(config) for stage in chain):
        return
    llm = config.llm
    if llm.is_loopback() or os.environ.get(llm.api_key_env):
        return
    where = llm.resolved_base_url() or "the OpenAI API"
    raise UserError(
        f"no API key for {where}: set ${llm.api_key_env}, or pass --base-url http://HOST:PORT/v1 for a local "
        "OpenAI-compatible server (e.g. vLLM serving OpenGVLab/InternVL2-8B), or caption locally with "
        "--captioner transformers; --dry-run estimates the cost without calling anything"
    )


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.cli.main import UserError
    from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
    from videoespresso_hf.pipeline.orchestrator import run_build
    from videoespresso_hf.pipeline.stages import stage_chain

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be >= 1")
    out = Path(args.out).expanduser()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    videos = expand_videos(args.videos)
    if not videos:
        raise UserError("no video files found in " + ", ".join(args.videos))
    try:
        chain = stage_chain(CONSTRUCTION_CHAIN, args.until)
    except KeyError:
        names = ", ".join(stage.name for stage in CONSTRUCTION_CHAIN)
        raise UserError(f"unknown stage {args.until!r} (--until); stages: {names}") from None
    config = _load_config(args)
    if args.print_config:
        print(config.model_dump_json(indent=2))
        return 0
    _check_budget(config, chain)
    missing = [str(path) for path in videos if not path.exists()]
    if missing:
        raise UserError(f"no such file: {', '.join(missing)} (fix the path or leave it out)")
    _check_endpoint(config, chain, args.dry_run)
    if args.runner == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise UserError("--runner ray needs Ray Data: pip install 'videoespresso-hf[ray]'") from None

    if args.no_progress:
        # The libraries' own bars too ("Loading weights" in transformers, downloads in huggingface_hub):
        # transformers follows this switch, read when it is imported (later, by the stages that use it).
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
        if "transformers" in sys.modules:
            sys.modules["transformers"].utils.logging.disable_progress_bar()

    runner: object = args.runner
    if args.runner == "ray" and args.ray_address:
        from videoespresso_hf.pipeline.runners.ray_runner import RayRunner

        try:
            runner = RayRunner(address=args.ray_address)
        except ConnectionError as error:  # e.g. `auto` with no cluster started (`ray start --head`)
            raise UserError(
                f"no Ray cluster at --ray-address {args.ray_address} ({first_line(error)}); start one "
                "with `ray start --head`, or leave out --ray-address to run a local Ray"
            ) from None
    summary = run_build(
        videos,
        out,
        config,
        until=args.until,
        runner=runner,  # type: ignore[arg-type]
        workers=args.workers,
        retry_failed=args.retry_failed,
        dry_run=args.dry_run,
        progress=not args.no_progress,
        argv=sys.argv,
    )
    print(summary.format())
    for problem in summary.problems:
        print(f"videoespresso build: {problem}", file=sys.stderr)
    if summary.stopped:
        print(f"videoespresso build: stopped: {summary.stopped}", file=sys.stderr)
        return 1
    if summary.pending:
        print(
            f"videoespresso build: {len(summary.pending)} video(s) hit transient errors; re-run the same command "
            "to retry them (finished work is kept)",
            file=sys.stderr,
        )
        return 1
    return 1 if summary.problems else 0
