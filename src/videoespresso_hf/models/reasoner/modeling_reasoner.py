"""The VideoEspresso reasoning VLM: a native Qwen VLM that first writes evidence, then answers.

Paper §4.3/§4.4: stage 1 is prompted to "provide evidence to help answer the question" over the core
frames; stage 2 receives that evidence in its input and is asked to "answer the question with the help
of evidence". Both stages are the same weights; only the prompt (stored in the config) differs, so
:meth:`TwoStageReasoningMixin.generate_two_stage` runs two batched ``generate`` calls.

Imports nothing but torch, transformers and the sibling configuration file: this file is copied next
to the weights so that ``trust_remote_code=True`` works in a process without ``videoespresso_hf``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen3VLForConditionalGeneration
from transformers.conversion_mapping import (
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)

from .configuration_reasoner import VexQwen2_5_VLReasonerConfig, VexQwen3VLReasonerConfig


@dataclass
class TwoStageOutput:
    """What the reasoner says about one (video, question).

    Attributes:
        evidence: stage-1 text (the chain-of-thought evidence).
        answer: stage-2 text.
        letter: for multiple choice, the option letter read from ``answer`` (``None`` if none found or
            open-ended).
        evidence_prompt / answer_prompt: the user texts of both stages, as sent (for inspection).
        answer_input_ids: stage-2 prompt token ids, without padding, shape ``(prompt_len,)``; they
            contain the tokens of ``evidence``.
    """

    evidence: str
    answer: str
    letter: str | None
    evidence_prompt: str
    answer_prompt: str
    answer_input_ids: torch.Tensor | None = None


def format_options(options: Sequence[str] | None, option_format: str, letters: str) -> str:
    """Render options as ``"(A) first\\n(B) second\\n"``; empty string for open-ended questions."""
    if not options:
        return ""
    if len(options) > len(letters):
        raise ValueError(f"{len(options)} options but only {len(letters)} option letters are configured")
    return "".join(
        option_format.format(letter=letter, option=option)
        for letter, option in zip(letters, options, strict=False)
    )


def stage_prompt(
    config, stage: str, question: str, options: Sequence[str] | None = None, evidence: str = ""
) -> str:
    """The user text of one stage, from the prompts stored in the reasoner config.

    ``stage="evidence"``: the stage-1 instruction; ``stage="answer"``: the stage-2 one with ``evidence``
    filled in (and the multiple-choice suffix when ``options`` are given). Training uses the same
    function: stage-1 targets are the annotated evidence, stage-2 prompts get the annotated evidence.
    """
    rendered = format_options(options, config.option_format, config.option_letters)
    if stage == "evidence":
        return config.evidence_prompt.format(question=question, options=rendered, evidence="")
    if stage == "answer":
        prompt = config.answer_prompt.format(question=question, options=rendered, evidence=evidence)
        return prompt + (config.multiple_choice_suffix if rendered else "")
    raise ValueError(f"unknown stage {stage!r}; use 'evidence' or 'answer'")


_STRIP_OPTION_PREFIX = re.compile(r"^\s*\(?[A-Za-z]\)?[.:)]?\s+")


def extract_option_letter(text: str, options: Sequence[str], letters: str = "ABCDEFGHIJ") -> str | None:
    """Read the chosen option letter from a free-form answer.

    Tries, in order: a marked leading letter (``"B"``, ``"(B)"``, ``"B."``, ``"B) the dog"``) or a phrase
    such as ``"answer is C"`` / ``"Answer: (C)"``; then the text of exactly one option; then weaker cues
    (a bare leading capital letter, which may be the article "A", or a ``(B)`` / ``B.`` anywhere). Only
    letters of the given options count. Returns ``None`` otherwise.
    """
    valid = letters[: len(options)]
    if not valid:
        return None
    cls = f"[{valid}{valid.lower()}]"
    stripped = text.strip()
    strong = (
        rf"^\(?({cls})\)?$",  # "B", "(B)"
        rf"^\(({cls})\)",  # "(B) the dog"
        rf"^({cls})[.:)](?:\s|$)",  # "B.", "B) the dog", "B: ..."
        # "answer is C", "answer: (c)", "answer is b."; not "the answer is a dog" (an article, not a letter)
        rf"(?i:answer|option|choice)\s*(?:is|:)?\s*"
        rf"(?:\(({cls})\)|([{valid}])(?:$|[\s.:,)])|([{valid.lower()}])(?:$|[.:,)]))",
    )
    weak = (
        rf"^({valid})\s",  # "B the dog" (checked after option texts: "A dog runs" is an article)
        rf"\(({cls})\)",  # "(B)" anywhere
        rf"(?:^|\s)({valid})[.)](?:\s|$)",  # "B." anywhere
    )
    for pattern in strong:
        if match := re.search(pattern, stripped):
            return next(group for group in match.groups() if group).upper()
    lowered = stripped.lower()
    hits = [
        letter
        for letter, option in zip(valid, options, strict=False)
        if (body := _STRIP_OPTION_PREFIX.sub("", option).strip().lower()) and body in lowered
    ]
    if len(hits) == 1:
        return hits[0]
    for pattern in weak:
        if match := re.search(pattern, stripped):
            return match.group(1).upper()
    return None


def stage_inputs(processor, config, videos: Sequence, prompts: Sequence[str], video_metadata=None):
    """Processor inputs (on CPU) of one stage: each clip shown with its stage prompt as the user turn.

    The one place that decides how frames and prompt are presented to the reasoner; inference
    (:meth:`TwoStageReasoningMixin.generate_two_stage`) and training (``videoespresso_hf.training``)
    both call it, so a fine-tuned model sees exactly the inputs it will be asked about. Ends with the
    generation prompt (the assistant turn starts right after); rows are left-padded.
    """
    texts = [
        processor.apply_chat_template(
            [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for prompt in prompts
    ]
    if video_metadata is None:
        video_metadata = [
            {
                "total_num_frames": len(video),
                "fps": config.video_fps,
                "frames_indices": list(range(len(video))),
            }
            for video in videos
        ]
    tokenizer = processor.tokenizer
    # Left padding: generate appends new tokens on the right of every row of the batch.
    padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        inputs = processor(
            text=texts,
            videos=list(videos),
            video_metadata=list(video_metadata),
            do_sample_frames=False,
            padding=True,
            return_tensors="pt",
        )
    finally:
        tokenizer.padding_side = padding_side
    return inputs


class TwoStageReasoningMixin:
    """Adds ``generate_two_stage`` / ``answer`` to a Qwen-family ``...ForConditionalGeneration``."""

    def _stage_inputs(self, processor, videos, prompts: list[str], video_metadata):
        return stage_inputs(processor, self.config, videos, prompts, video_metadata).to(self.device)

    def _generate_texts(self, processor, inputs, max_new_tokens: int, generate_kwargs) -> list[str]:
        kwargs = {"do_sample": False, **generate_kwargs, "max_new_tokens": max_new_tokens}
        sequences = self.generate(**inputs, **kwargs)
        new_tokens = sequences[:, inputs["input_ids"].shape[1] :]
        return [text.strip() for text in processor.batch_decode(new_tokens, skip_special_tokens=True)]

    @torch.no_grad()
    def generate_two_stage(
        self,
        processor,
        videos: Sequence,
        questions: Sequence[str],
        options: Sequence[Sequence[str] | None] | None = None,
        video_metadata: Sequence[dict] | None = None,
        *,
        evidence_max_new_tokens: int | None = None,
        answer_max_new_tokens: int | None = None,
        **generate_kwargs,
    ) -> list[TwoStageOutput]:
        """Evidence, then answer, for a batch of (frames, question[, options]).

        Args:
            processor: the checkpoint's processor (``AutoProcessor.from_pretrained(same_path)``).
            videos: one clip per question: uint8 array/tensor of shape ``(frames, height, width, 3)``
                (the selected core frames, in temporal order).
            questions: the questions, ``len(videos)`` of them.
            options: per question, the multiple-choice options (``None`` or empty for open-ended).
            video_metadata: per clip, ``{"total_num_frames", "fps", "frames_indices"}`` of the source video
                so that frame timestamps reach the model; default: consecutive frames at
                ``config.video_fps``.
            evidence_max_new_tokens / answer_max_new_tokens: override the config's budgets.
            **generate_kwargs: passed to both ``generate`` calls (greedy by default).

        Returns:
            One :class:`TwoStageOutput` per question.
        """
        if len(videos) != len(questions):
            raise ValueError(f"got {len(videos)} videos for {len(questions)} questions")
        config = self.config
        options = list(options) if options is not None else [None] * len(questions)
        evidence_prompts = [
            stage_prompt(config, "evidence", question, opts)
            for question, opts in zip(questions, options, strict=True)
        ]
        stage1 = self._stage_inputs(processor, videos, evidence_prompts, video_metadata)
        evidences = self._generate_texts(
            processor, stage1, evidence_max_new_tokens or config.evidence_max_new_tokens, generate_kwargs
        )

        answer_prompts = [
            stage_prompt(config, "answer", question, opts, evidence)
            for question, opts, evidence in zip(questions, options, evidences, strict=True)
        ]
        stage2 = self._stage_inputs(processor, videos, answer_prompts, video_metadata)
        answers = self._generate_texts(
            processor, stage2, answer_max_new_tokens or config.answer_max_new_tokens, generate_kwargs
        )

        outputs = []
        for row, (evidence, answer, opts) in enumerate(zip(evidences, answers, options, strict=False)):
            input_ids = stage2["input_ids"][row][stage2["attention_mask"][row].bool()].cpu()
            letter = extract_option_letter(answer, opts, config.option_letters) if opts else None
            outputs.append(
                TwoStageOutput(
                    evidence, answer, letter, evidence_prompts[row], answer_prompts[row], input_ids
                )
            )
        return outputs

    def push_to_hub(
        self, repo_id: str, *, processor=None, eval_results=(), random_weights: bool = False, **kwargs
    ):
        """Upload weights (safetensors), ``processor`` if given, and a VideoEspresso model card.

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

    def answer(
        self, processor, video, question: str, options: Sequence[str] | None = None, **kwargs
    ) -> TwoStageOutput:
        """:meth:`generate_two_stage` for one clip ``(frames, height, width, 3)`` and one question."""
        return self.generate_two_stage(processor, [video], [question], [options], **kwargs)[0]


