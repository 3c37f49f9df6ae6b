"""``videoespresso answer VIDEO --question ...``: hybrid inference (selector → evidence → answer)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from videoespresso_hf.cli.main import UserError

DEFAULT_REASONER = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_SELECTOR_NOTE = "a saved VideoEspresso selector (path or Hub id)"
STRATEGY_CHOICES = ("model", "uniform", "fps", "shots", "embedding")


def add_model_arguments(parser: argparse.ArgumentParser, *, with_reasoner: bool) -> None:
    """Arguments shared by ``answer`` and ``select``."""
    parser.add_argument("video", type=Path, help="video file")
    parser.add_argument("--question", "-q", required=True, help="the question")
    parser.add_argument(
        "--selector", default=None, help=f"{DEFAULT_SELECTOR_NOTE}; needed by --strategy model"
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGY_CHOICES,
        default=None,
        help="frame selection: model (the selector, default when --selector is given), uniform (default "
        "otherwise), fps, shots or embedding (question-frame similarity in CLIP/SigLIP space; no selector)",
    )
    parser.add_argument("--max-frames", type=int, default=None, help="frames handed to the reasoner at most")
    parser.add_argument(
        "--candidate-fps", type=float, default=None, help="candidate sampling rate (default 1)"
    )
    parser.add_argument(
        "--embedding-model",
        default=None,
        help="embedding strategy: CLIP or SigLIP id or path (default openai/clip-vit-base-patch32)",
    )
    if with_reasoner:
        parser.add_argument(
            "--reasoner", default=DEFAULT_REASONER, help=f"reasoner path or Hub id ({DEFAULT_REASONER})"
        )
        parser.add_argument(
            "--max-new-tokens", type=int, default=None, help="evidence budget (default: the config's)"
        )
    parser.add_argument("--device-map", default=None, help='e.g. "auto" (accelerate) or "cpu" (default: cpu)')
    parser.add_argument("--dtype", default="auto", help='"auto" (checkpoint dtype), "bfloat16", "float32"...')
    parser.add_argument("--attn-implementation", default=None, help='"sdpa", "flash_attention_2", "eager"')
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="load checkpoints with their own code"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "answer",
        help="answer a question about a video: core frames, then evidence, then the answer",
        description="Hybrid inference: a frame selector (or a training-free strategy) picks the core frames, "
        "the reasoner writes evidence from them and answers with its help.",
    )
    add_model_arguments(parser, with_reasoner=True)
    parser.add_argument("--options", nargs="+", default=None, help="multiple-choice options, in letter order")
    parser.set_defaults(func=run)


def first_line(error: Exception) -> str:
    """The first line of an error message (library errors often span many), or the error's type name."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _dtype(name: str):
    if name == "auto":
        return "auto"
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise UserError(f"unknown --dtype {name!r} (use auto, bfloat16, float16 or float32)")
    return dtype


def _check(args: argparse.Namespace) -> str:
    if not args.video.is_file():
        raise UserError(f"{args.video}: file not found")
    if args.max_frames is not None and args.max_frames < 1:
        raise UserError(f"--max-frames must be at least 1, got {args.max_frames}")
    for name in ("reasoner", "selector"):
        value = getattr(args, name, None)
        if value and value.startswith(("/", ".", "~")) and not Path(value).expanduser().is_dir():
            raise UserError(f"--{name} {value}: no such checkpoint folder")
    strategy = args.strategy or ("model" if args.selector else "uniform")
    if strategy == "model" and not args.selector:
        raise UserError(f"--strategy {strategy} needs --selector PATH_OR_ID")
    return strategy


def _embedder(args: argparse.Namespace, strategy: str):
    """The embedding strategy's image-text model, loaded here so that a bad path is a one-line error."""
    if strategy != "embedding":
        return None
    from videoespresso_hf.embeddings import load_image_text_embedder
    from videoespresso_hf.models.strategies import DEFAULT_EMBEDDER

    name = args.embedding_model or DEFAULT_EMBEDDER
    try:
        return load_image_text_embedder(name)
    except (OSError, ValueError) as error:
        raise UserError(f"{first_line(error)} (--embedding-model)") from error


def load_qa(args: argparse.Namespace, reasoner: str | None, strategy: str):
    """Build the :class:`HybridVideoQA` the arguments describe (one-line errors for bad checkpoints)."""
    from videoespresso_hf.models.hybrid import HybridVideoQA

    kwargs = {
        "strategy": strategy,
        "dtype": _dtype(args.dtype),
        "device_map": args.device_map,
        "attn_implementation": args.attn_implementation,
        "trust_remote_code": args.trust_remote_code,
        "max_frames": args.max_frames,
        "candidate_fps": args.candidate_fps,
        "embedder": _embedder(args, strategy),
    }
    try:
        return HybridVideoQA.from_pretrained(reasoner, args.selector, **kwargs)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the models: {first_line(error)}") from error


def check_video(path: Path) -> None:
    """Fail on an unreadable video before spending minutes loading models."""
    from videoespresso_hf.video import VideoError, probe

    try:
        probe(path)
    except VideoError as error:
        raise UserError(str(error)) from error


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.video import VideoError

    strategy = _check(args)
    check_video(args.video)
    qa = load_qa(args, args.reasoner, strategy)
    generate = {"evidence_max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    try:
        result = qa.answer(args.video, args.question, args.options, **generate)
    except VideoError as error:
        raise UserError(str(error)) from error
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
        return 0
    frames = ", ".join(
        f"#{index} @ {time:.2f}s"
        for index, time in zip(result.selection.indices, result.selection.timestamps, strict=False)
    )
    print(f"frames ({result.selection.strategy}): {frames}")
    print(f"evidence: {' '.join(result.evidence.split())}")
    print(f"answer: {' '.join(result.answer.split())}")
    if args.options:
        print(f"letter: {result.letter or '(none found)'}")
    return 0
