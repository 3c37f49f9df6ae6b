"""Tiny random VLMs of six transformers families, saved with offline tokenizers and processors.

Each follows its real family's rules where ``videoespresso predict`` meets them: the processor class
and its video (or image) processor, the media placeholder tokens and how the chat template places
them (Qwen ``<|vision_start|><|video_pad|>``, LLaVA ``<image>``/``<video>``, InternVL ``<video>``
expanded into per-frame ``<img>…</img>`` blocks, SmolVLM's timestamped frames), the vision tower
(Qwen ViT, SigLIP, InternViT, Idefics3) and the projector. Weights are RANDOM (2 layers, hidden 64).

``save_tiny_vlm(path, family, letters="ABCD")`` also restricts generation to those letters (through
``generation_config.suppress_tokens``, which every caller of ``generate`` inherits), so the random model
answers like a multiple-choice model; ``letters="B"`` makes its answers known in advance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from doubles.tiny_models import (
    QWEN_CHAT_TEMPLATE,
    _qwen2_5_vl_parts,
    _qwen3_vl_parts,
    _text_config,
    _token_ids,
    build_tiny_captioner,
    tiny_tokenizer,
)

__all__ = ["FAMILIES", "build_tiny_vlm", "save_tiny_vlm"]

Family = Literal["qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_interleave", "internvl", "smolvlm"]
FAMILIES: tuple[str, ...] = ("qwen2_5_vl", "qwen3_vl", "llava_onevision", "llava_interleave", "internvl", "smolvlm")
VOCAB_SIZE = 320  # the byte-level tiny tokenizer (272 ids) plus the LLaVA / SmolVLM special tokens

# LLaVA-OneVision / LLaVA-Interleave (Qwen2 chat format; media placeholders before the text).
LLAVA_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>\n"
    "{% elif part['type'] == 'video' %}<video>\n{% endif %}{% endfor %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# InternVL3-hf: images as <IMG_CONTEXT>, videos as <video> (the processor expands both).
INTERNVL_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<IMG_CONTEXT>\n"
    "{% elif part['type'] == 'video' %}<video>\n{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# SmolVLM2 ("User:<image>text<end_of_utterance>\nAssistant:"); videos use the processor's own template.
SMOLVLM_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
_LLAVA_TOKENS = ["<image>", "<video>"]
_SMOLVLM_TOKENS = ["<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]


def _tokenizer(extra: list[str], internvl: bool = False):
    tokenizer = tiny_tokenizer(internvl=internvl)
    tokenizer.add_tokens([token for token in extra if token not in tokenizer.get_vocab()], special_tokens=True)
    assert len(tokenizer) <= VOCAB_SIZE
    return tokenizer


def _text(tokenizer, **extra) -> dict:
    return {**_text_config(tokenizer), "vocab_size": VOCAB_SIZE, **extra}


def _siglip_vision(image_size: int = 56) -> dict:
    return {"model_type": "siglip_vision_model", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
            "num_attention_heads": 2, "image_size": image_size, "patch_size": 14}  # fmt: skip


def _qwen(family: str):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLProcessor, Qwen3VLConfig, Qwen3VLProcessor

    tokenizer = _tokenizer([])
    if family == "qwen2_5_vl":
        text, vision, image_processor, video_processor = _qwen2_5_vl_parts(tokenizer)
        config_class, processor_class = Qwen2_5_VLConfig, Qwen2_5_VLProcessor
    else:
        text, vision, image_processor, video_processor = _qwen3_vl_parts(tokenizer)
        config_class, processor_class = Qwen3VLConfig, Qwen3VLProcessor
    config = config_class(text_config={**text, "vocab_size": VOCAB_SIZE}, vision_config=vision, **_token_ids(tokenizer))
    processor = processor_class(image_processor=image_processor, tokenizer=tokenizer, video_processor=video_processor,
                                chat_template=QWEN_CHAT_TEMPLATE)  # fmt: skip
    return config, processor


def _llava_onevision():
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    tokenizer = _tokenizer(_LLAVA_TOKENS)
    size = {"height": 56, "width": 56}
    config = LlavaOnevisionConfig(
        text_config={"model_type": "qwen2", **_text(tokenizer)}, vision_config=_siglip_vision(),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), video_token_id=tokenizer.convert_tokens_to_ids("<video>"),
        vision_feature_select_strategy="full", vision_feature_layer=-1, image_grid_pinpoints=[[56, 56]],
    )  # fmt: skip
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(size=size, image_grid_pinpoints=[[56, 56]]),
        tokenizer=tokenizer, video_processor=LlavaOnevisionVideoProcessor(size=size),
        num_image_tokens=16, vision_feature_select_strategy="full", chat_template=LLAVA_CHAT_TEMPLATE,
    )  # fmt: skip
    return config, processor


def _llava_interleave():
    from transformers import LlavaConfig, LlavaProcessor, SiglipImageProcessor

    tokenizer = _tokenizer(_LLAVA_TOKENS)
    config = LlavaConfig(
        text_config={"model_type": "qwen2", **_text(tokenizer)}, vision_config=_siglip_vision(),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"), image_seq_length=16,
        vision_feature_select_strategy="full", vision_feature_layer=-1,
    )  # fmt: skip
    processor = LlavaProcessor(
        image_processor=SiglipImageProcessor(size={"height": 56, "width": 56}), tokenizer=tokenizer, patch_size=14,
        vision_feature_select_strategy="full", num_additional_image_tokens=0, chat_template=LLAVA_CHAT_TEMPLATE,
    )  # fmt: skip
    return config, processor


def _internvl():
    model, processor = build_tiny_captioner("internvl")
    processor.chat_template = INTERNVL_CHAT_TEMPLATE
    return model.config, processor


def _smolvlm():
    from transformers import SmolVLMConfig, SmolVLMImageProcessor, SmolVLMProcessor, SmolVLMVideoProcessor

    tokenizer = _tokenizer(_SMOLVLM_TOKENS)
    vision = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
              "image_size": 56, "patch_size": 14}  # fmt: skip
    config = SmolVLMConfig(
        vision_config=vision, text_config={"model_type": "llama", **_text(tokenizer)}, scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
    )  # fmt: skip
    edge = {"longest_edge": 56}
    processor = SmolVLMProcessor(
        image_processor=SmolVLMImageProcessor(do_image_splitting=False, size=edge, max_image_size=edge),
        tokenizer=tokenizer,
        video_processor=SmolVLMVideoProcessor(size=edge, max_image_size=edge),
        image_seq_len=4, chat_template=SMOLVLM_CHAT_TEMPLATE,
    )  # fmt: skip
    return config, processor


_BUILDERS = {"qwen2_5_vl": lambda: _qwen("qwen2_5_vl"), "qwen3_vl": lambda: _qwen("qwen3_vl"),
             "llava_onevision": _llava_onevision, "llava_interleave": _llava_interleave, "internvl": _internvl,
             "smolvlm": _smolvlm}  # fmt: skip


def build_tiny_vlm(family: Family, seed: int = 0, letters: str | None = None):
    """``(model, processor)`` of a random 2-layer VLM of ``family`` (see :data:`FAMILIES`)."""
    from transformers import AutoModelForImageTextToText

    if family not in _BUILDERS:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
    config, processor = _BUILDERS[family]()
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config).eval()
    if letters:
        keep = {processor.tokenizer.convert_tokens_to_ids(letter) for letter in letters}
        model.generation_config.suppress_tokens = [index for index in range(VOCAB_SIZE) if index not in keep]
    model.generation_config.pad_token_id = processor.tokenizer.pad_token_id
    return model, processor


def save_tiny_vlm(path: str | Path, family: Family, seed: int = 0, letters: str | None = None) -> Path:
    """Build and save model + processor (safetensors) to ``path``; returns ``path``."""
    model, processor = build_tiny_vlm(family, seed, letters)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
