"""Tiny, randomly initialised Frame Selector and Reasoner checkpoints, built offline from configs.

They run the real code paths (processors, chat templates, ``generate``, ``save_pretrained`` /
``from_pretrained``, remote code) in a second on a CPU, but their weights are RANDOM: their captions,
evidence and answers are noise. Use them for tests and wiring demos, never to judge quality.

Example::

    from doubles.tiny_models import save_tiny_reasoner, save_tiny_selector

    save_tiny_reasoner("ckpt/reasoner")            # Qwen2.5-VL backbone, 2 layers, hidden 64
    save_tiny_reasoner("ckpt/llava", "llava")      # LLaVA-NeXT-Interleave backbone (the paper's)
    save_tiny_selector("ckpt/selector")            # Qwen2.5-VL captioner + Qwen2 chooser
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

import torch
from transformers import (
    AddedToken,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
    Qwen2Config,
    Qwen2Tokenizer,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
    Qwen3VLVideoProcessor,
    SiglipImageProcessor,
)

# The byte-level Qwen tokenizer's pieces are the demo's (it writes the same tiny checkpoints for `make demo`).
from videoespresso_hf.demo.tiny_checkpoints import QWEN_CHAT_TEMPLATE, QWEN_SPECIAL_TOKENS, bytes_to_unicode
from videoespresso_hf.models.frame_selector.configuration_frame_selector import VexFrameSelectorConfig
from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor
from videoespresso_hf.models.reasoner.backbones import BACKBONES, backbone_for

__all__ = [
    "LLAVA_INTERLEAVE_CHAT_TEMPLATE",
    "QWEN_CHAT_TEMPLATE",
    "RANDOM_WEIGHTS_NOTICE",
    "TINY_REASONER_PARTS",
    "build_tiny_captioner",
    "build_tiny_llava_interleave",
    "build_tiny_reasoner",
    "build_tiny_selector",
    "build_tiny_siglip",
    "save_tiny_reasoner",
    "save_tiny_selector",
    "save_tiny_siglip",
    "tiny_chooser",
    "tiny_llava_tokenizer",
    "tiny_tokenizer",
]

RANDOM_WEIGHTS_NOTICE = "tiny model with RANDOM weights: outputs show the wiring, not the method's quality"

# The Qwen chat format, reduced to what the stage prompts use (text, image and video parts).
TINY_VOCAB_SIZE = 272  # 256 bytes + <|endoftext|> + Qwen's and InternVL's special tokens, rounded up


# InternVL's image markers; the processor reads them as tokenizer attributes, so they must survive saving.
_INTERNVL_TOKENS = {
    "start_image_token": "<img>",
    "end_image_token": "</img>",
    "context_image_token": "<IMG_CONTEXT>",
    "video_token": "<video>",
}
INTERNVL_CHAT_TEMPLATE = QWEN_CHAT_TEMPLATE.replace(
    "<|vision_start|><|image_pad|><|vision_end|>", "<IMG_CONTEXT>\n"
)


def tiny_tokenizer(internvl: bool = False) -> Qwen2Tokenizer:
    """A byte-level Qwen2 tokenizer that needs no files: every byte is a token, plus Qwen's special tokens.

    With ``internvl=True`` it also carries InternVL's image tokens (``<img>``, ``<IMG_CONTEXT>``...).
    """
    vocab = {char: index for index, char in enumerate(bytes_to_unicode().values())}
    vocab["<|endoftext|>"] = len(vocab)
    extra = {"extra_special_tokens": _INTERNVL_TOKENS} if internvl else {}
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=[], eos_token="<|im_end|>", pad_token="<|endoftext|>", **extra
    )
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL_TOKENS})
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


# The chat template of llava-hf/llava-interleave-qwen-7b-hf (chat_template.json): ChatML turns in which every
# image part is rendered first, one "<image>\n" each, then the text parts; the assistant text is marked as
# the generation span.
LLAVA_INTERLEAVE_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n'}}"
    "{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}"
    "{{ '<image>\\n' }}{% endfor %}"
    "{# Render all text next #}{% if message['role'] != 'assistant' %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] }}{% endfor %}"
    "{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}"
    "{% generation %}{{ content['text'] }}{% endgeneration %}{% endfor %}{% endif %}"
    "{{'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def tiny_llava_tokenizer() -> Qwen2Tokenizer:
    """:func:`tiny_tokenizer` plus ``<image>``, added as the LLaVA conversion adds it (a special token)."""
    tokenizer = tiny_tokenizer()
    tokenizer.add_tokens(AddedToken("<image>", special=True, normalized=False), special_tokens=True)
    tokenizer.chat_template = LLAVA_INTERLEAVE_CHAT_TEMPLATE
    return tokenizer


def _llava_parts(tokenizer):
    """Config kwargs and image processor of a tiny llava-interleave-qwen: SigLIP tower at 56 px (16 patches,
    all kept as in the real "full" strategy, no pooling head), Qwen2 LM, ``<image>`` from the tokenizer."""
    config = {
        "text_config": {"model_type": "qwen2", **_text_config(tokenizer)},
        "vision_config": {
            "model_type": "siglip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 56,
            "patch_size": 14,
            "vision_use_head": False,
        },
        "image_token_index": tokenizer.convert_tokens_to_ids("<image>"),
        "image_seq_length": 16,
        "vision_feature_select_strategy": "full",
        "vision_feature_layer": -1,
    }
    assert config["image_token_index"] < TINY_VOCAB_SIZE
    processor_kwargs = {"patch_size": 14, "vision_feature_select_strategy": "full", "num_additional_image_tokens": 0}
    return config, SiglipImageProcessor(size={"height": 56, "width": 56}), processor_kwargs


def build_tiny_llava_interleave(seed: int = 0):
    """The STOCK classes of llava-hf/llava-interleave-qwen-7b-hf, tiny and random: ``LlavaForConditionalGeneration``
    and ``LlavaProcessor`` (SigLIP image processor, Qwen tokenizer with ``<image>``, the Hub chat template).

    ``save_pretrained`` of both gives the Hub layout of the real checkpoint, so tests can check that the
    reasoner loads base checkpoints exactly.
    """
    tokenizer = tiny_llava_tokenizer()
    config, image_processor, processor_kwargs = _llava_parts(tokenizer)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(LlavaConfig(**config)).eval()
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        chat_template=LLAVA_INTERLEAVE_CHAT_TEMPLATE,
        **processor_kwargs,
    )
    return model, processor


def _token_ids(tokenizer) -> dict[str, int]:
    ids = {
        name: tokenizer.convert_tokens_to_ids(token)
        for name, token in (
            ("image_token_id", "<|image_pad|>"),
            ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"),
            ("vision_end_token_id", "<|vision_end|>"),
        )
    }
    assert max(ids.values()) < TINY_VOCAB_SIZE
    return ids


def _text_config(tokenizer, **extra) -> dict:
    return {
        "vocab_size": TINY_VOCAB_SIZE,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        **extra,
    }


def _qwen2_5_vl_parts(tokenizer):
    text = _text_config(
        tokenizer, rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}
    )
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,
        "patch_size": 14,
        "window_size": 56,
        "fullatt_block_indexes": [1],
    }
    pixels = {"shortest_edge": 28 * 28, "longest_edge": 56 * 56}
    image_processor = Qwen2VLImageProcessor(size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2)
    video_processor = Qwen2VLVideoProcessor(
        size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2, cap_pixels_per_frame=True
    )
    return text, vision, image_processor, video_processor


def _qwen3_vl_parts(tokenizer):
    text = _text_config(
        tokenizer,
        head_dim=16,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],
            "mrope_interleaved": True,
        },
    )
    vision = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": 64,
        "patch_size": 16,
        "num_position_embeddings": 64,
        "deepstack_visual_indexes": [1],
    }
    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64},
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
    )
    video_processor = Qwen3VLVideoProcessor(
        size={"shortest_edge": 32 * 32, "longest_edge": 64 * 64 * 64},
        patch_size=16,
        merge_size=2,
        temporal_patch_size=2,
        cap_pixels_per_frame=True,
    )
    return text, vision, image_processor, video_processor


def _qwen_reasoner_parts(parts) -> tuple[dict, dict]:
    """Config and processor kwargs of a tiny Qwen-family reasoner, from its ``parts(tokenizer)`` function."""
    tokenizer = tiny_tokenizer()
    text, vision, image_processor, video_processor = parts(tokenizer)
    # per-frame pixel bounds of the tiny processors (the real defaults would upscale test frames to ~320²)
    factor = vision["patch_size"] * 2
    config = {
        "text_config": text,
        "vision_config": vision,
        **_token_ids(tokenizer),
        "min_pixels": factor * factor,
        "max_pixels": 4 * factor * factor,
    }
    processor = {
        "image_processor": image_processor,
        "tokenizer": tokenizer,
        "video_processor": video_processor,
        "chat_template": QWEN_CHAT_TEMPLATE,
    }
    return config, processor


def _llava_reasoner_parts() -> tuple[dict, dict]:
    """Config and processor kwargs of a tiny LLaVA-NeXT-Interleave reasoner (see :func:`_llava_parts`)."""
    tokenizer = tiny_llava_tokenizer()
    config, image_processor, processor_kwargs = _llava_parts(tokenizer)
    processor = {
        "image_processor": image_processor,
        "tokenizer": tokenizer,
        "chat_template": LLAVA_INTERLEAVE_CHAT_TEMPLATE,
        **processor_kwargs,
    }
    return config, processor


# Per reasoner family: ``() -> (config kwargs, processor kwargs)`` of a tiny random checkpoint; tests check
# that every row of BACKBONES has one.
TINY_REASONER_PARTS = {
    "qwen2_5_vl": partial(_qwen_reasoner_parts, _qwen2_5_vl_parts),
    "qwen3_vl": partial(_qwen_reasoner_parts, _qwen3_vl_parts),
    "llava": _llava_reasoner_parts,
}


def build_tiny_reasoner(family: str = "qwen2_5_vl", seed: int = 0, **config_kwargs):
    """A random 2-layer reasoner of a family of ``BACKBONES`` and its processor (frames resized to 56² / 64²).

    Returns:
        ``(model, processor)``; ``config_kwargs`` override reasoner config fields (e.g. prompts).
    """
    backbone = backbone_for(family)
    if backbone is None or family not in TINY_REASONER_PARTS:
        known = ", ".join(row.family for row in BACKBONES)
        raise ValueError(f"unknown tiny reasoner family {family!r}; use one of {known}")
    config_parts, processor_parts = TINY_REASONER_PARTS[family]()
    config_class, model_class, processor_class = backbone.classes()
    budgets = {"evidence_max_new_tokens": 12, "answer_max_new_tokens": 6, "base_model_id": None}
    config = config_class(**{**config_parts, **budgets, **config_kwargs})
    torch.manual_seed(seed)
    model = model_class(config).eval()
    return model, processor_class(**processor_parts)


def build_tiny_captioner(family: Literal["qwen2_5_vl", "internvl"] = "qwen2_5_vl", seed: int = 0):
    """A random 2-layer captioner VLM and its processor (native classes; frames resized to 56²).

    ``"internvl"`` is the family of the real default (InternVL3-1B-hf): InternViT + pixel shuffle (4 image
    tokens per 56² frame here); ``"qwen2_5_vl"`` is the Qwen family.
    """
    from transformers import (
        AutoModelForImageTextToText,
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLProcessor,
        InternVLVideoProcessor,
        Qwen2_5_VLConfig,
        Qwen2_5_VLProcessor,
    )

    torch.manual_seed(seed)
    if family == "qwen2_5_vl":
        tokenizer = tiny_tokenizer()
        text, vision, image_processor, video_processor = _qwen2_5_vl_parts(tokenizer)
        config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_token_ids(tokenizer))
        processor = Qwen2_5_VLProcessor(
            image_processor=image_processor,
            tokenizer=tokenizer,
            video_processor=video_processor,
            chat_template=QWEN_CHAT_TEMPLATE,
        )
    elif family == "internvl":
        tokenizer = tiny_tokenizer(internvl=True)
        text = {"model_type": "qwen2", **_text_config(tokenizer)}
        vision = {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": [56, 56],
            "patch_size": [14, 14],
        }
        config = InternVLConfig(
            vision_config=vision,
            text_config=text,
            image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
            image_seq_length=4,
        )
        size = {"height": 56, "width": 56}
        processor = InternVLProcessor(
            image_processor=GotOcr2ImageProcessor(size=size, crop_to_patches=False),
            tokenizer=tokenizer,
            video_processor=InternVLVideoProcessor(size=size),
            image_seq_length=4,
            chat_template=INTERNVL_CHAT_TEMPLATE,
        )
    else:
        raise ValueError(f"unknown tiny captioner family {family!r}; use 'qwen2_5_vl' or 'internvl'")
    return AutoModelForImageTextToText.from_config(config).eval(), processor


def tiny_chooser(seed: int = 0):
    """A random 2-layer Qwen2 causal LM and its tokenizer."""
    from transformers import Qwen2ForCausalLM

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    return Qwen2ForCausalLM(
        Qwen2Config(**_text_config(tokenizer), tie_word_embeddings=True)
    ).eval(), tokenizer


def build_tiny_selector(
    seed: int = 0, captioner: Literal["qwen2_5_vl", "internvl"] = "qwen2_5_vl", **config_kwargs
):
    """A random selector: tiny captioner (Qwen2.5-VL or InternVL) + tiny Qwen2 chooser, and its processor.

    Returns:
        ``(model, processor)``; ``config_kwargs`` override selector config fields (e.g. ``max_core_frames``).
    """
    captioner_model, captioner_processor = build_tiny_captioner(captioner, seed)
    chooser_model, chooser_tokenizer = tiny_chooser(seed + 1)
    config = VexFrameSelectorConfig(
        captioner_config=captioner_model.config.to_dict(),
        chooser_config=chooser_model.config.to_dict(),
        caption_max_new_tokens=8,
        captioner_id=None,
        chooser_id=None,
        **config_kwargs,
    )
    model = VexFrameSelectorModel(config, captioner=captioner_model, chooser=chooser_model).eval()
    processor = VexFrameSelectorProcessor(
        captioner_processor=captioner_processor, chooser_tokenizer=chooser_tokenizer
    )
    return model, processor


def _write_card(model, path: Path) -> None:
    """A model card that says, first of all, that the weights are random."""
    from videoespresso_hf.models.cards import create_model_card

    try:
        create_model_card(model, f"local/{path.name}", random_weights=True).save(path / "README.md")
    except FileNotFoundError:  # card templates not shipped (non-editable install): the notice alone
        (path / "README.md").write_text(f"# {path.name}\n\n{RANDOM_WEIGHTS_NOTICE}\n", encoding="utf-8")


def save_tiny_reasoner(path: str | Path, family: str = "qwen2_5_vl", **kwargs) -> Path:
    """Build a tiny random reasoner; save model + processor (safetensors) and a random-weights card to ``path``."""
    model, processor = build_tiny_reasoner(family, **kwargs)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    _write_card(model, path)
    return path


def save_tiny_selector(path: str | Path, **kwargs) -> Path:
    """Build a tiny random selector; save model + processor (safetensors) and a random-weights card to ``path``."""
    model, processor = build_tiny_selector(**kwargs)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    _write_card(model, path)
    return path


def build_tiny_siglip(seed: int = 0):
    """A random 2-layer SigLIP dual encoder (32² frames) and its processor, for the ``image_text`` strategy."""
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    tokenizer = tiny_tokenizer()
    tokenizer.model_max_length = 64  # SigLIP pads every text to its trained length
    encoder = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = SiglipConfig(
        text_config={
            **encoder,
            "vocab_size": TINY_VOCAB_SIZE,
            "max_position_embeddings": 64,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        vision_config={**encoder, "image_size": 32, "patch_size": 8},
    )
    torch.manual_seed(seed)
    processor = SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 32, "width": 32}), tokenizer=tokenizer)
    return SiglipModel(config).eval(), processor


def save_tiny_siglip(path: str | Path, **kwargs) -> Path:
    """Build a tiny random SigLIP; save model + processor to ``path``."""
    model, processor = build_tiny_siglip(**kwargs)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
