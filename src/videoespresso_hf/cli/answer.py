"""``videoespresso answer VIDEO --question ...``: hybrid inference (selector → evidence → answer)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from videoespresso_hf.cli._common import (
    add_model_arguments,
    check_model_arguments,
    check_video,
    load_embedder,
    load_image_text_scorer,
    load_kwargs,
    positive_int,
)
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.defaults import REASONER_MODEL
from videoespresso_hf.errors import first_line

# The first family's default_base_id in models/reasoner/backbones.py (a test keeps them equal; importing the
# models package here would cost every CLI command the torch import).
DEFAULT_REASONER = REASONER_MODEL


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "answer",
        help="answer a question about a video: core frames, then evidence, then the answer",
        description="Hybrid inference: a frame selector (or a training-free strategy) picks the core frames, "
        "the reasoner writes evidence from them and answers with its help.",
    )
    add_model_arguments(parser)
    parser.add_argument("--reasoner", default=DEFAULT_REASONER, help=f"reasoner path or Hub id ({DEFAULT_REASONER})")
    parser.add_argument("--max-new-tokens", type=positive_int, default=None, help="evidence budget (default: the config's)")
    parser.add_argument("--options", nargs="+", default=None, help="multiple-choice options, in letter order")
    parser.add_argument(
        "--evidence",
        default=None,
        help="ground-truth evidence TEXT, or @FILE to read it from a file: the reasoner skips writing its own "
        "(the paper's GT-CoT setting)",
    )
    parser.set_defaults(func=run)


def _evidence(value: str | None) -> str | None:
    """``--evidence``: the text itself, or ``@FILE``'s content."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise UserError(f"--evidence {value}: cannot read {path} ({error.strerror or error})") from error


def load_qa(args: argparse.Namespace, reasoner: str | None, strategy: str):
    """Build the :class:`HybridVideoQA` the arguments describe (one-line errors for bad checkpoints)."""
    from videoespresso_hf.models.hybrid import HybridVideoQA

    kwargs = {
        "strategy": strategy,
        **load_kwargs(args),
        "max_core_frames": args.max_core_frames,
        "candidate_fps": args.candidate_fps,
        "embedder": load_embedder(args, strategy),
        "image_text_scorer": load_image_text_scorer(args, strategy),
    }
    try:
        return HybridVideoQA.from_pretrained(reasoner, args.selector, **kwargs)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the models: {first_line(error)}") from error


def run(args: argparse.Namespace) -> int:
    from videoespresso_hf.video import VideoError

    strategy = check_model_arguments(args)
    evidence = _evidence(args.evidence)
    check_video(args.video)
    qa = load_qa(args, args.reasoner, strategy)
    print(f"reasoner on {qa.reasoner.device}", file=sys.stderr)
    generate = {"evidence_max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}
    try:
        result = qa.answer(args.video, args.question, args.options, evidence=evidence, **generate)
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
