"""``videoespresso select VIDEO --question ...``: which core frames the selector (or a strategy) picks."""

from __future__ import annotations

import argparse
import json

from videoespresso_hf.cli._common import (
    add_model_arguments,
    check_model_arguments,
    check_video,
    frame_rule,
    load_embedder,
    load_image_text_scorer,
    load_kwargs,
)
from videoespresso_hf.cli.main import UserError
from videoespresso_hf.errors import first_line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "select",
        help="pick the core frames of a video for a question (frame selector or training-free strategy)",
        description="Print the frames the selector chooses, with timestamps, scores and captions.",
    )
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from videoespresso_hf.models.hybrid import CoreFramePicker
    from videoespresso_hf.video import VideoError

    strategy = check_model_arguments(args)
    check_video(args.video)
    selector, processor = _load_selector(args) if frame_rule(strategy).needs_selector else (None, None)
    picker = CoreFramePicker(
        selector,
        processor,
        strategy=strategy,
        max_core_frames=args.max_core_frames,
        candidate_fps=args.candidate_fps,
        embedder=load_embedder(args, strategy),
        image_text_scorer=load_image_text_scorer(args, strategy),
    )
    try:
        selection = picker.select(args.video, args.question)
    except VideoError as error:
        raise UserError(str(error)) from error
    if args.json:
        print(json.dumps(asdict(selection), ensure_ascii=False))
        return 0
    for position, (index, time) in enumerate(zip(selection.indices, selection.timestamps, strict=False)):
        score = f"  score {selection.scores[position]:.3f}" if selection.scores else ""
        caption = f"  {' '.join(selection.captions[position].split())}" if selection.captions else ""
        print(f"#{index} @ {time:.2f}s{score}{caption}")
    return 0


def _load_selector(args: argparse.Namespace):
    """``(selector model, processor)`` of ``--selector`` (one-line error for a bad checkpoint)."""
    from videoespresso_hf.models.hybrid import load_selector

    try:
        return load_selector(args.selector, load_kwargs(args), {"trust_remote_code": args.trust_remote_code})
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the selector: {first_line(error)}") from error
