"""Configurations of the VideoEspresso reasoning VLM (two-stage "evidence, then answer").

The reasoner is a native transformers VLM with a new ``model_type`` and the two-stage prompts stored in
its config, so that a saved checkpoint reproduces its own behaviour. Two backbones are provided:

* :class:`VexQwen2_5_VLReasonerConfig` (``model_type="vex_reasoner_qwen2_5_vl"``), default base
  ``Qwen/Qwen2.5-VL-7B-Instruct`` — the comparability baseline (TaYS, Video-R1 report on it);
* :class:`VexQwen3VLReasonerConfig` (``model_type="vex_reasoner_qwen3_vl"``), default base
  ``Qwen/Qwen3-VL-8B-Instruct`` — the newer family.

The paper (§4.2) fine-tunes LLaVA-NeXT-Interleave-7B; its instructions are quoted in the defaults below
("Please provide evidence to help answer the question." / "Please answer the question with the help of
evidence."). This file imports nothing but transformers: it is copied next to the weights for
``trust_remote_code=True`` loading.
"""

import os
import re

from transformers import Qwen2_5_VLConfig, Qwen3VLConfig

DEFAULT_QWEN2_5_VL_REASONER = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_QWEN3_VL_REASONER = "Qwen/Qwen3-VL-8B-Instruct"

# Placeholders: {question}, {options} (already formatted, one per line, or empty), {evidence}.
EVIDENCE_PROMPT = "{question}\n{options}Please provide evidence to help answer the question."
ANSWER_PROMPT = (
    "{question}\n{options}Evidence: {evidence}\nPlease answer the question with the help of evidence."
)
MULTIPLE_CHOICE_SUFFIX = "\nAnswer with the option's letter from the given choices directly."
OPTION_FORMAT = "({letter}) {option}\n"
OPTION_LETTERS = "ABCDEFGHIJ"


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


class VexQwen2_5_VLReasonerConfig(_LoadsBaseCheckpoints, Qwen2_5_VLConfig):
    """Qwen2.5-VL reasoner config: the fields of ``Qwen2_5_VLConfig`` plus the two-stage ones.

    Attributes:
        evidence_prompt: stage-1 instruction template (``{question}``, ``{options}``).
        answer_prompt: stage-2 template; ``{evidence}`` receives stage 1's output.
        multiple_choice_suffix: appended to the stage-2 prompt when options are given.
        option_format: how one option is written (``{letter}``, ``{option}``).
        option_letters: letters given to options, in order.
        evidence_max_new_tokens / answer_max_new_tokens: generation budgets of the two stages.
        video_fps: the sampling rate reported to the video processor for the frames handed in
            (the selected frames are not evenly spaced; Qwen uses it for temporal position ids).
        base_model_id: the Hub id the weights were initialised from (for the model card).
    """

    model_type = "vex_reasoner_qwen2_5_vl"

    evidence_prompt: str = EVIDENCE_PROMPT
    answer_prompt: str = ANSWER_PROMPT
    multiple_choice_suffix: str = MULTIPLE_CHOICE_SUFFIX
    option_format: str = OPTION_FORMAT
    option_letters: str = OPTION_LETTERS
    evidence_max_new_tokens: int = 256
    answer_max_new_tokens: int = 32
    video_fps: float = 1.0
    base_model_id: str | None = DEFAULT_QWEN2_5_VL_REASONER


class VexQwen3VLReasonerConfig(_LoadsBaseCheckpoints, Qwen3VLConfig):
    """Qwen3-VL reasoner config: the fields of ``Qwen3VLConfig`` plus the two-stage ones (see
    :class:`VexQwen2_5_VLReasonerConfig`)."""

    model_type = "vex_reasoner_qwen3_vl"

    evidence_prompt: str = EVIDENCE_PROMPT
    answer_prompt: str = ANSWER_PROMPT
    multiple_choice_suffix: str = MULTIPLE_CHOICE_SUFFIX
    option_format: str = OPTION_FORMAT
    option_letters: str = OPTION_LETTERS
    evidence_max_new_tokens: int = 256
    answer_max_new_tokens: int = 32
    video_fps: float = 1.0
    base_model_id: str | None = DEFAULT_QWEN3_VL_REASONER


__all__ = [
    "DEFAULT_QWEN2_5_VL_REASONER",
    "DEFAULT_QWEN3_VL_REASONER",
    "VexQwen2_5_VLReasonerConfig",
    "VexQwen3VLReasonerConfig",
    "hub_id_of",
]

# save_pretrained copies this file and writes auto_map, so checkpoints load with trust_remote_code=True.
VexQwen2_5_VLReasonerConfig.register_for_auto_class()
VexQwen3VLReasonerConfig.register_for_auto_class()
