"""GRPO on native video for the Qwen families: trl's ``GRPOTrainer`` with each row's video in every forward.

Why a subclass (``shared/spec/rl-video.md`` §1): trl 1.16 knows only ``image`` / ``images`` columns. A prompt with a
``{"type": "video"}`` part trains "successfully" while the policy gradient never sees the video: the loss forward is
built from images only, and ``_get_per_token_logps_and_entropies`` passes on image tensors only. The frames-as-images
presentation (:mod:`videoespresso_hf.training.grpo`, the default) needs no override; this one is for a reasoner whose
config says ``frame_presentation="video"`` (fewer visual tokens: Qwen merges two consecutive frames per temporal patch).

What a dataset row gives (the row builder fills it with
:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.video_processor_inputs`, the rule ``build_stage_inputs``
uses, so what RL trains is what inference sends): ``prompt`` (conversational, with one ``{"type": "video"}`` part)
and ``video``, the processor arguments of the row's clip: ``videos`` (uint8 frames ``(T, H, W, 3)``),
``video_metadata`` (``{"total_num_frames", "fps", "frames_indices"}``: the frames' times, which Qwen2.5-VL turns into
``second_per_grid_ts`` and Qwen3-VL writes as text), ``do_sample_frames=False`` and ``videos_kwargs`` (the pixel
``size`` bound of the clip). Each row is processed on its own — its own metadata and size — by
:func:`video_prompt_inputs`.

The overrides, each as small as it can be, and why it exists (the trl signatures they rely on are
:data:`TRL_CONTRACT`, checked by a test; :func:`videoespresso_hf.training.grpo.check_trl_version` refuses a trl
outside the tested range):

* ``__init__``: refuses vLLM / continuous-batching rollouts (:func:`check_video_rollouts`: they send no video) when
  the trainer is built, for a caller other than ``train_rl`` (which refuses them before any model loads).

* ``_generate_and_score_completions``: processes each row's video once, makes the result visible to generation and
  to the no-grad forwards trl runs inside this method (reference and old-policy log-probs), and returns the rows'
  video tensors as ``videos``, a *per-row list*: trl's ``shuffle_sequence_dict`` and ``split_tensor_dict`` permute
  and slice a list with the other per-row fields, so each completion keeps its own video through shuffling and
  gradient accumulation (pixels of clips with different frame counts cannot be one tensor split by rows).
* ``_tokenize_prompts``: the generation inputs. trl renders a batch with one ``apply_chat_template`` call, which has
  no per-row video metadata or size; here each row's processed prompt is handed to ``generate`` instead.
* ``_get_per_token_logps_and_entropies``: adds, per chunk of rows, their concatenated ``pixel_values_videos``,
  ``video_grid_thw`` (and ``second_per_grid_ts`` where the family has it) and ``mm_token_type_ids`` (2 on video
  tokens: without it Qwen's M-RoPE positions drift, 1.6e-3 in the log-probs) to the model call; trl's own code does
  the rest (labels, fused head, entropies).
* ``compute_loss`` (public): makes the slice's ``videos`` visible to the loss forward, which trl's ``_compute_loss``
  builds from image keys only.

Generation must never sample a video or image pad token (a sampled ``<|video_pad|>`` makes the loss forward fail):
:func:`videoespresso_hf.training.grpo.generation_suppress_ids` gives both to ``generation_kwargs``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from trl import GRPOTrainer

if TYPE_CHECKING:
    from transformers import BatchFeature, PretrainedConfig, ProcessorMixin

__all__ = ["TRL_CONTRACT", "VIDEO_KEYS", "VideoGRPOTrainer", "check_video_rollouts", "mm_token_type_ids_for",
           "video_prompt_inputs"]

# The per-row visual tensors the Qwen families' forward takes for a video (second_per_grid_ts: Qwen2.5-VL only).
VIDEO_KEYS = ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")

# trl method → the leading parameter names the overrides rely on (tests/training/test_grpo_video.py checks them
# against the installed trl).
TRL_CONTRACT: dict[str, tuple[str, ...]] = {
    "__init__": ("self", "model", "reward_funcs", "args"),  # then reads self.use_vllm / use_transformers_continuous_batching
    "_generate_and_score_completions": ("self", "inputs"),
    "_tokenize_prompts": ("self", "prompts"),
    "_get_per_token_logps_and_entropies": ("self", "model", "input_ids", "attention_mask", "logits_to_keep",
                                           "batch_size", "compute_entropy", "compute_aux_loss"),
    "compute_loss": ("self", "model", "inputs", "return_outputs", "num_items_in_batch"),
}


def video_prompt_inputs(processor: ProcessorMixin, example: Mapping[str, Any], chat_template: str | None = None,
                        **template_kwargs) -> BatchFeature:  # fmt: skip
    """One row's prompt inputs (``input_ids``, ``mm_token_type_ids``, the video tensors), processed on its own as
    ``build_stage_inputs`` does: the chat template over the prompt, then the processor with the row's ``video``
    column, the processor arguments of :func:`~videoespresso_hf.models.reasoner.modeling_reasoner.
    video_processor_inputs` (frames, their metadata, no resampling, the clip's size bound)."""
    text = processor.apply_chat_template(example["prompt"], chat_template=chat_template, add_generation_prompt=True,
                                         tokenize=False, **template_kwargs)  # fmt: skip
    return processor(text=[text], return_tensors="pt", **example["video"])


def check_video_rollouts(settings: Mapping[str, Any]) -> None:
    """Refuse (one line) trainer settings whose rollouts cannot take a video: trl 1.16's vLLM and transformers
    continuous-batching paths send token ids only, so GRPO would train on rollouts generated without the video.
    ``settings``: the ``GRPOConfig`` fields (or the ``trainer_overrides`` that will set them)."""
    chosen = [name for name in ("use_vllm", "use_transformers_continuous_batching") if settings.get(name)]
    if chosen:
        raise ValueError(f"native-video GRPO generates with model.generate: unset {' / '.join(chosen)} (trl 1.16 "
                         "sends them no video)")


def mm_token_type_ids_for(input_ids: torch.Tensor, config: PretrainedConfig) -> torch.Tensor:
    """Qwen's ``mm_token_type_ids`` of a prompt + completion: 1 on image pads, 2 on video pads, 0 elsewhere."""
    types = torch.zeros_like(input_ids)
    for name, value in (("image_token_id", 1), ("video_token_id", 2)):
        token = getattr(config, name, None)
        if token is not None:
            types[input_ids == token] = value
    return types


class VideoGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` for rows with a ``video`` (see the module docstring); rows without one train as in trl."""

    # While a rollout runs: each row's processed prompt (generation) and video tensors (the no-grad forwards).
    _rollout_prompts: list | None = None
    _videos: list[dict[str, torch.Tensor]] | None = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_video_rollouts({"use_vllm": self.use_vllm,  # train_rl refused them before loading; a direct caller here
                              "use_transformers_continuous_batching": self.use_transformers_continuous_batching})

    def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
        if not inputs or "video" not in inputs[0]:
            return super()._generate_and_score_completions(inputs)
        prompts = [video_prompt_inputs(self.processing_class, example, self.chat_template, **self.chat_template_kwargs)
                   for example in inputs]  # fmt: skip
        videos = [{key: row[key] for key in VIDEO_KEYS if key in row} for row in prompts]
        self._rollout_prompts, self._videos = prompts, videos
        try:
            output = super()._generate_and_score_completions(inputs)
        finally:
            self._rollout_prompts = self._videos = None
        output["videos"] = videos  # per row: shuffled and split with the other per-row fields
        return output

    def _tokenize_prompts(self, prompts: list):
        if self._rollout_prompts is None:
            return super()._tokenize_prompts(prompts)
        rows = self._rollout_prompts
        if len(rows) != len(prompts):
            raise RuntimeError(f"{len(prompts)} prompts to generate from, {len(rows)} processed video rows")
        fields: dict[str, Any] = {key: torch.cat([row[key] for row in rows]) for key in VIDEO_KEYS if key in rows[0]}
        if "mm_token_type_ids" in rows[0]:  # per token: trl left-pads it like the prompt ids
            fields["mm_token_type_ids"] = [row["mm_token_type_ids"][0].tolist() for row in rows]
        return [row["input_ids"][0].tolist() for row in rows], None, fields

    def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None,
                                           compute_entropy=False, compute_aux_loss=False, *,
                                           videos: Sequence[Mapping[str, torch.Tensor]] | None = None, **kwargs):  # fmt: skip
        """trl's method; with ``videos`` (one entry per row of ``input_ids``; default: those of the running rollout or
        loss step) each chunk's video tensors and ``mm_token_type_ids`` go to the model call."""
        videos = videos if videos is not None else self._videos
        if videos is None:
            return super()._get_per_token_logps_and_entropies(model, input_ids, attention_mask, logits_to_keep,
                                                              batch_size, compute_entropy, compute_aux_loss, **kwargs)  # fmt: skip
        if len(videos) != input_ids.size(0):
            raise RuntimeError(f"{input_ids.size(0)} sequences but {len(videos)} videos: rows and videos are misaligned")
        kwargs.pop("mm_token_type_ids", None)  # rebuilt over prompt + completion below
        types = mm_token_type_ids_for(input_ids, self.accelerator.unwrap_model(model).config)
        batch_size = batch_size or input_ids.size(0)
        logps, entropies, aux_losses = [], [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            chunk = videos[start:end]
            tensors = {key: torch.cat([row[key] for row in chunk]).to(input_ids.device) for key in chunk[0]}
            chunk_logps, chunk_entropies, chunk_aux = super()._get_per_token_logps_and_entropies(
                functools.partial(model, **tensors), input_ids[start:end], attention_mask[start:end], logits_to_keep,
                None, compute_entropy, compute_aux_loss, mm_token_type_ids=types[start:end], **kwargs,
            )  # fmt: skip
            logps.append(chunk_logps)
            entropies.append(chunk_entropies)
            aux_losses.append(chunk_aux)
        return (torch.cat(logps), torch.cat(entropies) if compute_entropy else None,
                torch.stack(aux_losses).mean() if compute_aux_loss else None)  # fmt: skip

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        self._videos = inputs.get("videos")
        try:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        finally:
            self._videos = None
