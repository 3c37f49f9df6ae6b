"""The VideoEspresso Frame Selector as one ``PreTrainedModel`` (captioner VLM + chooser LM).

Inference (paper §4.1): every candidate frame is captioned by the captioner; the chooser reads the
question with each caption (prompt in the config) and the frame's score is P(yes) from the chooser's
next-token logits restricted to the ``positive_answer`` / ``negative_answer`` tokens. Frames with
P(yes) ≥ ``score_threshold`` are kept, best first, at most ``max_core_frames`` and at least ``min_core_frames``,
and returned in temporal order. Scores come for free and the rule is trainable: :meth:`forward` takes
chooser prompts and 0/1 core-frame labels and returns the binary cross-entropy of the yes-vs-no logit
(the VideoEspresso annotations give per-frame captions and the core frames, which are the labels).

Imports nothing but torch, numpy, transformers and sibling files (copied for ``trust_remote_code``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, GenerationConfig, PreTrainedModel
from transformers.utils import ModelOutput

from .configuration_frame_selector import VexFrameSelectorConfig


@dataclass
class FrameSelection:
    """Frames chosen for one question, in temporal order.

    Attributes:
        indices: frame indices in the source video (``len <= max_core_frames``).
        timestamps: seconds of those frames.
        scores: score of each chosen frame (P(yes) for the model selector, similarity for the
            embedding strategy, ``None`` for rule-based strategies).
        captions: caption of each chosen frame, when the strategy wrote captions.
        candidate_indices / candidate_scores / candidate_captions: the same for every candidate frame
            that was considered (for inspection and for training data).
        strategy: the name of the strategy that produced it.
    """

    indices: list[int]
    timestamps: list[float]
    scores: list[float] | None = None
    captions: list[str] | None = None
    candidate_indices: list[int] = field(default_factory=list)
    candidate_scores: list[float] | None = None
    candidate_captions: list[str] | None = None
    strategy: str = "model"


@dataclass
class FrameSelectorOutput(ModelOutput):
    """Output of :meth:`VexFrameSelectorModel.forward`.

    Attributes:
        loss: binary cross-entropy against ``labels`` (when given), scalar.
        logits: yes-minus-no logit per prompt, shape ``(batch,)``.
        scores: ``sigmoid(logits)`` = P(yes | yes or no), shape ``(batch,)``.
    """

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    scores: torch.Tensor | None = None


def choose_frames(
    scores: Sequence[float], max_core_frames: int, min_core_frames: int = 1, threshold: float = 0.5
) -> list[int]:
    """Positions of the chosen candidates, in temporal (ascending) order.

    Keeps candidates with score ≥ ``threshold`` (best first, at most ``max_core_frames``); tops up with the
    best remaining ones to reach ``min(min_core_frames, len(scores))``. Ties keep the earlier frame.
    """
    order = sorted(range(len(scores)), key=lambda position: (-scores[position], position))
    chosen = [position for position in order if scores[position] >= threshold][:max_core_frames]
    for position in order:
        if len(chosen) >= min(min_core_frames, len(scores)):
            break
        if position not in chosen:
            chosen.append(position)
    return sorted(chosen)


class VexFrameSelectorPreTrainedModel(PreTrainedModel):
    config_class = VexFrameSelectorConfig
    base_model_prefix = "selector"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True


class VexFrameSelectorModel(VexFrameSelectorPreTrainedModel):
    """Captioner (``self.captioner``, an image-text-to-text VLM) + chooser (``self.chooser``, a causal LM).

    Build from the real default components with :meth:`from_components`; load a saved selector with
    ``AutoModel.from_pretrained(path)`` (after ``import videoespresso_hf``) or with
    ``trust_remote_code=True``.
    """

    def __init__(
        self,
        config: VexFrameSelectorConfig,
        captioner: PreTrainedModel | None = None,
        chooser: PreTrainedModel | None = None,
    ):
        super().__init__(config)
        self.captioner = captioner or AutoModelForImageTextToText.from_config(config.captioner_config)
        self.chooser = chooser or AutoModelForCausalLM.from_config(config.chooser_config)
        for component, settings in (
            (self.captioner, config.captioner_generation_config),
            (self.chooser, config.chooser_generation_config),
        ):
            if settings is not None:
                component.generation_config = GenerationConfig.from_dict(settings)
        self.post_init()

    def save_pretrained(self, save_directory, *args, **kwargs):
        """``PreTrainedModel.save_pretrained``; the components' current generation settings go into the config."""
        self.config.captioner_generation_config = self.captioner.generation_config.to_diff_dict()
        self.config.chooser_generation_config = self.chooser.generation_config.to_diff_dict()
        return super().save_pretrained(save_directory, *args, **kwargs)

    @classmethod
    def from_components(cls, captioner_id: str | None = None, chooser_id: str | None = None, **kwargs):
        """Assemble a selector from two pretrained checkpoints (defaults: the config's real ids).

        ``kwargs`` (``dtype``, ``device_map``, ``attn_implementation``, ``revision``...) go to both
        ``from_pretrained`` calls; the selector's own config fields (``max_core_frames``...) may be passed too.
        """
        # Only the fields this class declares: PreTrainedConfig's own (``dtype``...) are loading arguments here.
        field_names = set(VexFrameSelectorConfig.__annotations__)
        config_kwargs = {key: kwargs.pop(key) for key in list(kwargs) if key in field_names}
        defaults = VexFrameSelectorConfig()
        captioner_id = captioner_id or defaults.captioner_id
        chooser_id = chooser_id or defaults.chooser_id
        captioner = AutoModelForImageTextToText.from_pretrained(captioner_id, **kwargs)
        chooser = AutoModelForCausalLM.from_pretrained(chooser_id, **kwargs)
        config = VexFrameSelectorConfig(
            captioner_config=captioner.config.to_dict(),
            chooser_config=chooser.config.to_dict(),
            captioner_id=captioner_id,
            chooser_id=chooser_id,
            captioner_generation_config=captioner.generation_config.to_diff_dict(),
            chooser_generation_config=chooser.generation_config.to_diff_dict(),
            **config_kwargs,
        )
        return cls(config, captioner=captioner, chooser=chooser)

    # The same method is in modeling_reasoner.py (each file ships alone as remote code); test_remote_code.py keeps them equal.
    def push_to_hub(
        self, repo_id: str, *, processor=None, eval_results=(), random_weights: bool = False, **kwargs
    ):
        """Upload weights (safetensors), ``processor`` (required) and a VideoEspresso model card.

        The card is rendered from ``model_cards/`` by :func:`videoespresso_hf.models.cards.create_model_card`
        (``eval_results``: ``CardEvalResult`` items). In a process without ``videoespresso_hf`` (remote code)
        this falls back to transformers' stock ``push_to_hub``.
        """
        try:
            from videoespresso_hf.models.cards import push_with_card
        except ImportError:
            return super().push_to_hub(repo_id, **kwargs)
        return push_with_card(
            self,
            repo_id,
            processor=processor,
            eval_results=eval_results,
            random_weights=random_weights,
            **kwargs,
        )

    def get_input_embeddings(self) -> nn.Module:
        return self.chooser.get_input_embeddings()

    # ------------------------------------------------------------------ chooser (trainable part)
    def _answer_tokens(self, tokenizer) -> tuple[list[int], int, int]:
        """Common token prefix of the two answers, then the first token that tells them apart."""
        positive = tokenizer(self.config.positive_answer, add_special_tokens=False)["input_ids"]
        negative = tokenizer(self.config.negative_answer, add_special_tokens=False)["input_ids"]
        shared = 0
        while shared < min(len(positive), len(negative)) and positive[shared] == negative[shared]:
            shared += 1
        if shared == len(positive) or shared == len(negative):
            raise ValueError(
                f"positive_answer {self.config.positive_answer!r} and negative_answer "
                f"{self.config.negative_answer!r} do not tokenize to distinguishable continuations"
            )
        return positive[:shared], positive[shared], negative[shared]

    def chooser_inputs(
        self, tokenizer, questions: Sequence[str], captions: Sequence[str], timestamps: Sequence[float]
    ) -> dict[str, torch.Tensor]:
        """Tokenize one chooser prompt per (question, caption, timestamp), left-padded.

        A chooser tokenizer with a chat template (an instruct LM such as Qwen2.5-0.5B-Instruct) gets the
        prompt as a user turn followed by its assistant header, the format it was tuned on; the answer
        tokens then start the assistant's reply. A base LM (no template) reads the raw prompt.

        Returns:
            ``input_ids`` and ``attention_mask`` of shape ``(batch, length)``.
        """
        prefix, _, _ = self._answer_tokens(tokenizer)
        prompts = [
            self.config.chooser_prompt.format(question=question, caption=caption, timestamp=float(timestamp))
            for question, caption, timestamp in zip(questions, captions, timestamps, strict=False)
        ]
        if tokenizer.chat_template:
            prompts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
                )
                for prompt in prompts
            ]
        rows = [ids + prefix for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        length = max(len(row) for row in rows)
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor([[pad_id] * (length - len(row)) + row for row in rows], dtype=torch.long)
        attention_mask = torch.tensor(
            [[0] * (length - len(row)) + [1] * len(row) for row in rows], dtype=torch.long
        )
        return {"input_ids": input_ids, "attention_mask": attention_mask}

    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        positive_token_id: int | None = None,
        negative_token_id: int | None = None,
        **kwargs,
    ) -> FrameSelectorOutput:
        """Score left-padded chooser prompts (from :meth:`chooser_inputs`).

        Args:
            input_ids: ``(batch, length)`` chooser prompt ids, prompt ending right before the answer token.
            attention_mask: ``(batch, length)``.
            labels: ``(batch,)`` 1 for a core frame, 0 otherwise; gives ``loss``.
            positive_token_id / negative_token_id: the answer tokens (see :meth:`chooser_inputs`); the
                model remembers the last ones it was told (``self.answer_token_ids``).
        """
        if positive_token_id is None or negative_token_id is None:
            if getattr(self, "answer_token_ids", None) is None:
                raise ValueError(
                    "pass positive_token_id/negative_token_id or call set_answer_tokens(tokenizer) first"
                )
            positive_token_id, negative_token_id = self.answer_token_ids
        outputs = self.chooser(input_ids=input_ids, attention_mask=attention_mask, logits_to_keep=1, **kwargs)
        last = outputs.logits[:, -1, :].float()
        logits = last[:, positive_token_id] - last[:, negative_token_id]
        loss = None
        if labels is not None:
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return FrameSelectorOutput(loss=loss, logits=logits, scores=torch.sigmoid(logits))

    def set_answer_tokens(self, tokenizer) -> tuple[int, int]:
        """Remember the yes/no token ids of ``tokenizer`` for :meth:`forward`; returns them."""
        _, positive, negative = self._answer_tokens(tokenizer)
        self.answer_token_ids = (positive, negative)
        return self.answer_token_ids

    @torch.no_grad()
    def score_captions(
        self,
        processor,
        question: str,
        captions: Sequence[str],
        timestamps: Sequence[float],
        batch_size: int = 16,
    ) -> list[float]:
        """P(yes) of each caption for the question, in input order."""
        tokenizer = processor.chooser_tokenizer
        _, positive, negative = self._answer_tokens(tokenizer)
        scores: list[float] = []
        for start in range(0, len(captions), batch_size):
            chunk = slice(start, start + batch_size)
            inputs = self.chooser_inputs(
                tokenizer, [question] * len(captions[chunk]), captions[chunk], timestamps[chunk]
            )
            inputs = {key: value.to(self.chooser.device) for key, value in inputs.items()}
            output = self(**inputs, positive_token_id=positive, negative_token_id=negative)
            scores.extend(output.scores.tolist())
        return scores

    # ------------------------------------------------------------------ captioner
    @torch.no_grad()
    def caption_frames(self, processor, frames, batch_size: int = 8) -> list[str]:
        """One caption per frame.

        Args:
            processor: a :class:`VexFrameSelectorProcessor` (its ``captioner_processor`` is used).
            frames: uint8 array/tensor ``(num_frames, height, width, 3)`` or a list of ``(H, W, 3)`` frames.
        """
        captioner_processor = processor.captioner_processor
        tokenizer = captioner_processor.tokenizer
        message = [
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": self.config.caption_prompt}],
            }
        ]
        prompt = captioner_processor.apply_chat_template(message, add_generation_prompt=True, tokenize=False)
        captions: list[str] = []
        frames = [np.asarray(frame) for frame in frames]
        padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            for start in range(0, len(frames), batch_size):
                chunk = frames[start : start + batch_size]
                inputs = captioner_processor(
                    text=[prompt] * len(chunk),
                    images=chunk,
                    padding=True,
                    return_tensors="pt",
                    **self.config.caption_processor_kwargs,
                ).to(self.captioner.device)
                if "pixel_values" in inputs:
                    inputs["pixel_values"] = inputs["pixel_values"].to(self.captioner.dtype)
                sequences = self.captioner.generate(
                    **inputs, max_new_tokens=self.config.caption_max_new_tokens, do_sample=False
                )
                new_tokens = sequences[:, inputs["input_ids"].shape[1] :]
                captions.extend(
                    text.strip() for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
                )
        finally:
            tokenizer.padding_side = padding_side
        return captions

    # ------------------------------------------------------------------ public API
    def select(
        self,
        processor,
        frames,
        question: str,
        frame_indices: Sequence[int] | None = None,
        timestamps: Sequence[float] | None = None,
        max_core_frames: int | None = None,
        captions: Sequence[str] | None = None,
    ) -> FrameSelection:
        """Choose the core frames among candidate frames for one question.

        Args:
            processor: a :class:`VexFrameSelectorProcessor`.
            frames: the candidate frames, uint8 ``(num_candidates, height, width, 3)``; may be ``None``
                when ``captions`` are given.
            question: the question.
            frame_indices: index of each candidate in the source video (default ``0..N-1``).
            timestamps: seconds of each candidate (default: ``position / candidate_fps``, i.e. candidates
                sampled at the config's ``candidate_fps`` from the start of the video).
            max_core_frames: overrides ``config.max_core_frames`` (must be ≥ 1).
            captions: precomputed captions of the candidates (skips the captioner).

        Returns:
            A :class:`FrameSelection` with ``len(indices) <= max_core_frames``, in temporal order.
        """
        max_core_frames = self.config.max_core_frames if max_core_frames is None else int(max_core_frames)
        if max_core_frames < 1:
            raise ValueError(f"max_core_frames must be at least 1, got {max_core_frames}")
        if captions is None and frames is None:
            raise ValueError("pass the candidate frames or their captions")
        count = len(captions) if captions is not None else len(frames)
        if count == 0:
            raise ValueError("no candidate frames to select from")
        frame_indices = (
            list(range(count)) if frame_indices is None else [int(index) for index in frame_indices]
        )
        if timestamps is None:
            # Candidates are sampled at candidate_fps, so candidate k is on screen at k / candidate_fps seconds;
            # frame_indices count frames of the source video, whose frame rate is unknown here.
            timestamps = [position / self.config.candidate_fps for position in range(count)]
        timestamps = [float(value) for value in timestamps]
        if not len(frame_indices) == len(timestamps) == count:
            raise ValueError("frames, frame_indices and timestamps must have the same length")
        captions = list(captions) if captions is not None else self.caption_frames(processor, frames)
        scores = self.score_captions(processor, question, captions, timestamps)
        chosen = choose_frames(
            scores, max_core_frames, min(self.config.min_core_frames, max_core_frames), self.config.score_threshold
        )
        return FrameSelection(
            indices=[frame_indices[position] for position in chosen],
            timestamps=[timestamps[position] for position in chosen],
            scores=[scores[position] for position in chosen],
            captions=[captions[position] for position in chosen],
            candidate_indices=frame_indices,
            candidate_scores=scores,
            candidate_captions=captions,
            strategy="model",
        )


__all__ = [
    "FrameSelection",
    "FrameSelectorOutput",
    "VexFrameSelectorModel",
    "VexFrameSelectorPreTrainedModel",
    "choose_frames",
]

VexFrameSelectorModel.register_for_auto_class("AutoModel")
