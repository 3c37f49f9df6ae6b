"""Frame captioning behind one interface, two backends (paper §1.3).

* :class:`OpenAICaptioner`: any OpenAI-compatible chat-completions endpoint that accepts images (OpenAI,
  vLLM or TGI serving InternVL2-8B / Qwen2.5-VL, ...), through :class:`videoespresso_hf.llm.LLMClient`:
  cached (a re-run re-pays nothing), retried, budgeted, concurrent. Frames travel as base64 data URLs; the
  answer is a JSON object ``{"caption": ...}`` validated with pydantic (malformed answers are asked again).
* :class:`TransformersCaptioner`: a local ``AutoModelForImageTextToText`` + ``AutoProcessor``, batched,
  greedy decoding.

Both render the prompt from the versioned template ``pipeline/prompts/<prompt_version>.jinja``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from videoespresso_hf.defaults import BUILD_CAPTIONER, ENDPOINT_CAPTIONER
from videoespresso_hf.pipeline.prompts import render_prompt
from videoespresso_hf.pipeline.stages.base import StageUsage, WorkProgress

# The paper captions with InternVL2-8B, which ships only remote code (no native transformers class).
# InternVL3-8B-hf is the same family converted to the native `internvl` architecture, so it loads with
# AutoModelForImageTextToText and no trust_remote_code. For the endpoint backend the default is a cheap
# vision model of the OpenAI API; a vLLM server can serve "OpenGVLab/InternVL2-8B" itself (pass --model).
DEFAULT_CAPTION_MODELS: dict[str, str] = {
    "openai": ENDPOINT_CAPTIONER,
    "transformers": BUILD_CAPTIONER,
}


class CaptionConfig(BaseModel):
    """Frame captioning (paper §1.3).

    Attributes:
        backend: ``"openai"`` (any OpenAI-compatible chat-completions endpoint: OpenAI, vLLM, TGI, ...) or
            ``"transformers"`` (a local ``AutoModelForImageTextToText``, batched).
        model: model id; None picks :data:`DEFAULT_CAPTION_MODELS` for the backend.
        prompt_version: template file ``pipeline/prompts/<prompt_version>.jinja``.
        image_max_side: frames are downscaled so their longer side is at most this many pixels.
        detail: OpenAI image detail (``"low"`` is a flat 85 tokens per image).
        max_new_tokens: caption length cap.
        batch_size: frames per forward pass (transformers backend).
        device / dtype: where and in what precision the local model runs (transformers backend).
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["openai", "transformers"] = "openai"
    model: str | None = None
    prompt_version: str = "caption.v1"
    image_max_side: int = Field(default=512, ge=16)
    detail: Literal["low", "high", "auto"] = "low"
    max_new_tokens: int = Field(default=96, ge=1)
    batch_size: int = Field(default=8, ge=1)
    device: str | None = None
    dtype: str = "auto"

    @property
    def resolved_model(self) -> str:
        return self.model or DEFAULT_CAPTION_MODELS[self.backend]



__all__ = [
    "CaptionError",
    "Captioner",
    "FrameCaption",
    "OpenAICaptioner",
    "TransformersCaptioner",
    "resize_frames",
]


class CaptionError(RuntimeError):
    """Some frames got no caption after all retries (transient: the stage is retried on the next run)."""


class FrameCaption(BaseModel):
    """The structured answer of the endpoint backend."""

    caption: str = Field(description="One or two factual sentences describing the frame.")


class Captioner(Protocol):
    """Captions frames; one caption per frame, in order."""

    model_id: str

    def caption(
        self, frames: Sequence[np.ndarray], usage: StageUsage, progress: WorkProgress | None = None
    ) -> list[str]:
        """Caption ``frames`` (each ``(H, W, 3)`` uint8 RGB); add LLM/model usage to ``usage``, and count the
        captioned frames in ``progress`` as they come."""
        ...


def resize_frames(frames: np.ndarray | Sequence[np.ndarray], max_side: int) -> list[np.ndarray]:
    """Downscale ``(H, W, 3)`` frames so the longer side is at most ``max_side`` (aspect ratio kept)."""
    from PIL import Image

    out = []
    for frame in frames:
        height, width = frame.shape[:2]
        scale = max_side / max(height, width)
        if scale >= 1:
            out.append(np.ascontiguousarray(frame))
            continue
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        out.append(np.asarray(Image.fromarray(frame).resize(size, Image.BICUBIC)))
    return out