class VexQwen2_5_VLReasonerForConditionalGeneration(
    TwoStageReasoningMixin, Qwen2_5_VLForConditionalGeneration
):
    """Qwen2.5-VL with the two-stage evidence → answer inference of VideoEspresso."""

    config_class = VexQwen2_5_VLReasonerConfig


class VexQwen3VLReasonerForConditionalGeneration(TwoStageReasoningMixin, Qwen3VLForConditionalGeneration):
    """Qwen3-VL with the two-stage evidence → answer inference of VideoEspresso."""

    config_class = VexQwen3VLReasonerConfig


__all__ = [
    "TwoStageOutput",
    "TwoStageReasoningMixin",
    "VexQwen2_5_VLReasonerForConditionalGeneration",
    "VexQwen3VLReasonerForConditionalGeneration",
    "extract_option_letter",
    "format_options",
    "stage_inputs",
    "stage_prompt",
]

VexQwen2_5_VLReasonerForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")
VexQwen3VLReasonerForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")

# Hub checkpoints of the base models (Qwen/Qwen2.5-VL-7B-Instruct) store weights under the pre-5.0 key names
# ("model.layers.*", "visual.*"). transformers renames them by class name and skips classes defined outside
# transformers unless a mapping is registered for them: without this, fine-tuning from the base model would
# silently start from random weights. Checked first: the remote-code copy of this file registers too.
for _vex_class, _base_class in (
    (VexQwen2_5_VLReasonerForConditionalGeneration, Qwen2_5_VLForConditionalGeneration),
    (VexQwen3VLReasonerForConditionalGeneration, Qwen3VLForConditionalGeneration),
):
    _mapping = get_checkpoint_conversion_mapping(_base_class.__name__)
    if _mapping is not None and get_checkpoint_conversion_mapping(_vex_class.__name__) is None:
        register_checkpoint_conversion_mapping(_vex_class.__name__, _mapping)
