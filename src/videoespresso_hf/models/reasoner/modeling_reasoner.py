"""The VideoEspresso reasoning VLM: a native VLM that first writes evidence, then answers.

Paper §4.3/§4.4: stage 1 is prompted to "provide evidence to help answer the question" over the core
frames; stage 2 receives that evidence in its input and is asked to "answer the question with the help
of evidence". Both stages are the same weights; only the prompt (stored in the config) differs, so
:meth:`TwoStageReasoningMixin.generate_two_stage` runs two batched ``generate`` calls.

:func:`build_stage_inputs` is the one place that turns (frames, timestamps, question, options[, evidence
or a training target]) into model inputs: inference calls it for both stages and training calls it for
its examples, so both show the model the same text, frame presentation and pixel budget.

Imports nothing but torch, transformers and sibling files (the configuration and the answer-letter rules):
they are copied next to the weights so that ``trust_remote_code=True`` works in a process without
``videoespresso_hf``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import (
    BatchFeature,
    LlavaForConditionalGeneration,
    Qwen2_5_VLForConditionalGeneration,
    Qwen3VLForConditionalGeneration,
)
from transformers.conversion_mapping import (
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)

from .answer_letters import extract_robust
from .configuration_reasoner import (
    VexLlavaReasonerConfig,
    VexQwen2_5_VLReasonerConfig,
    VexQwen3VLReasonerConfig,
)


@dataclass
class TwoStageOutput:
    """What the reasoner says about one (video, question).

    Attributes:
        evidence: stage-1 text (the chain-of-thought evidence).
        answer: stage-2 text.
        letter: for multiple choice, the option letter read from ``answer`` (``None`` if none found or
            open-ended).
        evidence_prompt: the stage-1 instruction as sent (``None`` when the evidence was given).
        answer_prompt: the stage-2 instruction as sent (the frames precede both in the user turn).
        answer_input_ids: stage-2 prompt token ids, without padding, shape ``(prompt_len,)``; they
            contain the tokens of ``evidence``.
    """

    evidence: str
    answer: str
    letter: str | None
    evidence_prompt: str | None
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
    filled in (and the multiple-choice suffix when ``options`` are given); ``stage="one_pass"``: the instruction of
    a ``reasoning_mode="one_pass"`` checkpoint (grounded ``<think>`` evidence, then ``<answer>``). Training uses the same
    function: stage-1 targets are the annotated evidence, stage-2 prompts get the annotated evidence.
    """
    rendered = format_options(options, config.option_format, config.option_letters)
    if stage == "one_pass":
        prompt = config.one_pass_prompt.format(question=question, options=rendered)
        return prompt + (config.one_pass_choice_suffix if rendered else "")
    if stage == "evidence":
        return config.evidence_prompt.format(question=question, options=rendered, evidence="")
    if stage == "answer":
        prompt = config.answer_prompt.format(question=question, options=rendered, evidence=evidence)
        return prompt + (config.multiple_choice_suffix if rendered else "")
    raise ValueError(f"unknown stage {stage!r}; use 'evidence', 'answer' or 'one_pass'")


def frame_timestamps(num_frames: int, video_metadata: dict | None = None, fps: float = 1.0) -> list[float]:
    """Seconds of each frame: ``frames_indices / fps`` of ``video_metadata`` if given, else ``index / fps``."""
    if video_metadata is not None:
        indices = video_metadata.get("frames_indices") or range(num_frames)
        return [index / video_metadata["fps"] for index in indices]
    return [index / fps for index in range(num_frames)]


