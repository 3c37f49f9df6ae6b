"""THE table of frame rules: which frames of a video a model sees (issue 21).

Each row of :data:`FRAME_RULES` is one rule: its strategy name (``--strategy`` of ``select``/``answer``,
``HybridVideoQA(strategy=...)``), the selection function that samples it (in
:mod:`videoespresso_hf.models.strategies`, which re-exports this table), what it needs (a selector, a text
embedder, an image-text model) and, for the rules predict's ``--frames`` offers, its spelling there and how its
argument parses (:func:`parse_frame_rule`).

A leaf module (no torch, nothing of the package): ``predict`` parses ``--frames`` and the CLI lists
``--strategy`` before any model library loads, so a bad value is refused in a second.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SHOTS",
    "FRAME_RULES",
    "MAX_FRAMES",
    "STRATEGIES",
    "FrameRule",
    "FrameRuleKind",
    "frames_rule_names",
    "frames_usage",
    "parse_frame_rule",
    "rule_kind",
]

# THE frame cap, one rule: our own rules (uniform, fps, shots; the selector's max_core_frames is its config's)
# take at most MAX_FRAMES frames, the authors' cap (eval/close_ended.py); the qwen-vl-utils rule is another
# toolkit's, kept for parity, so it takes that library's cap instead, QWEN_MAX_FRAMES, for nframes and max_frames
# alike (its fps form defaults to it, as qwen-vl-utils does).
MAX_FRAMES = 128
DEFAULT_SHOTS = 16  # predict's ``shots`` without N
# qwen-vl-utils 0.0.14 (QwenLM/Qwen2.5-VL qwen-vl-utils/src/qwen_vl_utils/vision_process.py) constants
QWEN_FRAME_FACTOR = 2  # FRAME_FACTOR: the frame count is a multiple of 2 (Qwen's temporal patch)
QWEN_FPS = 2.0  # FPS
QWEN_MIN_FRAMES = 4  # FPS_MIN_FRAMES
QWEN_MAX_FRAMES = 768  # FPS_MAX_FRAMES: the qwen-vl-utils rule's frame cap (see MAX_FRAMES)


@dataclass(frozen=True)
class FrameRule:
    """A parsed ``--frames`` value of predict; ``spec`` is its canonical text (recorded in the sidecar)."""

    kind: str  # the ``--frames`` name: a row's ``frames_name``
    count: int | None = None  # uniform, shots
    rate: float | None = None  # fps
    selector: str | None = None  # selector path or Hub id
    max_frames: int = MAX_FRAMES  # fps: the cap
    min_frames: int | None = None  # qwen-vl-utils fps: the floor

    @property
    def row(self) -> FrameRuleKind:
        return rule_kind(self.kind)

    @property
    def strategy(self) -> str:
        """The strategy (row of :data:`FRAME_RULES`) that samples this rule."""
        return self.row.strategy

    @property
    def spec(self) -> str:
        if self.kind == _QWEN:
            if self.count is not None:
                return f"{_QWEN}:nframes={self.count}"
            return f"{_QWEN}:fps={self.rate:g},min_frames={self.min_frames},max_frames={self.max_frames}"
        value = next(value for value in (self.selector, self.rate, self.count) if value is not None)
        cap = f":{self.max_frames}" if self.rate is not None and self.max_frames != MAX_FRAMES else ""
        return f"{self.kind}:{value}{cap}"

    def hybrid_settings(self) -> dict:
        """The :class:`~videoespresso_hf.models.hybrid.HybridVideoQA` keyword arguments that apply this rule."""
        if self.kind == _QWEN:
            raise ValueError(f"--frames {self.spec}: lmms-eval's Qwen frame rule is for the hf backend; the hybrid "
                             "takes uniform:N, fps:X[:N], shots[:N] or selector:PATH")
        if self.selector is not None:
            return {}  # the selector's own config
        if self.rate is not None:
            return {"candidate_fps": self.rate, "max_core_frames": self.max_frames}
        return {"max_core_frames": self.count}


def _parse_count(text: str, kind: str, value: str | None) -> FrameRule:
    if kind == "shots" and value is None:
        return FrameRule(kind, count=DEFAULT_SHOTS)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not number > 0:
        raise ValueError(f"--frames {text!r}: {kind} needs a positive whole number; {frames_usage()}")
    return FrameRule(kind, count=min(number, MAX_FRAMES))


def _parse_fps(text: str, kind: str, value: str | None) -> FrameRule:
    cap = MAX_FRAMES
    if value is not None and value.count(":") == 1:
        value, cap_text = value.split(":")
        cap = int(cap_text) if cap_text.isdigit() else 0
        if not 1 <= cap <= MAX_FRAMES:
            raise ValueError(f"--frames {text!r}: the frame cap N of fps:X:N must be a whole number from 1 to {MAX_FRAMES} "
                             f"(predict's frame cap; only qwen-vl-utils:... keeps that library's {QWEN_MAX_FRAMES})")
        text = f"fps:{value}"
        if not value:
            raise ValueError(f"--frames {text!r}: {frames_usage()}")
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = 0.0
    if not rate > 0:
        raise ValueError(f"--frames {text!r}: {kind} needs a positive number; {frames_usage()}")
    return FrameRule(kind, rate=rate, max_frames=cap)


_QWEN = "qwen-vl-utils"
_QWEN_USAGE = "qwen-vl-utils:nframes=N|fps=X[,min_frames=N][,max_frames=N]"


def _parse_qwen(text: str, kind: str, value: str | None) -> FrameRule:
    """``nframes=N`` or ``fps=X[,min_frames=N][,max_frames=N]``: the arguments of qwen-vl-utils' ``smart_nframes``
    (:func:`~videoespresso_hf.models.strategies.qwen_vl_utils_selection` samples them)."""
    usage = f"--frames {text!r}: use {_QWEN_USAGE}"
    try:
        pairs = dict(part.split("=", 1) for part in (value or "").split(","))
        numbers = {key: float(number) if key == "fps" else int(number) for key, number in pairs.items()}
    except ValueError:
        raise ValueError(usage) from None
    if not (set(numbers) == {"nframes"} or ("fps" in numbers and set(numbers) <= {"fps", "min_frames", "max_frames"})):
        raise ValueError(usage)
    if not all(number > 0 for number in numbers.values()):
        raise ValueError(f"--frames {text!r}: every value must be positive")
    if numbers.get("nframes", 0) > QWEN_MAX_FRAMES:
        raise ValueError(f"--frames {text!r}: nframes is at most {QWEN_MAX_FRAMES} (qwen-vl-utils' frame cap, which "
                         f"this rule keeps; uniform, fps and shots stop at {MAX_FRAMES})")
    if "nframes" in numbers:
        return FrameRule(kind, count=numbers["nframes"])
    low, high = numbers.get("min_frames", QWEN_MIN_FRAMES), numbers.get("max_frames", QWEN_MAX_FRAMES)
    if not low <= high <= QWEN_MAX_FRAMES:
        raise ValueError(f"--frames {text!r}: need min_frames <= max_frames <= {QWEN_MAX_FRAMES} (qwen-vl-utils' frame "
                         f"cap, which this rule keeps; uniform, fps and shots stop at {MAX_FRAMES})")
    return FrameRule(kind, rate=numbers["fps"], min_frames=low, max_frames=high)


def _parse_selector(text: str, kind: str, value: str | None) -> FrameRule:
    if not value:
        raise ValueError(f"--frames {text!r}: selector needs a path or Hub id (selector:PATH)")
    return FrameRule(kind, selector=value)


@dataclass(frozen=True)
class FrameRuleKind:
    """One row of :data:`FRAME_RULES`: a frame rule, the function that samples it and what it needs.

    Attributes:
        strategy: its name for ``--strategy`` of ``select``/``answer`` and ``HybridVideoQA(strategy=...)``.
        function: the name of its selection function in :mod:`videoespresso_hf.models.strategies` (all return a
            ``FrameSelection``; a name, so that this table loads without torch).
        needs_selector: needs a :class:`VexFrameSelectorModel` (its captioner, and for ``model`` its chooser).
        needs_embedder: needs a sentence embedder (default :data:`DEFAULT_EMBEDDER`).
        needs_image_text: needs an image-text model (:class:`~videoespresso_hf.models.image_text.ImageTextScorer`).
        frames_name / frames_usage / parse: its spelling in predict's ``--frames`` (``None``: not offered
            there), the usage shown in errors, and ``(text, name, argument or None) -> FrameRule``.
        frames_only: a rule of predict's ``--frames`` only, not a ``--strategy`` of ``select``/``answer`` or the
            hybrid (it is another toolkit's input rule, kept for parity, not a frame-selection strategy).
    """

    strategy: str
    function: str
    needs_selector: bool = False
    needs_embedder: bool = False
    needs_image_text: bool = False
    frames_name: str | None = None
    frames_usage: str | None = None
    parse: Callable[[str, str, str | None], FrameRule] | None = None
    frames_only: bool = False


FRAME_RULES: dict[str, FrameRuleKind] = {
    row.strategy: row
    for row in (
        FrameRuleKind("model", "model_selection", needs_selector=True,
                      frames_name="selector", frames_usage="selector:PATH", parse=_parse_selector),
        FrameRuleKind("uniform", "uniform_selection", frames_name="uniform", frames_usage="uniform:N", parse=_parse_count),
        FrameRuleKind("fps", "fps_selection", frames_name="fps", frames_usage="fps:X[:N]", parse=_parse_fps),
        FrameRuleKind("shots", "shot_selection", frames_name="shots", frames_usage="shots[:N]", parse=_parse_count),
        FrameRuleKind("embedding", "embedding_selection", needs_selector=True, needs_embedder=True),
        FrameRuleKind("image_text", "image_text_selection", needs_image_text=True),
        # lmms-eval's `qwen2_5_vl` / `qwen3_vl` frames: qwen-vl-utils' smart_nframes and its index formula.
        FrameRuleKind("qwen_vl_utils", "qwen_vl_utils_selection", frames_name=_QWEN, frames_usage=_QWEN_USAGE,
                      parse=_parse_qwen, frames_only=True),
    )
}  # fmt: skip
#: The ``--strategy`` names of ``select``/``answer`` and the hybrid (the rows that are frame-selection strategies).
STRATEGIES: tuple[str, ...] = tuple(name for name, row in FRAME_RULES.items() if not row.frames_only)


def frames_rule_names() -> tuple[str, ...]:
    """The rule names predict's ``--frames`` accepts, model-free rules first."""
    rows = sorted((row for row in FRAME_RULES.values() if row.frames_name), key=lambda row: row.needs_selector)
    return tuple(row.frames_name for row in rows)


def rule_kind(frames_name: str) -> FrameRuleKind:
    """The row of a ``--frames`` rule name (``KeyError`` if the table has none)."""
    for row in FRAME_RULES.values():
        if row.frames_name == frames_name:
            return row
    raise KeyError(frames_name)


def frames_usage() -> str:
    usages = [rule_kind(name).frames_usage for name in frames_rule_names()]
    return "use " + ", ".join(usages[:-1]) + " or " + usages[-1]


def parse_frame_rule(text: str) -> FrameRule:
    """``"uniform:16"`` → :class:`FrameRule`. Raises ``ValueError`` with a one-line message naming the fix."""
    names = "|".join(re.escape(name) for name in frames_rule_names())
    match = re.match(rf"^({names})(?::(.+))?$", text.strip())
    if not match:
        raise ValueError(f"--frames {text!r}: {frames_usage()}")
    name, value = match.groups()
    return rule_kind(name).parse(text, name, value)
