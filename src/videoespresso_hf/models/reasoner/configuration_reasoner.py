"""Configurations of the VideoEspresso reasoning VLM (two-stage "evidence, then answer").

The reasoner is a native transformers VLM with a new ``model_type`` and the two-stage prompts stored in
its config, so that a saved checkpoint reproduces its own behaviour. Three backbones are provided:

* :class:`VexLlavaReasonerConfig` (``model_type="vex_reasoner_llava"``), default base
  ``llava-hf/llava-interleave-qwen-7b-hf`` — the paper's backbone (§4.2: LLaVA-NeXT-Interleave-7B,
  a SigLIP-so400m vision tower and a Qwen LM, fed the core frames as separate images);
* :class:`VexQwen2_5_VLReasonerConfig` (``model_type="vex_reasoner_qwen2_5_vl"``), default base
  ``Qwen/Qwen2.5-VL-7B-Instruct`` — the comparability baseline (TaYS, Video-R1 report on it);
* :class:`VexQwen3VLReasonerConfig` (``model_type="vex_reasoner_qwen3_vl"``), default base
  ``Qwen/Qwen3-VL-8B-Instruct`` — the newer family.

The paper's instructions are quoted in the defaults below ("Please provide evidence to help answer the
question." / "Please answer the question with the help of evidence."). This file imports nothing but
transformers: it is copied next to the weights for ``trust_remote_code=True`` loading.
"""

import os
import re
from dataclasses import dataclass, field
from typing import ClassVar

from transformers import AutoConfig, LlavaConfig, Qwen2_5_VLConfig, Qwen3VLConfig
from transformers.configuration_utils import SubConfigSpec

# This file ships alone as remote code (push_to_hub copies it beside the weights): it cannot import the package,
# so it repeats these ids of videoespresso_hf.defaults; tests/models/test_remote_code.py keeps them equal.
DEFAULT_LLAVA_REASONER = "llava-hf/llava-interleave-qwen-7b-hf"
DEFAULT_QWEN2_5_VL_REASONER = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_QWEN3_VL_REASONER = "Qwen/Qwen3-VL-8B-Instruct"

# Placeholders: {question}, {options} (already formatted, one per line, or empty), {evidence}.
EVIDENCE_PROMPT = "{question}\n{options}Please provide evidence to help answer the question."
ANSWER_PROMPT = (
    "{question}\n{options}Evidence: {evidence}\nPlease answer the question with the help of evidence."
)
MULTIPLE_CHOICE_SUFFIX = "\nAnswer with the option's letter from the given choices directly."
# One-pass grounded reasoning (checkpoints trained with GRPO, ``videoespresso train reasoner --stage rl``): the
# rollout format of videoespresso_hf.evaluation.grounding — evidence with the release's object/box tags and
# <t>seconds</t> times inside <think>, then the answer inside <answer>.
ONE_PASS_PROMPT = (
    "{question}\n{options}First give the evidence inside <think></think>: write each key object as "
    "<obj_start>name<obj_end><box_start>[x1, y1, x2, y2]<box_end> followed by the time you see it, "
    "as at <t>seconds</t>s. Then give the answer inside <answer></answer>."
)
ONE_PASS_CHOICE_SUFFIX = " Inside <answer></answer>, write only the option's letter."
REASONING_MODES = ("two_stage", "one_pass")
OPTION_FORMAT = "({letter}) {option}\n"
OPTION_LETTERS = "ABCDEFGHIJ"
# Written before each core frame shown as a separate image ({index} counts from 1; {timestamp} in seconds).
FRAME_LABEL = "Frame {index} (at {timestamp:.1f} s): "
# The inline tags of the released evidence (data-formats.md §1.3). A fine-tune may add them to the
# vocabulary as special tokens; decoding keeps them so that stage 2 reads what training showed it.
EVIDENCE_TAGS = ["<obj_start>", "<obj_end>", "<box_start>", "<box_end>"]

FRAME_PRESENTATIONS = ("images", "video")


def hub_id_of(name_or_path: str | os.PathLike) -> str | None:
    """The Hub id a checkpoint came from: the id itself, a Hub cache snapshot's ``org/name``, else ``None``.

    A plain local folder says nothing about its origin, so it must not land in a card's ``base_model``.
    """
    text = os.fspath(name_or_path)
    if not os.path.exists(text):
        return text
    cached = re.search(r"models--([^/\\]+?)--([^/\\]+)", text)
    return f"{cached.group(1)}/{cached.group(2)}" if cached else None


