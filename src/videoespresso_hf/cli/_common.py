"""Helpers shared by the commands: writing result files and argparse types (``score``, ``judge``,
``predict``), and for the model commands (``answer``, ``select``) their common arguments, the checks that
turn bad input into one-line errors before any model loads, and how the arguments become load kwargs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from videoespresso_hf.cli.main import UserError
from videoespresso_hf.defaults import IMAGE_TEXT_MODEL, STRATEGY_EMBEDDER
from videoespresso_hf.dtypes import torch_dtype
from videoespresso_hf.errors import first_line
from videoespresso_hf.files import write_bytes_atomic, write_text_atomic
from videoespresso_hf.frame_rules import FRAME_RULES, STRATEGIES, FrameRuleKind
from videoespresso_hf.locations import (
    HubReferenceError,
    looks_like_path,
    resolve_reference,
    short_hub_timeouts,
)

DEFAULT_SELECTOR_NOTE = "a saved VideoEspresso selector (path or Hub id)"
STRATEGY_CHOICES = STRATEGIES  # the rows of the one frame-rule table


def frame_rule(strategy: str) -> FrameRuleKind:
    """The row of ``--strategy`` in the frame-rule table: what the strategy needs (selector, embedder, ...)."""
    return FRAME_RULES[strategy]


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def write_output(path: Path, text: str | bytes) -> None:
    """Write ``text`` (a line of text, or bytes as they are) to ``path`` atomically (``videoespresso_hf.files``),
    creating its folder: a failure never leaves a half-written file.

    Raises:
        UserError: the file cannot be written (one line; the temporary file is removed).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            write_bytes_atomic(path, text)
        else:
            write_text_atomic(path, text + "\n")
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The video, question, frame-selection and model-loading arguments of ``answer`` and ``select``."""
    parser.add_argument("video", type=Path, help="video file")
    parser.add_argument("--question", "-q", required=True, help="the question")
    parser.add_argument(
        "--selector", default=None, help=f"{DEFAULT_SELECTOR_NOTE}; needed by --strategy model/embedding"
    )
    parser.add_argument(
        "--strategy",
        choices=STRATEGY_CHOICES,
        default=None,
        help="frame selection: model (the selector, default when --selector is given), uniform (default "
        "otherwise), fps, shots, embedding (question-caption similarity) or image_text (question-frame "
        "similarity, SigLIP; no captions)",
    )
    parser.add_argument(
        "--max-core-frames",
        type=positive_int,
        default=None,
        help="core frames handed to the reasoner at most (default: the selector's, else 3); not the number "
        "of frames sampled for the selector (--candidate-fps)",
    )
    # Before the core/sampled split in names; `build --max-frames` caps *sampled* frames.
    parser.add_argument(
        "--max-frames", type=positive_int, default=None, dest="deprecated_max_frames", help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--candidate-fps", type=positive_float, default=None, help="candidate frames per second, above 0 (default 1)"
    )
    parser.add_argument(
        "--embedding-model",
        default=None,
        help=f"embedding strategy: sentence-transformers id or path (default {STRATEGY_EMBEDDER})",
    )
    parser.add_argument(
        "--image-text-model",
        default=None,
        help=f"image_text strategy: SigLIP-style checkpoint, id or path (default {IMAGE_TEXT_MODEL})",
    )
    parser.add_argument(
        "--device-map",
        default=None,
        help='e.g. "auto" (accelerate) or "cpu" (default: "auto" when a GPU is present, else the CPU)',
    )
    parser.add_argument("--dtype", default="auto", help='"auto" (checkpoint dtype), "bfloat16", "float32"...')
    parser.add_argument("--attn-implementation", default=None, help='"sdpa", "flash_attention_2", "eager"')
    parser.add_argument(
        "--trust-remote-code", action="store_true", help="load checkpoints with their own code"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def model_source(value: str, flag: str) -> str:
    """Paths before the Hub for a ``--model``/``--reasoner``/``--selector``/``--embedding-model``… value: the one
    rule of :func:`videoespresso_hf.locations.resolve_reference` (a local path comes back absolute, so that a run
    resumed with another spelling of it is the same run), with short Hub timeouts for the loads that follow.

    Raises:
        UserError: one line naming ``flag`` and ``value``.
    """
    short_hub_timeouts()
    try:
        return resolve_reference(value, flag)
    except HubReferenceError as error:
        raise UserError(str(error)) from None


def missing_local_folder(value: str | None) -> bool:
    """Deprecated (for ``cli/predict.py`` until it calls :func:`model_source`): ``value`` can only be a path and
    names nothing."""
    return bool(value) and looks_like_path(value) and not Path(value).expanduser().exists()


def positive_float(text: str) -> float:
    """argparse type: a number above 0 (a rate, a size)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def check_model_arguments(args: argparse.Namespace) -> str:
    """Refuse bad arguments before minutes of model loading; returns the frame-selection strategy."""
    if args.deprecated_max_frames is not None:
        print("warning: --max-frames is deprecated here, use --max-core-frames", file=sys.stderr)
        if args.max_core_frames is None:
            args.max_core_frames = args.deprecated_max_frames
    if args.video.is_dir():
        raise UserError(f"{args.video}: is a directory; give a video file")
    if not args.video.is_file():
        raise UserError(f"{args.video}: file not found")
    options = getattr(args, "options", None)
    if options:
        from videoespresso_hf.models.reasoner.configuration_reasoner import OPTION_LETTERS

        if len(options) > len(OPTION_LETTERS):
            raise UserError(f"--options: got {len(options)} options; at most {len(OPTION_LETTERS)} are supported")
    strategy = args.strategy or ("model" if args.selector else "uniform")
    if frame_rule(strategy).needs_selector and not args.selector:
        raise UserError(f"--strategy {strategy} needs --selector PATH_OR_ID")
    for name in ("reasoner", "selector"):
        if getattr(args, name, None):
            setattr(args, name, model_source(getattr(args, name), f"--{name}"))
    if frame_rule(strategy).needs_embedder:
        args.embedding_model = model_source(args.embedding_model or STRATEGY_EMBEDDER, "--embedding-model")
    if frame_rule(strategy).needs_image_text:
        args.image_text_model = model_source(args.image_text_model or IMAGE_TEXT_MODEL, "--image-text-model")
    return strategy


