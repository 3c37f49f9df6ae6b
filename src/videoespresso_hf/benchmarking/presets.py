"""Official-protocol presets: what each model family's authors or lmms-eval feed the model, in one table.

Scores differ between toolkits mostly because of frames, fps and pixels (lmms-eval #603: Qwen2.5-VL VideoMME
62.9 vs 65.1 official). ``predict --preset NAME`` takes the row of this table whose values a published number was
made with; every value names its source. Flags given explicitly win over the preset's values; without a preset
``predict`` uses ``uniform:16`` (:data:`DEFAULT_FRAMES`), labelled as our default, not any family's protocol.

A row holds:

* ``frames`` — the frame rule (:func:`~videoespresso_hf.benchmarking.frames.parse_frame_rule`): ``uniform:N`` where
  the source samples N frames evenly over the video (lmms-eval's ``np.linspace(0, total - 1, N)``), ``fps:X:N``
  where it samples X frames per second, at most N, ``qwen-vl-utils:...`` where the source feeds Qwen models through
  qwen-vl-utils (its frame count and index formula);
* ``min_pixels`` / ``max_pixels`` — the per-frame pixel bounds the processor resizes into (``None``: the
  processor's own fixed size, e.g. SigLIP's 384², InternViT's 448²);
* ``factor`` — the side multiple of resized frames (patch size x merge size: 28 for Qwen2.5-VL, 32 for Qwen3-VL),
  used when the loaded processor does not say (predict reads ``patch_size * merge_size`` from it first);
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
#: qwen-vl-utils' and lmms-eval's per-frame pixel floor for Qwen videos (lmms-eval's min_pixels default).
QWEN_VIDEO_MIN_PIXELS = 256 * 28 * 28


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
    factor: int | None = None  # side multiple of resized frames when the processor does not give one; None: no bounds

    def describe(self) -> dict[str, Any]:
        """The row as recorded in the predictions sidecar."""
        return asdict(self)


_ROWS = (
    Preset(
        name="qwen2_5_vl",
        family="Qwen2.5-VL",
        frames="qwen-vl-utils:nframes=32",
        min_pixels=QWEN_VIDEO_MIN_PIXELS,
        max_pixels=768 * 28 * 28,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} 0.7.3: `--model qwen2_5_vl` resolves to lmms_eval/models/chat/qwen2_5_vl.py (its "
        "__init__ is models/simple/qwen2_5_vl.py's: max_num_frames=32, fps=None, min_pixels=256*28*28, "
        "max_pixels=1605632). It asks qwen-vl-utils 0.0.14 fetch_video for nframes = min(32, frames in the video) "
        "floored to even (indices torch.linspace(0, total - 1, n).round()); fetch_video caps a video frame at "
        "VIDEO_MAX_TOKEN_NUM*28*28 = 602112 pixels (below 1605632, for up to 300 frames), resizing bicubic with "
        "antialias. No system message (the chat template's default), temperature 0 (greedy), max_new_tokens from "
        "the task. It loads the model in bfloat16 (the checkpoints' dtype, predict's --dtype auto)",
        factor=28,  # 14-pixel patches merged 2x2
    ),
    Preset(
        name="qwen3_vl",
        family="Qwen3-VL",
        frames="qwen-vl-utils:nframes=32",
        min_pixels=QWEN_VIDEO_MIN_PIXELS,
        max_pixels=768 * 32 * 32,
        max_new_tokens=None,
        do_sample=False,
        source=f"{_LMMS_EVAL} 0.7.3 lmms_eval/models/chat/qwen3_vl.py (defaults of models/simple/qwen3_vl.py): "
        "nframes=max_num_frames=32 through qwen-vl-utils with image_patch_size=16 (frames a multiple of 32 pixels, "
        "at most VIDEO_MAX_TOKEN_NUM*32*32 = 786432), min_pixels=256*28*28, greedy; unlike qwen2_5_vl it does not "
        "cap nframes at a short video's length (qwen-vl-utils then fails on it) and it adds the system message "
        "'You are a helpful assistant.', which predict does not send. The Qwen3-VL authors' long-video protocol "
        "(2 fps, <= 2,048 frames, lmms-eval #1540) needs a GPU budget: --frames qwen-vl-utils:fps=2,max_frames=768 "
        "is the closest predict takes",
        factor=32,  # 16-pixel patches merged 2x2 (qwen-vl-utils image_patch_size=16)
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
        source="SmolVLM2's Hub processor config (HuggingFaceTB/SmolVLM2-2.2B-Instruct preprocessor_config.json "
        "video_sampling: fps 1, max_frames 64; NOT checkable offline: transformers 5.23's SmolVLMVideoProcessor has "
        "no default fps or frame count, it reads them from that config). An approximation: SmolVLM2's own sampler "
        "(SmolVLMVideoProcessor.sample_frames) takes min(round(duration * fps), max_frames) frames by "
        "np.linspace(start, end, n, dtype=int) (floored), skipping 1 s at each end of videos longer than "
        "2 s + max_frames * fps seconds (transformers' condition), while fps:1:64 takes the frame on screen every "
        "second, thinned evenly to 64, so "
        "indices can differ by a frame or more. Frame size: the processor's own (transformers' class default "
        "max_image_size longest_edge 364; the checkpoint's config sets its own). Greedy",
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
