"""The three ways to get an answer for a benchmark item, behind one small interface.

* :class:`TransformersBackend` — any transformers VLM whose processor's chat template takes a video
  (Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision, InternVL3-hf, SmolVLM2, …) or, when the processor has no
  video processor (LLaVA-Interleave), the same frames as a list of images;
* :class:`HybridBackend` — our selector + two-stage reasoner; the evidence is kept;
* :class:`EndpointBackend` — an OpenAI-compatible endpoint (GPT-4o, a vLLM server), frames sent as
  images through the project's one LLM client (cache, ledger, budget, retries).

A backend answers a batch of :class:`Request` s with one :class:`Outcome` each; a failure is an outcome
with ``error`` set, never an exception, unless the whole run must stop (budget, bad credentials).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.benchmarking.frames import FrameRule, PixelBounds, SampledFrames
from videoespresso_hf.benchmarking.items import BenchItem
from videoespresso_hf.errors import one_line
from videoespresso_hf.llm.config import redact_url

__all__ = [
    "Backend",
    "EndpointBackend",
    "GenerationSettings",
    "HybridBackend",
    "Outcome",
    "Request",
    "TransformersBackend",
]

OFFICIAL_TEMPERATURE = 0.8  # eval/close_ended.py samples (do_sample=True, temperature=0.8)


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings shared by every backend; greedy unless ``official_sampling``."""

    max_new_tokens: int
    official_sampling: bool = False
    seed: int = 0

    @property
    def do_sample(self) -> bool:
        return self.official_sampling

    @property
    def temperature(self) -> float:
        return OFFICIAL_TEMPERATURE if self.official_sampling else 0.0

    def describe(self) -> dict[str, Any]:
        return {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample,
                "temperature": self.temperature, "seed": self.seed}  # fmt: skip


@dataclass
class Request:
    """One item ready for a model: the rendered prompt and, for backends that take frames, the frames."""

    item: BenchItem
    prompt: str
    frames: SampledFrames | None = None