def check_video(path: Path) -> None:
    """Fail on an unreadable video before spending minutes loading models."""
    from videoespresso_hf.video import VideoError, probe

    try:
        probe(path)
    except VideoError as error:
        raise UserError(str(error)) from error


def parse_dtype(name: str):
    """``--dtype``: ``"auto"`` or the name of a ``torch.dtype``."""
    try:
        return torch_dtype(name)
    except ValueError as error:
        raise UserError(str(error)) from None


def device_map(requested: str | None) -> str | None:
    """``--device-map`` as given, else ``"auto"`` when an accelerator is present (a 7B on the CPU takes minutes)."""
    if requested is not None:
        return requested
    import torch

    return "auto" if torch.cuda.is_available() else None


def load_kwargs(args: argparse.Namespace) -> dict:
    """``from_pretrained`` kwargs of every checkpoint a model command loads."""
    load = {
        "dtype": parse_dtype(args.dtype),
        "device_map": device_map(args.device_map),
        "trust_remote_code": args.trust_remote_code,
    }
    if args.attn_implementation:
        load["attn_implementation"] = args.attn_implementation
    return load


def load_embedder(args: argparse.Namespace, strategy: str):
    """The embedding strategy's text embedder, loaded here so that a bad path is a one-line error."""
    if not frame_rule(strategy).needs_embedder:
        return None
    from videoespresso_hf.embeddings import load_text_embedder
    from videoespresso_hf.models.strategies import DEFAULT_EMBEDDER

    name = args.embedding_model or DEFAULT_EMBEDDER
    try:
        return load_text_embedder(name)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the embedding model {name}: {first_line(error)} (set --embedding-model)") from error


def load_image_text_scorer(args: argparse.Namespace, strategy: str):
    """The image_text strategy's scorer, loaded here so that a bad checkpoint is a one-line error."""
    if not frame_rule(strategy).needs_image_text:
        return None
    from videoespresso_hf.models.image_text import DEFAULT_IMAGE_TEXT_MODEL, ImageTextScorer

    name = args.image_text_model or DEFAULT_IMAGE_TEXT_MODEL
    try:
        return ImageTextScorer.from_pretrained(
            name, dtype=parse_dtype(args.dtype), device_map=device_map(args.device_map)
        )
    except (OSError, ValueError) as error:
        raise UserError(f"cannot load the image-text model {name}: {first_line(error)} (set --image-text-model)") from error