def stage_messages(
    config,
    stage: str,
    timestamps: Sequence[float],
    question: str,
    options: Sequence[str] | None = None,
    evidence: str = "",
    *,
    image_token: str | None = None,
) -> list[dict]:
    """The user turn of one stage as chat messages, with the frames presented as ``config`` says.

    ``"images"``: each frame is ``config.frame_label`` (its index and timestamp) followed by one image, then
    the stage prompt. ``"video"``: one video part, then the prompt (the timestamps reach the model through
    the video metadata). With ``image_token`` (backbones whose chat template renders every image before all
    text, see ``frames_inline_in_text``) each frame is written into the text as that token instead of an
    image part, so the processor still expands it in place.
    """
    prompt = stage_prompt(config, stage, question, options, evidence)
    if config.frame_presentation == "video":
        return [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": prompt}]}]
    content: list[dict] = []
    for index, timestamp in enumerate(timestamps, start=1):
        label = config.frame_label.format(index=index, timestamp=timestamp)
        if image_token is not None:
            content.append({"type": "text", "text": f"{label}{image_token}\n"})
        else:
            content += [{"type": "text", "text": label}, {"type": "image"}, {"type": "text", "text": "\n"}]
    content.append({"type": "text", "text": prompt})
    return [{"role": "user", "content": content}]


def _size(config, frames: int, video: bool) -> dict | None:
    """The processor ``size`` that bounds each frame to ``config.min_pixels``..``config.max_pixels``."""
    if config.min_pixels is None and config.max_pixels is None:
        return None
    # Qwen3-VL's video processor bounds the pixels of the whole clip: scale the per-frame bounds by its length
    scale = frames if video and config.video_size_is_total else 1
    size = {}
    if config.min_pixels is not None:
        size["shortest_edge"] = config.min_pixels * scale
    if config.max_pixels is not None:
        size["longest_edge"] = config.max_pixels * scale
    return size


def save_frame_bounds(config, processor) -> None:
    """Give ``processor`` the per-frame pixel bounds of ``config`` as its own ``size``, in place.

    The config is where the bounds live, but a LoRA adapter folder holds no config: the processor saved next
    to the adapter is what carries training's bounds, so ``AutoProcessor.from_pretrained(adapter)`` sizes
    frames as training did and :func:`frame_bounds` gives them back to the loader. Qwen3-VL's video processor
    bounds a whole clip, not a frame, so only the image processor takes them there. A fixed-size family
    (LLaVA: no bounds) is left unchanged.
    """
    size = _size(config, 1, video=False)
    if size is None:
        return
    processor.image_processor.size = size
    if not config.video_size_is_total and getattr(processor, "video_processor", None) is not None:
        processor.video_processor.size = size


def frame_bounds(processor) -> dict[str, int]:
    """``{"min_pixels", "max_pixels"}`` held by ``processor``'s image ``size`` (see :func:`save_frame_bounds`);
    empty for a processor that resizes to a fixed size."""
    size = getattr(processor.image_processor, "size", None) or {}
    bounds = {"min_pixels": size.get("shortest_edge"), "max_pixels": size.get("longest_edge")}
    return {name: value for name, value in bounds.items() if value is not None}


_SEQUENCE_KEYS = {"input_ids": None, "attention_mask": 0, "mm_token_type_ids": 0, "token_type_ids": 0, "labels": -100}


def _collate(features: list[BatchFeature], pad_token_id: int, padding_side: str) -> BatchFeature:
    """One batch from single-example features: pad the token sequences, concatenate the visual tensors."""
    length = max(feature["input_ids"].shape[1] for feature in features)
    batch = {}
    for key in features[0]:
        values = [feature[key] for feature in features]
        if key in _SEQUENCE_KEYS:
            fill = pad_token_id if key == "input_ids" else _SEQUENCE_KEYS[key]
            padded = []
            for value in values:
                pad = value.new_full((value.shape[0], length - value.shape[1]), fill)
                padded.append(torch.cat([pad, value] if padding_side == "left" else [value, pad], dim=1))
            values = padded
        batch[key] = torch.cat(values)
    return BatchFeature(batch)


def build_stage_inputs(
    config,
    processor,
    stage: str,
    frames: Sequence,
    questions: Sequence[str],
    options: Sequence[Sequence[str] | None] | None = None,
    evidence: Sequence[str] | None = None,
    *,
    timestamps: Sequence[Sequence[float]] | None = None,
    video_metadata: Sequence[dict] | None = None,
    targets: Sequence[str] | None = None,
    padding_side: str = "left",
) -> BatchFeature:
    """Model inputs for one stage of a batch: THE helper that inference and training share.

    Each example is rendered with :func:`stage_messages` and the processor's chat template, then processed
    on its own, so that the per-frame pixel bounds of ``config`` apply to every clip whatever its length;
    the examples are then padded into one batch.

    Args:
        config: the reasoner config (prompts, ``frame_presentation``, ``min_pixels``/``max_pixels``).
        processor: the checkpoint's processor.
        stage: ``"evidence"`` (stage 1) or ``"answer"`` (stage 2, needs ``evidence``).
        frames: per example, uint8 frames ``(frames, height, width, 3)`` in temporal order.
        questions / options: per example, the question and its options (``None`` for open-ended).
        evidence: per example, the evidence stage 2 reads (stage 1's output, or the annotation).
        timestamps: per example, the seconds of its frames (default: from ``video_metadata``, else
            consecutive frames at ``config.video_fps``).
        video_metadata: per example, ``{"total_num_frames", "fps", "frames_indices"}`` of the source
            video; the ``"video"`` presentation hands it to the video processor (default: derived from the
            timestamps).
        targets: per example, the assistant text to learn (training): the turn is closed with the chat
            template and ``labels`` holds the target's tokens, ``-100`` elsewhere.
        padding_side: ``"left"`` for generation, ``"right"`` for training.

    Returns:
        A ``BatchFeature`` on the CPU (``input_ids``, ``attention_mask``, pixel tensors[, ``labels``]).
    """
    config.validate_two_stage()
    count = len(questions)
    if len(frames) != count:
        raise ValueError(f"got {len(frames)} videos for {count} questions")
    options = list(options) if options is not None else [None] * count
    evidence = list(evidence) if evidence is not None else [""] * count
    if stage == "answer" and any(text is None for text in evidence):
        raise ValueError("stage 'answer' needs the evidence of every example")
    image_token = processor.image_token if config.frames_inline_in_text else None
    tokenizer = processor.tokenizer
    features = []
    for row in range(count):
        clip = frames[row]
        metadata = video_metadata[row] if video_metadata is not None else None
        if timestamps is not None:
            seconds = list(timestamps[row])
        else:
            seconds = frame_timestamps(len(clip), metadata, config.video_fps)
        if len(seconds) != len(clip):
            raise ValueError(f"example {row}: {len(clip)} frames but {len(seconds)} timestamps")
        messages = stage_messages(
            config, stage, seconds, questions[row], options[row], evidence[row], image_token=image_token
        )
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        target_text = None
        if targets is not None:
            turn = {"role": "assistant", "content": [{"type": "text", "text": targets[row]}]}
            full = processor.apply_chat_template([*messages, turn], tokenize=False)
            if not full.startswith(text):
                raise ValueError("the chat template does not extend the prompt with the assistant turn")
            text, target_text = full, full[len(text) :]
        kwargs = {}
        if config.frame_presentation == "video":
            if metadata is None:
                metadata = _metadata_from_timestamps(seconds, config.video_fps)
            kwargs.update(video_processor_inputs(config, processor, clip, metadata))
        else:
            kwargs["images"] = list(clip)
            if (size := _size(config, 1, video=False)) is not None:
                kwargs["images_kwargs"] = {"size": size}
        feature = processor(text=[text], return_tensors="pt", **kwargs)
        if target_text is not None:
            target_length = len(tokenizer(target_text, add_special_tokens=False)["input_ids"])
            labels = feature["input_ids"].clone()
            labels[:, : labels.shape[1] - target_length] = -100
            feature["labels"] = labels
        features.append(feature)
    return _collate(features, tokenizer.pad_token_id, padding_side)


def video_processor_inputs(config, processor, frames, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The processor keyword arguments of one clip in the ``"video"`` presentation: THE video-input rule that
    inference (:func:`build_stage_inputs`) and RL (``training.grpo`` rows, ``training.grpo_video`` prompts) share.

    ``videos`` / ``video_metadata`` (one clip; the last frame repeated up to one temporal patch), ``do_sample_frames=
    False`` (the frames are already the chosen ones: the metadata gives their times, never a resampling) and, when the
    config bounds frame pixels, ``videos_kwargs={"size": ...}`` (Qwen3-VL bounds a whole clip, so it depends on the
    frame count)."""
    clip, metadata = _fill_temporal_patch(frames, dict(metadata), processor.video_processor)
    kwargs: dict[str, Any] = {"videos": [clip], "video_metadata": [metadata], "do_sample_frames": False}
    if (size := _size(config, len(clip), video=True)) is not None:
        kwargs["videos_kwargs"] = {"size": size}
    return kwargs


def _fill_temporal_patch(clip, metadata: dict, video_processor):
    """Repeat the last frame of a clip shorter than one temporal patch (Qwen3-VL's video processor refuses
    one frame; Qwen2.5-VL's repeats it the same way inside)."""
    missing = getattr(video_processor, "temporal_patch_size", 1) - len(clip)
    if missing <= 0:
        return clip, metadata
    clip = np.concatenate([np.asarray(clip)] + [np.asarray(clip[-1:])] * missing)
    indices = list(metadata["frames_indices"])
    return clip, {**metadata, "frames_indices": indices + indices[-1:] * missing}


def _metadata_from_timestamps(seconds: Sequence[float], default_fps: float) -> dict:
    """Video metadata that reproduces the given timestamps: one frame rate, frame indices at it."""
    span = seconds[-1] - seconds[0] if len(seconds) > 1 else 0.0
    fps = (len(seconds) - 1) / span if span > 0 else default_fps
    indices = [round(second * fps) for second in seconds]
    return {"total_num_frames": indices[-1] + 1, "fps": fps, "frames_indices": indices}


def decode_generated(tokenizer, token_ids: torch.Tensor, keep: Sequence[str] = ()) -> list[str]:
    """Decode generated rows, dropping special tokens (end of turn, padding, image markers) but ``keep``.

    ``skip_special_tokens=True`` would also drop evidence tags that a fine-tune made special tokens, and
    stage 2 would then read evidence that training never showed it.
    """
    keep_ids = {tokenizer.convert_tokens_to_ids(token) for token in keep}
    # what skip_special_tokens=True drops: the named special tokens and every added token marked special
    special = {index for index, token in tokenizer.added_tokens_decoder.items() if token.special}
    drop_ids = (special | set(tokenizer.all_special_ids)) - keep_ids
    return [
        tokenizer.decode([i for i in row.tolist() if i not in drop_ids], skip_special_tokens=False).strip()
        for row in token_ids
    ]


def extract_option_letter(text: str, options: Sequence[str], letters: str = "ABCDEFGHIJ") -> str | None:
    """The option letter ``text`` names, by the scorer's robust rule set (:mod:`.answer_letters`), or ``None``.

    Only the letters of the given options count, so with four options this is exactly what
    ``videoespresso score --protocol robust`` reads from the same text.
    """
    if not options:
        return None
    return extract_robust(text, [str(option) for option in options], letters[: len(options)]).letter


_THINK = re.compile(r"<think>(.*?)(?:</think>|$)", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.DOTALL)


def split_one_pass(text: str) -> tuple[str, str]:
    """``(evidence, answer)`` of a one-pass output ``<think>…</think><answer>…</answer>`` (the rollout format
    of ``videoespresso_hf.evaluation.grounding``; a tag left open runs to the end). Without an ``<answer>`` tag the
    text after ``</think>`` (or all of it) is the answer, so a letter written bare still counts."""
    think = _THINK.search(text)
    answer = _ANSWER.search(text)
    evidence = think.group(1).strip() if think else ""
    if answer:
        return evidence, answer.group(1).strip()
    rest = text[think.end() :] if think else text
    return evidence, rest.strip()


def _rows(values: Sequence | None, rows: Sequence[int]) -> list | None:
    return [values[row] for row in rows] if values is not None else None


class TwoStageReasoningMixin:
    """Adds ``generate_two_stage`` / ``answer`` to a VLM ``...ForConditionalGeneration``."""

    def _generate_texts(self, processor, inputs, max_new_tokens: int, generate_kwargs) -> list[str]:
        kwargs = {"do_sample": False, **generate_kwargs, "max_new_tokens": max_new_tokens}
        sequences = self.generate(**inputs.to(self.device), **kwargs)
        new_tokens = sequences[:, inputs["input_ids"].shape[1] :]
        return decode_generated(processor.tokenizer, new_tokens, keep=self.config.evidence_tags)

    @torch.no_grad()
    def generate_two_stage(
        self,
        processor,
        videos: Sequence,
        questions: Sequence[str],
        options: Sequence[Sequence[str] | None] | None = None,
        video_metadata: Sequence[dict] | None = None,
        *,
        timestamps: Sequence[Sequence[float]] | None = None,
        evidence: Sequence[str | None] | None = None,
        evidence_max_new_tokens: int | None = None,
        answer_max_new_tokens: int | None = None,
        **generate_kwargs,
    ) -> list[TwoStageOutput]:
        """Evidence, then answer, for a batch of (frames, question[, options]).

        A checkpoint whose config says ``reasoning_mode="one_pass"`` (trained with GRPO) writes both in one call
        (``<think>`` evidence ``</think><answer>`` answer ``</answer>``, budget ``one_pass_max_new_tokens``, or
        ``evidence_max_new_tokens`` when given); questions with given evidence still get the stage-2 call.

        Args:
            processor: the checkpoint's processor (``AutoProcessor.from_pretrained(same_path)``).
            videos: one clip per question: uint8 array/tensor of shape ``(frames, height, width, 3)``
                (the selected core frames, in temporal order).
            questions: the questions, ``len(videos)`` of them.
            options: per question, the multiple-choice options (``None`` or empty for open-ended).
            video_metadata: per clip, ``{"total_num_frames", "fps", "frames_indices"}`` of the source video
                (gives the frame timestamps); default: consecutive frames at ``config.video_fps``.
            timestamps: per clip, the seconds of its frames (instead of ``video_metadata``).
            evidence: per question, ground-truth evidence (the paper's GT-CoT setting): stage 1 is skipped
                for the questions that have one (``None`` entries still get generated evidence).
            evidence_max_new_tokens / answer_max_new_tokens: override the config's budgets.
            **generate_kwargs: passed to both ``generate`` calls (greedy by default).

        Returns:
            One :class:`TwoStageOutput` per question.
        """
        if len(videos) != len(questions):
            raise ValueError(f"got {len(videos)} videos for {len(questions)} questions")
        config = self.config
        count = len(questions)
        options = list(options) if options is not None else [None] * count
        evidences = list(evidence) if evidence is not None else [None] * count
        if len(evidences) != count:
            raise ValueError(f"got {len(evidences)} evidence texts for {count} questions")
        # build_stage_inputs derives the timestamps not given from video_metadata (else config.video_fps)
        shared = {"timestamps": timestamps, "video_metadata": video_metadata}

        missing = [row for row in range(count) if evidences[row] is None]
        evidence_prompts: list[str | None] = [None] * count
        config.validate_two_stage()
        if config.reasoning_mode == "one_pass" and missing:
            one_pass = self._generate_one_pass(
                processor, videos, questions, options, missing, shared, evidence_max_new_tokens, generate_kwargs
            )
            if len(missing) == count:
                return [one_pass[row] for row in range(count)]
            given = [row for row in range(count) if row not in one_pass]
            rest = self.generate_two_stage(
                processor, _rows(videos, given), _rows(questions, given), _rows(options, given),
                **{key: _rows(value, given) for key, value in shared.items()}, evidence=_rows(evidences, given),
                answer_max_new_tokens=answer_max_new_tokens, **generate_kwargs,
            )  # fmt: skip
            merged = {**one_pass, **dict(zip(given, rest, strict=True))}
            return [merged[row] for row in range(count)]
        if missing:
            stage1 = build_stage_inputs(
                config,
                processor,
                "evidence",
                _rows(videos, missing),
                _rows(questions, missing),
                _rows(options, missing),
                **{key: _rows(value, missing) for key, value in shared.items()},
            )
            generated = self._generate_texts(
                processor, stage1, evidence_max_new_tokens or config.evidence_max_new_tokens, generate_kwargs
            )
            for row, text in zip(missing, generated, strict=True):
                evidences[row] = text
                evidence_prompts[row] = stage_prompt(config, "evidence", questions[row], options[row])

        stage2 = build_stage_inputs(
            config, processor, "answer", videos, questions, options, evidences, **shared
        )
        answers = self._generate_texts(
            processor, stage2, answer_max_new_tokens or config.answer_max_new_tokens, generate_kwargs
        )

        outputs = []
        for row, (text, answer, opts) in enumerate(zip(evidences, answers, options, strict=True)):
            input_ids = stage2["input_ids"][row][stage2["attention_mask"][row].bool()].cpu()
            letter = extract_option_letter(answer, opts, config.option_letters) if opts else None
            answer_prompt = stage_prompt(config, "answer", questions[row], opts, text)
            outputs.append(TwoStageOutput(text, answer, letter, evidence_prompts[row], answer_prompt, input_ids))
        return outputs

    def _generate_one_pass(
        self, processor, videos, questions, options, rows, shared, max_new_tokens, generate_kwargs
    ) -> dict[int, TwoStageOutput]:
        """One ``generate`` per batch for a ``reasoning_mode="one_pass"`` checkpoint: the output's ``<think>`` part is
        the evidence, its ``<answer>`` part the answer (what GRPO trained it to write)."""
        config = self.config
        inputs = build_stage_inputs(
            config, processor, "one_pass", _rows(videos, rows), _rows(questions, rows), _rows(options, rows),
            **{key: _rows(value, rows) for key, value in shared.items()},
        )  # fmt: skip
        texts = self._generate_texts(
            processor, inputs, max_new_tokens or config.one_pass_max_new_tokens, generate_kwargs
        )
        outputs = {}
        for position, (row, text) in enumerate(zip(rows, texts, strict=True)):
            evidence, answer = split_one_pass(text)
            letter = extract_option_letter(answer, options[row], config.option_letters) if options[row] else None
            input_ids = inputs["input_ids"][position][inputs["attention_mask"][position].bool()].cpu()
            prompt = stage_prompt(config, "one_pass", questions[row], options[row])
            outputs[row] = TwoStageOutput(evidence, answer, letter, prompt, prompt, input_ids)
        return outputs

    def save_pretrained(self, save_directory, *args, **kwargs):
        """``PreTrainedModel.save_pretrained``, with ``AutoModel`` in ``auto_map`` besides the image-text class.

        In-process registration maps ``AutoModel`` to this class too; without the entry,
        ``AutoModel.from_pretrained(path, trust_remote_code=True)`` fails on the saved checkpoint.
        """
        if self._auto_class is not None:
            module = type(self).__module__.rsplit(".", 1)[-1]
            auto_map = dict(getattr(self.config, "auto_map", None) or {})
            self.config.auto_map = {**auto_map, "AutoModel": f"{module}.{type(self).__name__}"}
        return super().save_pretrained(save_directory, *args, **kwargs)

    # The same method is in modeling_frame_selector.py (each file ships alone as remote code); test_remote_code.py keeps them equal.
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

    def answer(
        self,
        processor,
        video,
        question: str,
        options: Sequence[str] | None = None,
        *,
        timestamps: Sequence[float] | None = None,
        evidence: str | None = None,
        **kwargs,
    ) -> TwoStageOutput:
        """:meth:`generate_two_stage` for one clip ``(frames, height, width, 3)`` and one question.

        ``timestamps``: the seconds of its frames; ``evidence``: ground-truth evidence (skips stage 1).
        """
        return self.generate_two_stage(
            processor,
            [video],
            [question],
            [options],
            timestamps=[timestamps] if timestamps is not None else None,
            evidence=[evidence],
            **kwargs,
        )[0]


class VexLlavaReasonerForConditionalGeneration(TwoStageReasoningMixin, LlavaForConditionalGeneration):
    """LLaVA-NeXT-Interleave (the paper's backbone) with the two-stage evidence → answer inference."""

    config_class = VexLlavaReasonerConfig


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
    "VexLlavaReasonerForConditionalGeneration",
    "VexQwen2_5_VLReasonerForConditionalGeneration",
    "VexQwen3VLReasonerForConditionalGeneration",
    "build_stage_inputs",
    "decode_generated",
    "extract_option_letter",
    "format_options",
    "frame_bounds",
    "frame_timestamps",
    "save_frame_bounds",
    "split_one_pass",
    "stage_messages",
    "stage_prompt",
    "video_processor_inputs",
]

VexLlavaReasonerForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")
VexQwen2_5_VLReasonerForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")
VexQwen3VLReasonerForConditionalGeneration.register_for_auto_class("AutoModelForImageTextToText")

# Hub checkpoints of the base models (Qwen/Qwen2.5-VL-7B-Instruct, llava-hf/llava-interleave-qwen-7b-hf) store weights under the pre-5.0 key names
# ("model.layers.*", "visual.*"). transformers renames them by class name and skips classes defined outside
# transformers unless a mapping is registered for them: without this, fine-tuning from the base model would
# silently start from random weights. Checked first: the remote-code copy of this file registers too.
for _vex_class, _base_class in (
    (VexLlavaReasonerForConditionalGeneration, LlavaForConditionalGeneration),
    (VexQwen2_5_VLReasonerForConditionalGeneration, Qwen2_5_VLForConditionalGeneration),
    (VexQwen3VLReasonerForConditionalGeneration, Qwen3VLForConditionalGeneration),
):
    # transformers keys some mappings by class name (Qwen), others by model type ("llava")
    _mapping = get_checkpoint_conversion_mapping(_base_class.__name__) or get_checkpoint_conversion_mapping(
        _base_class.config_class.model_type
    )
    if _mapping is not None and get_checkpoint_conversion_mapping(_vex_class.__name__) is None:
        register_checkpoint_conversion_mapping(_vex_class.__name__, _mapping)