class OpenAICaptioner:
    """Captions through an OpenAI-compatible endpoint (see the module docstring).

    Args:
        client: the LLM client (its ``config.model`` is the captioning model).
        config: caption settings (prompt version, image size and detail, max tokens).
    """

    def __init__(self, client: Any, config: CaptionConfig) -> None:
        self.client = client
        self.config = config
        self.model_id = client.config.model
        self.prompt = render_prompt(config.prompt_version, structured=True)

    def requests(self, frames: Sequence[np.ndarray]) -> list[Any]:
        from videoespresso_hf.llm.messages import user_message
        from videoespresso_hf.llm.request import LLMRequest

        return [
            LLMRequest(
                messages=[
                    user_message(
                        self.prompt, [frame], detail=self.config.detail, max_side=self.config.image_max_side
                    )
                ],
                prompt_version=self.config.prompt_version,
                stage="captions",
                response_model=FrameCaption,
                params={"max_tokens": self.config.max_new_tokens},
            )
            for frame in frames
        ]

    def caption(
        self, frames: Sequence[np.ndarray], usage: StageUsage, progress: WorkProgress | None = None
    ) -> list[str]:
        results = (progress or WorkProgress()).map(self.client, self.requests(frames))
        usage.add_llm_results(results)
        failed = [result for result in results if not result.ok]
        if failed:
            raise CaptionError(
                f"{len(failed)} of {len(results)} frames got no caption (first: {failed[0].error})"
            )
        return [" ".join(result.parsed.caption.split()) for result in results]

    def estimate(self, frames: Sequence[np.ndarray], *, estimated: set[str] | None = None) -> StageUsage:
        """Dry run: the cost of captioning ``frames``. No HTTP.

        Cached answers are free, and so is a frame identical to one estimated before (in ``frames`` or, via
        ``estimated``, in an earlier call): the client sends it once and the cache answers the copies.
        """
        return StageUsage.from_estimate(self.client.estimate(self.requests(frames), estimated=estimated))


class TransformersCaptioner:
    """Captions with a local vision-language model (``AutoModelForImageTextToText``), in batches.

    Args:
        model_id: Hub id or local folder (default ``OpenGVLab/InternVL3-8B-hf``, see ``DEFAULT_CAPTION_MODELS``).
        config: caption settings (prompt version, batch size, max new tokens, device, dtype).
        model / processor: already-loaded objects (tests, notebooks); loaded from ``model_id`` when None.
    """

    def __init__(
        self, model_id: str, config: CaptionConfig, *, model: Any = None, processor: Any = None
    ) -> None:
        self.model_id = model_id
        self.config = config
        self.prompt = render_prompt(config.prompt_version, structured=False)
        if model is None or processor is None:
            from transformers import AutoModelForImageTextToText, AutoProcessor

            processor = processor or AutoProcessor.from_pretrained(model_id)
            if model is None:
                kwargs: dict[str, Any] = {"dtype": config.dtype}
                if config.device is not None:
                    kwargs["device_map"] = config.device
                model = AutoModelForImageTextToText.from_pretrained(model_id, **kwargs)
        self.model = model.eval()
        self.processor = processor
        tokenizer = getattr(processor, "tokenizer", None)
        if tokenizer is not None:
            # Decoder-only batched generation needs the padding on the left of the prompts.
            tokenizer.padding_side = "left"

    def _prompt_text(self) -> str:
        conversation = [
            {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": self.prompt}]}
        ]
        return self.processor.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)

    def caption(
        self, frames: Sequence[np.ndarray], usage: StageUsage, progress: WorkProgress | None = None
    ) -> list[str]:
        import torch
        from PIL import Image

        text = self._prompt_text()
        captions: list[str] = []
        frames = resize_frames(frames, self.config.image_max_side)
        if progress is not None:
            progress.plan(len(frames))
        for start in range(0, len(frames), self.config.batch_size):
            batch = [Image.fromarray(frame) for frame in frames[start : start + self.config.batch_size]]
            inputs = self.processor(text=[text] * len(batch), images=batch, padding=True, return_tensors="pt")
            inputs = inputs.to(self.model.device)
            with torch.inference_mode():
                output = self.model.generate(
                    **inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False
                )
            prompt_length = inputs["input_ids"].shape[1]
            new_tokens = output[:, prompt_length:]
            decoded = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
            captions.extend(" ".join(caption.split()) for caption in decoded)
            usage.prompt_tokens += int(inputs["attention_mask"].sum())
            usage.completion_tokens += int(new_tokens.numel())
            usage.count("model_batches")
            if progress is not None:
                progress.advance(len(batch))
        return captions
