"""Tiny Qwen2.5-VL checkpoints with RANDOM weights, written on the fly for ``videoespresso demo``.

Why: the demo runs every job (select, answer, predict → score, train → answer) on a machine with no
download, so it needs a model. These are the STOCK transformers classes (``Qwen2_5_VLForConditionalGeneration``
and ``Qwen2_5_VLProcessor``: 2 layers, hidden 64, a byte-level tokenizer that needs no files), saved with
``save_pretrained`` like any Hub checkpoint, so the library loads them through its real code paths. Their
weights are random: what they write is noise. They show the mechanics, never the method's quality.

Not part of the public API (not exported at the package root); the tests may reuse it. (Named apart from
``tests/doubles/tiny_models.py``, the tests' own builders of every family, which never ship in the wheel.)
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["RANDOM_WEIGHTS_NOTICE", "build_tiny_qwen2_5_vl", "save_tiny_qwen2_5_vl"]

RANDOM_WEIGHTS_NOTICE = "tiny model with RANDOM weights: outputs show the mechanics, not the method's quality"

# The Qwen chat format, reduced to what the library's prompts use (text, image and video parts).
QWEN_CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'video' %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN_SPECIAL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
VOCAB_SIZE = 272  # 256 bytes + <|endoftext|> + the special tokens above, rounded up


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character table (the alphabet of byte-level BPE)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    printable += list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(code) for code in codes), strict=False))


def _tokenizer():
    """A byte-level Qwen2 tokenizer built from nothing: every byte is a token, plus Qwen's special tokens."""
    from transformers import Qwen2Tokenizer

    vocab = {char: index for index, char in enumerate(bytes_to_unicode().values())}
    vocab["<|endoftext|>"] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.add_special_tokens({"additional_special_tokens": QWEN_SPECIAL_TOKENS})
    tokenizer.chat_template = QWEN_CHAT_TEMPLATE
    return tokenizer


def build_tiny_qwen2_5_vl(seed: int = 0, alphabet: str | None = None):
    """``(model, processor)``: a random 2-layer Qwen2.5-VL with frames resized to at most 56² pixels.

    Args:
        seed: torch seed of the random weights.
        alphabet: if given, generation may only emit these characters (through ``generation_config.suppress_tokens``,
            which every ``generate`` call inherits): ``"ABCD"`` answers like a multiple-choice model, and a few
            letters keep the random text printable instead of stray bytes. The end-of-turn token is not among
            them, so a reply always has ``max_new_tokens`` characters (a random model would often end at once).
    """
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer = _tokenizer()
    ids = {
        name: tokenizer.convert_tokens_to_ids(token)
        for name, token in (
            ("image_token_id", "<|image_pad|>"),
            ("video_token_id", "<|video_pad|>"),
            ("vision_start_token_id", "<|vision_start|>"),
            ("vision_end_token_id", "<|vision_end|>"),
        )
    }
    text = {
        "vocab_size": VOCAB_SIZE,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "bos_token_id": None,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]},
    }
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
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(
            size=pixels, patch_size=14, merge_size=2, temporal_patch_size=2, cap_pixels_per_frame=True
        ),
        chat_template=QWEN_CHAT_TEMPLATE,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids)).eval()
    if alphabet:
        keep = {tokenizer.convert_tokens_to_ids(bytes_to_unicode()[ord(char)]) for char in alphabet}
        model.generation_config.suppress_tokens = [index for index in range(VOCAB_SIZE) if index not in keep]
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, processor


def save_tiny_qwen2_5_vl(path: str | Path, seed: int = 0, alphabet: str | None = None) -> Path:
    """Write a tiny random Qwen2.5-VL (safetensors, processor, a README saying the weights are random) to ``path``.

    Returns ``path``. Writing takes about a second on a CPU; an existing checkpoint there is replaced.
    """
    model, processor = build_tiny_qwen2_5_vl(seed, alphabet)
    path = Path(path)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    (path / "README.md").write_text(
        f"# {path.name}\n\nA {RANDOM_WEIGHTS_NOTICE} (written by `videoespresso_hf.demo.tiny_checkpoints`).\n",
        encoding="utf-8",
    )
    return path