class _LoadsBaseCheckpoints:
    """Loading a stock checkpoint of the family (``Qwen/Qwen2.5-VL-3B-Instruct``) into the reasoner config.

    Its ``config.json`` has the stock ``model_type`` and no ``base_model_id``: the reasoner starts from that
    checkpoint, so it becomes ``base_model_id`` (not the class default) and the model type becomes ours.
    """

    @classmethod
    def get_config_dict(cls, pretrained_model_name_or_path, **kwargs):
        config_dict, kwargs = super().get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") not in (None, cls.model_type) and "base_model_id" not in config_dict:
            base_model_id = hub_id_of(pretrained_model_name_or_path)
            config_dict = {**config_dict, "model_type": cls.model_type, "base_model_id": base_model_id}
        return config_dict, kwargs


@dataclass(kw_only=True)
class TwoStageFields(_LoadsBaseCheckpoints):
    """The fields every reasoner config adds to its backbone's config (and the loading of stock checkpoints
    of the backbone, from :class:`_LoadsBaseCheckpoints`).

    Attributes:
        evidence_prompt: stage-1 instruction template (``{question}``, ``{options}``).
        answer_prompt: stage-2 template; ``{evidence}`` receives stage 1's output (or the annotation).
        multiple_choice_suffix: appended to the stage-2 prompt when options are given.
        option_format: how one option is written (``{letter}``, ``{option}``).
        option_letters: letters given to options, in order.
        frame_presentation: how the frames reach the model. ``"images"`` (default): every core frame is a
            separate image preceded by ``frame_label`` (its timestamp in the text). ``"video"``: the frames
            are one video clip, for uniformly sampled clips. Why images by default: the core frames are a
            few frames seconds apart, picked per question. Qwen's vision tower merges every
            ``temporal_patch_size`` (2) consecutive video frames into one temporal patch, so two core
            frames as a "video" became a single patch (2 frames cost the tokens of 1, and swapping them
            changed the logits), and its video time ids assume one frame rate. The Qwen2.5-VL / Qwen3-VL
            model cards document non-contiguous pictures as "multi image inference" (one image entry
            each) and videos as a file or a list of sampled frames; the paper feeds its core frames to
            LLaVA-NeXT-Interleave as separate images. Training and inference both read this field.
        frame_label: text written before each frame in the ``"images"`` presentation
            (``{index}`` from 1, ``{timestamp}`` in seconds).
        min_pixels / max_pixels: per-frame pixel bounds, for images and video frames alike (``None``:
            the processor's own). The Qwen Hub repos ship no per-frame cap for images (their image
            processor allows 12.8 M pixels), so three 1080p core frames cost ~5.4k visual tokens, ~3.5×
            what the reference ``qwen-vl-utils`` gives a video frame. The Qwen defaults are
            ``qwen-vl-utils``' video-frame bounds: 128 to 768 visual tokens per frame (``× (patch ×
            merge)²`` pixels). LLaVA resizes every frame to its fixed SigLIP size, so it needs none.
        evidence_tags: tags kept when decoding the evidence even if they are special tokens of a
            fine-tune (``skip_special_tokens=True`` would drop them before stage 2 reads the evidence).
        evidence_max_new_tokens: stage-1 budget. Default 512: published baselines write about 450 tokens of
            evidence; the released evidence interleaves object tags with boxes, and a box such as
            ``[123, 45, 678, 90]`` alone costs ~17 tokens with the Qwen tokenizers (digits are split one by
            one), so a few objects with several candidate boxes each, over 2–4 core frames, pass 256
            tokens (the former default, which cut evidence short). The synthetic release in
            ``videoespresso_hf.demo.releases`` is ~50 tokens per record and says nothing about the real
            tail; 512 stays far inside the paper's 6144-token training length.
        answer_max_new_tokens: stage-2 budget.
        video_fps: the frame rate assumed for frames handed in without timestamps.
        reasoning_mode: ``"two_stage"`` (the paper: evidence, then a second call for the answer) or ``"one_pass"``
            (written by GRPO training: one call whose output is ``<think>`` grounded evidence ``</think><answer>``
            answer ``</answer>``, split into evidence and answer by :meth:`generate_two_stage`).
        one_pass_prompt / one_pass_choice_suffix: the one-pass instruction (``{question}``, ``{options}``) and
            what it adds for multiple choice.
        one_pass_max_new_tokens: the one-pass budget (evidence and answer together; GRPO's default completion length).
        base_model_id: the Hub id the weights were initialised from (for the model card).
    """

    evidence_prompt: str = EVIDENCE_PROMPT
    answer_prompt: str = ANSWER_PROMPT
    multiple_choice_suffix: str = MULTIPLE_CHOICE_SUFFIX
    option_format: str = OPTION_FORMAT
    option_letters: str = OPTION_LETTERS
    frame_presentation: str = "images"
    frame_label: str = FRAME_LABEL
    min_pixels: int | None = None
    max_pixels: int | None = None
    evidence_tags: list[str] = field(default_factory=lambda: list(EVIDENCE_TAGS))
    evidence_max_new_tokens: int = 512
    answer_max_new_tokens: int = 32
    video_fps: float = 1.0
    reasoning_mode: str = "two_stage"
    one_pass_prompt: str = ONE_PASS_PROMPT
    one_pass_choice_suffix: str = ONE_PASS_CHOICE_SUFFIX
    one_pass_max_new_tokens: int = 768
    base_model_id: str | None = None

    # Backbone traits (class attributes, not saved): which presentations the processor can build, whether
    # the video processor bounds a clip's total pixels (Qwen3-VL) rather than each frame's (Qwen2.5-VL), and
    # whether frames must be written into the text as the processor's image token (LLaVA: its chat
    # template renders every image part before all text parts, so labels could not precede their frame).
    supported_presentations = FRAME_PRESENTATIONS
    video_size_is_total = False
    frames_inline_in_text = False

    def validate_two_stage(self) -> None:
        """Fail early on a presentation the backbone cannot build (called by the reasoner's helpers)."""
        if self.reasoning_mode not in REASONING_MODES:
            raise ValueError(f"reasoning_mode={self.reasoning_mode!r}; use one of {', '.join(REASONING_MODES)}")
        if self.frame_presentation not in self.supported_presentations:
            raise ValueError(
                f"frame_presentation={self.frame_presentation!r} is not supported by {type(self).__name__}; "
                f"use one of {', '.join(self.supported_presentations)}"
            )


