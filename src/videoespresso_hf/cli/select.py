"""``videoespresso select VIDEO --question ...``: which core frames the selector (or a strategy) picks."""

from __future__ import annotations

import argparse
import json

from videoespresso_hf.cli.answer import _check, _embedder, add_model_arguments, check_video, first_line
from videoespresso_hf.cli.main import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "select",
        help="pick the core frames of a video for a question (frame selector or training-free strategy)",
        description="Print the frames the selector chooses, with timestamps, scores and captions.",
    )
    add_model_arguments(parser, with_reasoner=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from videoespresso_hf.models.hybrid import HybridVideoQA
    from videoespresso_hf.video import VideoError

    strategy = _check(args)
    check_video(args.video)
    if strategy == "model":
        qa = _selector_only(args)
    else:
        qa = HybridVideoQA(
            None, None, strategy=strategy, max_frames=args.max_frames, candidate_fps=args.candidate_fps,
            embedder=_embedder(args, strategy),
        )  # fmt: skip
    try:
        selection = qa.select(args.video, args.question)
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


def _selector_only(args: argparse.Namespace):
    from videoespresso_hf.models.hybrid import HybridVideoQA
    from videoespresso_hf.models.registration import ensure_registered

    ensure_registered()
    from transformers import AutoModel, AutoProcessor

    from videoespresso_hf.cli.answer import _dtype

    load = {
        "dtype": _dtype(args.dtype),
        "device_map": args.device_map,
        "trust_remote_code": args.trust_remote_code,
    }
    if args.attn_implementation:
        load["attn_implementation"] = args.attn_implementation
    try:
        selector = AutoModel.from_pretrained(args.selector, **load).eval()
        processor = AutoProcessor.from_pretrained(args.selector, trust_remote_code=args.trust_remote_code)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the selector: {first_line(error)}") from error
    return HybridVideoQA(
        None,
        None,
        selector,
        processor,
        strategy="model",
        max_frames=args.max_frames,
        candidate_fps=args.candidate_fps,
    )
