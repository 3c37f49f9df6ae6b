"""The chat template RL renders prompts with, for a family whose own template moves every image before the text.

LLaVA-NeXT-Interleave's chat template renders all image parts of a message first, then all its text parts. So
inference never sends it image parts: :func:`~videoespresso_hf.models.reasoner.modeling_reasoner.stage_messages`
writes each frame inline, as the processor's image token in a text part (``"Frame i (at t s): <image>\\n"``), and
the processor expands each token in place — every frame stays behind its timestamp.

trl 1.16's ``GRPOTrainer`` cannot take such a prompt: it counts ``{"type": "image"}`` placeholders against the
``images`` column (``prepare_multimodal_messages``) and renders with the processor's chat template, for generation
and again for the loss forward. Given image parts, the family's template would put the frames before all the
timestamps, and RL would train on a prompt ``answer`` / ``predict`` never send.

So, during RL only, the processor trl holds renders with :func:`inline_frames_template`: the family's template
behind a prologue that turns each message's parts back into the parts inference writes — an image part becomes the
image token, glued with the text part before it and the text part after it (``"Frame i (at t s): "``, image,
``"\\n"`` → ``"Frame i (at t s): <image>\\n"``) — before the family's template runs unchanged. Whatever that template
puts around text parts, the rendered prompt is byte-identical to inference's. No private trl method is overridden.

What is saved keeps the family's template (:func:`rl_chat_templates` swaps it in around ``trainer.train`` only and
restores it in a ``finally``; :class:`InlineFramesTemplate` writes each checkpoint's processor with the original), so
an RL checkpoint renders exactly as its base does, and a run that fails or is interrupted leaves the processor as it
found it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING

from transformers import TrainerCallback

if TYPE_CHECKING:
    from transformers import PretrainedConfig, ProcessorMixin

__all__ = ["InlineFramesTemplate", "inline_frames_template", "rl_chat_templates", "rl_template_callbacks"]

# Rebinds ``messages`` (a top-level ``set`` shadows the render variable for the rest of the template) to copies whose
# content parts are the ones ``stage_messages(..., image_token=...)`` writes. ``IMAGE_TOKEN`` is filled in as a
# Jinja string literal.
_PROLOGUE = (
    "{%- set _inline = namespace(messages=[]) -%}"
    "{%- for message in messages -%}"
    "{%- if message['content'] is string or message['content'] is none -%}"
    "{%- set _inline.messages = _inline.messages + [message] -%}"
    "{%- else -%}"
    "{%- set _frame = namespace(parts=[], text=none, glue=false) -%}"
    "{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}"
    "{%- set _frame.text = (_frame.text or '') + IMAGE_TOKEN -%}{%- set _frame.glue = true -%}"
    "{%- elif part['type'] == 'text' and _frame.glue -%}"
    "{%- set _frame.text = _frame.text + part['text'] -%}{%- set _frame.glue = false -%}"
    "{%- else -%}"
    "{%- if _frame.text is not none -%}"
    "{%- set _frame.parts = _frame.parts + [{'type': 'text', 'text': _frame.text}] -%}"
    "{%- endif -%}"
    "{%- if part['type'] == 'text' -%}{%- set _frame.text = part['text'] -%}"
    "{%- else -%}{%- set _frame.text = none -%}{%- set _frame.parts = _frame.parts + [part] -%}{%- endif -%}"
    "{%- set _frame.glue = false -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if _frame.text is not none -%}"
    "{%- set _frame.parts = _frame.parts + [{'type': 'text', 'text': _frame.text}] -%}"
    "{%- endif -%}"
    "{%- set _inline.messages = _inline.messages + [dict(message, content=_frame.parts)] -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- set messages = _inline.messages -%}"
)


def inline_frames_template(template: str, image_token: str) -> str:
    """``template`` rendering each image part in place, as ``image_token`` inside the text around it (see the
    module docstring): for a message of text and image parts it renders what ``template`` renders for the same
    message written the way inference writes frames inline."""
    return _PROLOGUE.replace("IMAGE_TOKEN", json.dumps(image_token)) + template


class InlineFramesTemplate(TrainerCallback):
    """Holds ``processor``'s family template and the in-order one of :func:`inline_frames_template`.

    :func:`rl_chat_templates` gives the processor the in-order template while the trainer trains and restores the
    family's in a ``finally`` (an exception or Ctrl-C mid-run skips the trainer's ``on_train_end``); as a callback it
    writes each ``checkpoint-*``'s processor with the family's template (the trainer has just saved it with the
    in-order one)."""

    def __init__(self, processor: ProcessorMixin) -> None:
        template = processor.chat_template
        if not isinstance(template, str):
            raise ValueError(
                f"{type(processor).__name__} has {'no' if template is None else 'more than one'} chat template: RL "
                "writes frames inline through the processor's single chat template"
            )
        self.processor = processor
        self.original = template
        self.in_order = inline_frames_template(template, processor.image_token)

    @contextmanager
    def in_use(self) -> Iterator[None]:
        """The in-order template inside the block, the family's again after it, however the block ends."""
        self.processor.chat_template = self.in_order
        try:
            yield
        finally:
            self.processor.chat_template = self.original

    def on_save(self, args, state, control, **kwargs):
        # the trainer has just saved the processor (with the in-order template) into the new checkpoint
        if args.should_save:
            folder = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
            self.processor.chat_template = self.original
            try:
                self.processor.save_pretrained(folder)
            finally:
                self.processor.chat_template = self.in_order


def rl_template_callbacks(processor: ProcessorMixin, config: PretrainedConfig) -> list[TrainerCallback]:
    """The callbacks RL needs for ``config``'s family: :class:`InlineFramesTemplate` where frames are written inline
    in the text (``config.frames_inline_in_text``, LLaVA-NeXT-Interleave), none where the chat template already
    renders image parts in place (Qwen)."""
    return [InlineFramesTemplate(processor)] if config.frames_inline_in_text else []


@contextmanager
def rl_chat_templates(callbacks: Sequence[TrainerCallback]) -> Iterator[None]:
    """Training's chat templates for the block (``trainer.train``): each :class:`InlineFramesTemplate` of
    ``callbacks`` in use, every family template restored when the block ends, by an exception too."""
    with ExitStack() as stack:
        for callback in callbacks:
            if isinstance(callback, InlineFramesTemplate):
                stack.enter_context(callback.in_use())
        yield
