"""The selector's chooser reads its prompt in its own chat format when its tokenizer has one."""

from __future__ import annotations

from doubles.tiny_models import build_tiny_selector


def test_chooser_prompt_uses_the_tokenizer_chat_template():
    model, processor = build_tiny_selector(seed=2)
    tokenizer = processor.chooser_tokenizer
    assert tokenizer.chat_template  # the tiny chooser tokenizer carries the Qwen chat template
    args = (["Where is the dog?"], ["a dog on a sofa"], [2.0])
    templated = tokenizer.decode(model.chooser_inputs(tokenizer, *args)["input_ids"][0])
    assert templated.startswith("<|im_start|>user\nQuestion: Where is the dog?\n")
    assert "Answer:<|im_end|>\n<|im_start|>assistant\n" in templated

    tokenizer.chat_template = None  # a base LM: the raw prompt, as before
    raw = tokenizer.decode(model.chooser_inputs(tokenizer, *args)["input_ids"][0])
    assert raw.startswith("Question: Where is the dog?\n") and "<|im_start|>" not in raw
    assert raw.rstrip().endswith("Answer:")