def _qwen_pixels(factor: int) -> dict:
    """``qwen-vl-utils``' per-video-frame bounds (128 to 768 merged patches) for a patch×merge ``factor``."""
    return {"min_pixels": 128 * factor * factor, "max_pixels": 768 * factor * factor}


_QWEN2_5_PIXELS = _qwen_pixels(28)  # patch 14 × merge 2
_QWEN3_PIXELS = _qwen_pixels(32)  # patch 16 × merge 2


class VexQwen2_5_VLReasonerConfig(TwoStageFields, Qwen2_5_VLConfig):
    """Qwen2.5-VL reasoner config: the fields of ``Qwen2_5_VLConfig`` plus :class:`TwoStageFields`."""

    model_type = "vex_reasoner_qwen2_5_vl"

    min_pixels: int | None = _QWEN2_5_PIXELS["min_pixels"]
    max_pixels: int | None = _QWEN2_5_PIXELS["max_pixels"]
    base_model_id: str | None = DEFAULT_QWEN2_5_VL_REASONER


class VexQwen3VLReasonerConfig(TwoStageFields, Qwen3VLConfig):
    """Qwen3-VL reasoner config: the fields of ``Qwen3VLConfig`` plus :class:`TwoStageFields`."""

    model_type = "vex_reasoner_qwen3_vl"

    min_pixels: int | None = _QWEN3_PIXELS["min_pixels"]
    max_pixels: int | None = _QWEN3_PIXELS["max_pixels"]
    base_model_id: str | None = DEFAULT_QWEN3_VL_REASONER

    video_size_is_total = True


class VexLlavaReasonerConfig(TwoStageFields, LlavaConfig):
    """LLaVA-NeXT-Interleave reasoner config: ``LlavaConfig`` plus :class:`TwoStageFields`.

    The defaults describe ``llava-hf/llava-interleave-qwen-7b-hf``: a SigLIP-so400m/14 tower at 384 px
    without its pooling head (729 tokens per image), a Qwen2 LM, ``<image>`` = 151646, last-layer features of
    every patch. Only the ``"images"`` presentation exists: the family reads video as a sequence of images
    and its processor has no video branch.
    """

    model_type = "vex_reasoner_llava"

    sub_configs_defaults: ClassVar[dict] = {
        "vision_config": SubConfigSpec(
            config_class=AutoConfig,
            model_type="siglip_vision_model",
            init_kwargs={
                "hidden_size": 1152,
                "image_size": 384,
                "intermediate_size": 4304,
                "num_attention_heads": 16,
                "num_hidden_layers": 26,
                "patch_size": 14,
                "vision_use_head": False,
            },
        ),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2"),
    }
    image_token_index: int = 151646
    image_seq_length: int = 729
    vision_feature_select_strategy: str = "full"
    vision_feature_layer: int | list[int] = -1
    base_model_id: str | None = DEFAULT_LLAVA_REASONER

    supported_presentations = ("images",)
    frames_inline_in_text = True


__all__ = [
    "DEFAULT_LLAVA_REASONER",
    "DEFAULT_QWEN2_5_VL_REASONER",
    "DEFAULT_QWEN3_VL_REASONER",
    "REASONING_MODES",
    "TwoStageFields",
    "VexLlavaReasonerConfig",
    "VexQwen2_5_VLReasonerConfig",
    "VexQwen3VLReasonerConfig",
    "hub_id_of",
]

# save_pretrained copies this file and writes auto_map, so checkpoints load with trust_remote_code=True.
VexLlavaReasonerConfig.register_for_auto_class()
VexQwen2_5_VLReasonerConfig.register_for_auto_class()
VexQwen3VLReasonerConfig.register_for_auto_class()