@dataclass
class Outcome:
    """What the model said about one item (or why it could not say anything)."""

    output: str | None = None
    error: str | None = None
    evidence: str | None = None
    frames: dict[str, Any] | None = None  # set by backends that choose their own frames (hybrid)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Backend:
    """Base: ``identity`` goes to the sidecar; ``decodes_frames`` says whether requests carry frames;
    ``counts_tokens`` whether its outcomes carry token counts (the summary prints none otherwise)."""

    name: str = "backend"
    decodes_frames: bool = True
    identity: dict[str, Any] = field(default_factory=dict)
    counts_tokens: bool = True

    def predict(self, requests: Sequence[Request]) -> list[Outcome]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (HTTP clients, caches)."""


def _batch_seed(seed: int, requests: Sequence[Request]) -> int:
    """A sampling seed per batch, from the run seed and the items: a re-run of the same batch samples the same."""
    key = f"{seed}\x00" + "\x00".join(request.item.id for request in requests)
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little")


def _commit_hash(model: Any) -> str | None:
    return getattr(model.config, "_commit_hash", None)


def _load_error(model_id: str, error: BaseException) -> ValueError:
    return ValueError(f"cannot load the model {model_id}: {one_line(error)}")


class _LocalModelBackend(Backend):
    """A model run in this process (``hf``, ``hybrid``): one batch loop for both.

    A batch that raises is answered again one item at a time, so a bad video or an out-of-memory batch costs
    its own items, never the batch's neighbours; an item that still raises becomes a failure outcome.
    Subclasses set ``generation`` and implement :meth:`_predict_batch`.
    """

    generation: GenerationSettings

    def _predict_batch(self, requests: Sequence[Request]) -> list[Outcome]:
        raise NotImplementedError

    def predict(self, requests: Sequence[Request]) -> list[Outcome]:
        try:
            return self._predict_batch(requests)
        except Exception as error:  # isolate the failing item instead of losing the whole batch
            if len(requests) == 1:
                return [Outcome(error=f"generation failed: {one_line(error)}")]
            return [outcome for request in requests for outcome in self.predict([request])]

    def _sampling_kwargs(self, requests: Sequence[Request]) -> dict[str, Any]:
        """``do_sample`` (and ``temperature``) for generation; when sampling, torch is seeded for this batch so
        that a re-run of the same batch samples the same."""
        if not self.generation.do_sample:
            return {"do_sample": False}
        import torch

        torch.manual_seed(_batch_seed(self.generation.seed, requests))
        return {"do_sample": True, "temperature": self.generation.temperature}


class TransformersBackend(_LocalModelBackend):
    """``AutoModelForImageTextToText`` + ``AutoProcessor``, batched greedy (or official sampling) generation.

    Args:
        model_id: Hub id or local folder.
        revision: branch, tag or commit on the Hub.
        modality: ``"auto"`` (video when the processor has a video processor, else images), ``"video"``
            or ``"images"``.
        pixel_bounds: per-frame pixel bounds (a preset's ``min_pixels``/``max_pixels``); the frames arrive
            resized into them, and a Qwen-style video processor gets the same bounds so it keeps them.
    """

    def __init__(
        self,
        model_id: str,
        generation: GenerationSettings,
        *,
        revision: str | None = None,
        dtype: Any = "auto",
        device_map: str | None = None,
        attn_implementation: str | None = None,
        trust_remote_code: bool = False,
        modality: str = "auto",
        pixel_bounds: PixelBounds | None = None,
    ) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        load: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            self.processor = AutoProcessor.from_pretrained(model_id, **load)
            if attn_implementation:
                load["attn_implementation"] = attn_implementation
            self.model = AutoModelForImageTextToText.from_pretrained(
                model_id, dtype=dtype, device_map=device_map, **load
            ).eval()
        except (OSError, ValueError, KeyError) as error:
            raise _load_error(model_id, error) from None
        if modality == "auto":
            modality = "video" if getattr(self.processor, "video_processor", None) is not None else "images"
        self.modality = modality
        self.generation = generation
        self.video_processor_kwargs = self._video_processor_kwargs(pixel_bounds)
        identity = {
            "model": model_id,
            "revision": revision or _commit_hash(self.model),
            "model_type": self.model.config.model_type,
            "modality": modality,
            "generation": generation.describe(),
        }
        if pixel_bounds is not None:
            identity["pixel_bounds"] = pixel_bounds.describe()
        super().__init__(name="hf", decodes_frames=True, identity=identity)

    def _video_processor_kwargs(self, bounds: PixelBounds | None) -> dict[str, Any] | None:
        """Processor settings for a Qwen-style video processor under ``bounds``; ``None`` when there are no bounds
        or the processor sizes frames its own fixed way.

        The frame sampler already resized every frame within the bounds, to multiples of the processor's patch
        factor (:func:`~videoespresso_hf.benchmarking.frames.fit_pixels`): that is the one resize, so the processor
        is told not to resize again (``do_resize=False``, as lmms-eval's Qwen3-VL model does). Handing it the
        per-frame bound instead is wrong for Qwen3-VL, whose video processor reads it as the budget of the whole
        clip and shrinks every frame again.
        """
        processor = getattr(self.processor, "video_processor", None)
        size = dict(getattr(processor, "size", None) or {})
        if bounds is None or self.modality != "video" or "longest_edge" not in size or "shortest_edge" not in size:
            return None
        return {"do_resize": False}

    def _inputs(self, requests: Sequence[Request]):
        media = [{"type": "video"}] if self.modality == "video" else None
        texts = []
        for request in requests:
            parts = media or [{"type": "image"} for _ in range(len(request.frames.frames))]
            messages = [{"role": "user", "content": [*parts, {"type": "text", "text": request.prompt}]}]
            texts.append(self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
        tokenizer = self.processor.tokenizer
        # Left padding: generate appends new tokens on the right of every row of the batch.
        padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            if self.modality == "video":
                inputs = self.processor(
                    text=texts,
                    videos=[request.frames.frames for request in requests],
                    video_metadata=[request.frames.metadata() for request in requests],
                    do_sample_frames=False,
                    **(self.video_processor_kwargs or {}),
                    padding=True,
                    return_tensors="pt",
                )
            else:
                images = [list(request.frames.frames) for request in requests]
                inputs = self.processor(text=texts, images=images, padding=True, return_tensors="pt")
        finally:
            tokenizer.padding_side = padding_side
        return inputs.to(self.model.device)

    def _predict_batch(self, requests: Sequence[Request]) -> list[Outcome]:
        import torch

        inputs = self._inputs(requests)
        kwargs = {"max_new_tokens": self.generation.max_new_tokens, **self._sampling_kwargs(requests)}
        with torch.no_grad():
            sequences = self.model.generate(**inputs, **kwargs)
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = sequences[:, prompt_length:]
        texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        pad = self.processor.tokenizer.pad_token_id
        outcomes = []
        for row, text in enumerate(texts):
            used = int(inputs["attention_mask"][row].sum())
            generated = int((new_tokens[row] != pad).sum()) if pad is not None else new_tokens.shape[1]
            outcomes.append(Outcome(output=text.strip(), input_tokens=used, output_tokens=generated))
        return outcomes


class HybridBackend(_LocalModelBackend):
    """Selector (or a training-free strategy) + two-stage reasoner (:class:`~videoespresso_hf.models.hybrid.HybridVideoQA`).

    The frame rule maps onto the hybrid's strategies (:meth:`FrameRule.hybrid_settings`): ``uniform:N`` /
    ``shots:N`` keep N frames, ``fps:X[:N]`` samples at X fps (at most N frames), ``selector:PATH`` lets that
    selector pick. Frames are decoded by the hybrid itself (the same PyAV reader), so requests carry no frames.
    """

    def __init__(
        self,
        reasoner: str,
        generation: GenerationSettings,
        rule: FrameRule,
        *,
        revision: str | None = None,
        dtype: Any = "auto",
        device_map: str | None = None,
        attn_implementation: str | None = None,
        trust_remote_code: bool = False,
        open_ended: bool = False,
    ) -> None:
        from videoespresso_hf.models.hybrid import HybridVideoQA

        strategy, frames = rule.strategy, rule.hybrid_settings()
        if revision is not None:
            raise ValueError("--revision is not supported by the hybrid backend; pass a local folder or a pinned id")
        try:
            self.qa = HybridVideoQA.from_pretrained(
                reasoner, rule.selector, strategy=strategy, dtype=dtype, device_map=device_map,
                attn_implementation=attn_implementation, trust_remote_code=trust_remote_code, **frames,
            )  # fmt: skip
        except (OSError, ValueError, KeyError) as error:
            raise _load_error(reasoner, error) from None
        self.generation = generation
        self.open_ended = open_ended
        config = self.qa.reasoner.config
        super().__init__(
            name="hybrid",
            decodes_frames=False,
            counts_tokens=False,
            identity={
                "model": reasoner,
                "revision": _commit_hash(self.qa.reasoner),
                "model_type": config.model_type,
                "selector": rule.selector,
                "strategy": strategy,
                "reasoner_prompts": {name: getattr(config, name, None) for name in
                                     ("evidence_prompt", "answer_prompt", "multiple_choice_suffix", "option_format")},
                "generation": {**generation.describe(), "evidence_max_new_tokens": config.evidence_max_new_tokens},
            },
        )  # fmt: skip

    def _predict_batch(self, requests: Sequence[Request]) -> list[Outcome]:
        kwargs = {"answer_max_new_tokens": self.generation.max_new_tokens, **self._sampling_kwargs(requests)}
        answers = self.qa.answer_batch(
            [request.item.video for request in requests],
            [request.item.question for request in requests],
            [None if self.open_ended else list(request.item.options) for request in requests],
            batch_size=len(requests),
            **kwargs,
        )
        return [
            Outcome(
                output=answer.answer,
                evidence=answer.evidence,
                frames={
                    "indices": [int(i) for i in answer.selection.indices],
                    "timestamps": [round(float(t), 3) for t in answer.selection.timestamps],
                },
            )
            for answer in answers
        ]


class EndpointBackend(Backend):
    """An OpenAI-compatible chat endpoint; frames go as images (``detail``) before the prompt text.

    Calls go through :class:`videoespresso_hf.llm.LLMClient`: answered requests are cached in
    ``cache_path`` (a re-run pays nothing twice), transient errors are retried, every call is in the
    ledger and ``budget_usd`` caps the spend. A request that still fails becomes a failure record.
    """

    def __init__(
        self,
        model: str,
        generation: GenerationSettings,
        *,
        base_url: str | None,
        cache_path: Path,
        budget_usd: float | None = None,
        concurrency: int = 8,
        image_detail: str = "low",
        prompt_version: str = "predict",
    ) -> None:
        from videoespresso_hf.llm import LLMClient, LLMConfig

        self.config = LLMConfig(
            model=model, base_url=base_url, cache_path=cache_path, budget_usd=budget_usd,
            max_concurrency=concurrency, temperature=generation.temperature, max_tokens=generation.max_new_tokens,
        )  # fmt: skip
        self.client = LLMClient(self.config)
        self.generation = generation
        self.image_detail = image_detail
        self.prompt_version = prompt_version
        super().__init__(
            name="openai",
            decodes_frames=True,
            identity={
                "model": model,
                "revision": None,
                "base_url": redact_url(self.config.resolved_base_url()),  # stored in the sidecar: no credentials
                "image_detail": image_detail,
                "generation": generation.describe(),
            },
        )

    def predict(self, requests: Sequence[Request]) -> list[Outcome]:
        from videoespresso_hf.llm import LLMRequest, user_message

        params = {"seed": self.generation.seed} if self.generation.do_sample else {}
        calls = [
            LLMRequest(
                [user_message(request.prompt, list(request.frames.frames), detail=self.image_detail, images_first=True)],
                prompt_version=self.prompt_version,
                stage="predict",
                params=params,
            )
            for request in requests
        ]
        results = self.client.map(calls)
        return [
            Outcome(
                output=(result.text or "").strip() if result.ok else None,
                error=None if result.ok else f"endpoint error: {result.error}",
                input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
                cost_usd=result.cost_usd,
            )
            for result in results
        ]

    def close(self) -> None:
        self.client.close()
