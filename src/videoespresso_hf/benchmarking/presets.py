"""Official-protocol presets: what each model family's authors or lmms-eval feed the model, in one table.

Scores differ between toolkits mostly because of frames, fps and pixels (lmms-eval #603: Qwen2.5-VL VideoMME
62.9 vs 65.1 official). ``predict --preset NAME`` takes the row of this table whose values a published number was
made with; every value names its source. Flags given explicitly win over the preset's values; without a preset
``predict`` uses ``uniform:16`` (:data:`DEFAULT_FRAMES`), labelled as our default, not any family's protocol.

A row holds:

* ``frames`` — the frame rule (:func:`~videoespresso_hf.benchmarking.frames.parse_frame_rule`): ``uniform:N`` where
  the source samples N frames evenly over the video (lmms-eval's ``np.linspace(0, total - 1, N)``), ``fps:X:N``
  where it samples X frames per second, at most N;
* ``min_pixels`` / ``max_pixels`` — the per-frame pixel bounds the processor resizes into (``None``: the
  processor's own fixed size, e.g. SigLIP's 384², InternViT's 448²);
* ``max_new_tokens`` and ``do_sample`` — generation settings (all sources decode greedily).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

__all__ = ["DEFAULT_FRAMES", "PRESETS", "Preset", "get_preset"]

#: Our default frame rule without a preset: 16 evenly spaced frames for every model (not any family's protocol).
DEFAULT_FRAMES = "uniform:16"

_LMMS_EVAL = "lmms-eval (EvolvingLMMs-Lab/lmms-eval)"


@dataclass(frozen=True)
class Preset:
    """One family's evaluation protocol, with where each value comes from."""

    name: str
    family: str
    frames: str
    min_pixels: int | None
    max_pixels: int | None
    max_new_tokens: int | None  # None: the task's budget (32 multiple choice, 512 open-ended)
    do_sample: bool
    source: str

    def describe(self) -> dict[str, Any]:
        """The row as recorded in the predictions sidecar."""
        return asdict(self)


_ROWS = (
    Preset(
        name="qwen2_5_vl",
        family="Qwen2.5-VL",
        frames="uniform:32",
        min_pixels=256 * 28 * 28,
        max_pixels=1605632,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} lmms_eval/models/simple/qwen2_5_vl.py Qwen2_5_VL.__init__ defaults: "
        "min_pixels=256*28*28, max_pixels=1605632, max_num_frames=32 (np.linspace over the decoded video), "
        "temperature 0 (greedy)",
    ),
    Preset(
        name="qwen3_vl",
        family="Qwen3-VL",
        frames="uniform:32",
        min_pixels=256 * 28 * 28,
        max_pixels=1605632,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} lmms_eval/models/simple/qwen3_vl.py Qwen3_VL.__init__ defaults: "
        "min_pixels=256*28*28, max_pixels=1605632, max_num_frames=32 (np.linspace), temperature 0 (greedy). "
        "The Qwen3-VL authors' long-video protocol (2 fps, <= 2,048 frames, lmms-eval #1540) needs a GPU budget: "
        "use --frames fps:2:2048",
    ),
    Preset(
        name="llava_onevision",
        family="LLaVA-OneVision / LLaVA-Video",
        frames="uniform:32",
        min_pixels=None,
        max_pixels=None,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} lmms_eval/models/simple/llava_onevision.py Llava_OneVision.__init__ defaults: "
        "max_frames_num=32 (np.linspace(0, total - 1, 32)), SigLIP processor size; greedy",
    ),
    Preset(
        name="llava_interleave",
        family="LLaVA-NeXT-Interleave",
        frames="uniform:16",
        min_pixels=None,
        max_pixels=None,
        max_new_tokens=None,
        do_sample=False,
        source="no published video protocol for the transformers checkpoint (llava-hf/llava-interleave-qwen-7b-hf) "
        "was found: our default uniform:16 as a list of images (the processor's own 384x384), greedy. The "
        "VideoEspresso authors' eval/close_ended.py samples min(128, 24*duration+1) frames at temperature 0.8 "
        "(--frames uniform:128 --official-sampling)",
    ),
    Preset(
        name="internvl3",
        family="InternVL3",
        frames="uniform:32",
        min_pixels=None,
        max_pixels=None,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} lmms_eval/models/simple/internvl3.py InternVL3.__init__ defaults: num_frame=32, "
        "one 448x448 tile per frame (max_num=1 for video), do_sample=False",
    ),
    Preset(
        name="smolvlm2",
        family="SmolVLM2",
        frames="fps:1:64",
        min_pixels=None,
        max_pixels=None,
        max_new_tokens=None,
        do_sample=False,
        source="SmolVLM2 processor config (HuggingFaceTB/SmolVLM2-2.2B-Instruct preprocessor video_sampling: "
        "fps 1, max_frames 64, longest edge 384); greedy",
    ),
)

#: name -> preset (``predict --preset NAME``).
PRESETS: MappingProxyType[str, Preset] = MappingProxyType({row.name: row for row in _ROWS})


def get_preset(name: str) -> Preset:
    """The preset called ``name``. Raises ``ValueError`` (one line, naming the choices) for an unknown name."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"--preset {name!r}: unknown preset; choose one of {', '.join(PRESETS)}") from None
