"""Training samples of the two reasoner stages, built with the reasoner's own inference helpers.

The prompt part of a sample is *exactly* what inference feeds the model: the user text comes from
:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.stage_prompt` and the model inputs (chat
template, frame presentation, timestamps, processor resize) from
:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.stage_inputs`, the function
``generate_two_stage`` calls. Only the target — the assistant turn, as the chat template closes it —
is appended, and only its tokens carry labels (everything else is ``-100``). When the presentation
changes in ``models/``, training follows with no edit here.

Stage 1 ("evidence"): question (+ options when the row has them) → the row's evidence.
Stage 2 ("answer"): question (+ options) + the row's evidence → the row's answer (for multiple choice
the letter and text of the correct option, e.g. ``"(B) the dog"``, which is what the stage-2 suffix asks for).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from videoespresso_hf.models.reasoner.modeling_reasoner import stage_inputs, stage_prompt
from videoespresso_hf.training.rows import SkipLog, decode_core_frames

__all__ = ["STAGES", "ReasonerCollator", "SampleBuilder", "build_sample", "stage_target", "stage_user_prompt"]

IGNORE_INDEX = -100
# Stage number (CLI, output folders) → the stage name stage_prompt knows.
STAGES = {"1": "evidence", "2": "answer"}


def stage_target(config, row: Mapping[str, Any], stage: str, evidence_field: str) -> str:
    """The assistant text a row teaches in ``stage`` (``"1"``: evidence, ``"2"``: answer)."""
    if stage == "1":
        return str(row.get(evidence_field) or "").strip()
    options = row.get("options") or []
    letter = (row.get("correct_answer") or "").strip().strip("()")
    if options and letter and letter in config.option_letters[: len(options)]:
        return config.option_format.format(letter=letter, option=options[config.option_letters.index(letter)]).strip()
    return str(row.get("answer") or "").strip()


def stage_user_prompt(config, row: Mapping[str, Any], stage: str, evidence_field: str) -> str:
    """The user text of ``stage`` for a row (the same function inference uses)."""
    options = row.get("options") or None
    evidence = str(row.get(evidence_field) or "").strip()
    return stage_prompt(config, STAGES[stage], row["question"], options, evidence if stage == "2" else "")


def _assistant_suffix(processor, target: str) -> str:
    """The text the chat template writes after the generation prompt for an assistant turn ``target``."""
    user = [{"role": "user", "content": [{"type": "text", "text": "."}]}]
    prompt = processor.apply_chat_template(user, add_generation_prompt=True, tokenize=False)
    full = processor.apply_chat_template(
        [*user, {"role": "assistant", "content": [{"type": "text", "text": target}]}], tokenize=False
    )
    if not full.startswith(prompt):
        raise ValueError("the chat template does not close an assistant turn after its generation prompt")
    return full[len(prompt) :]


def build_sample(
    processor, config, row: Mapping[str, Any], stage: str, *, frame_size: int | None, max_length: int,
    evidence_field: str = "evidence_raw",
) -> dict[str, torch.Tensor]:  # fmt: skip
    """One training sample: inference inputs of the stage + target tokens, labels on the target only.

    Returns:
        ``input_ids``, ``attention_mask``, ``labels`` (1-D) and the vision tensors of the processor
        (``pixel_values_videos``, ``video_grid_thw``…) as the processor returns them for one clip.

    Raises:
        ValueError / VideoError: the frames cannot be decoded or the prompt alone exceeds ``max_length``.
    """
    clip = decode_core_frames(row, frame_size)
    prompt = stage_user_prompt(config, row, stage, evidence_field)
    inputs = stage_inputs(processor, config, [clip.frames], [prompt], [clip.metadata])
    prompt_ids = inputs["input_ids"][0]
    if len(prompt_ids) >= max_length:
        raise ValueError(f"prompt of {len(prompt_ids)} tokens leaves no room for the target (max {max_length})")
    suffix = _assistant_suffix(processor, stage_target(config, row, stage, evidence_field))
    target_ids = torch.tensor(processor.tokenizer(suffix, add_special_tokens=False)["input_ids"], dtype=torch.long)
    target_ids = target_ids[: max_length - len(prompt_ids)]  # keep the start: the frames are never cut
    sample = {
        "input_ids": torch.cat([prompt_ids, target_ids]),
        "labels": torch.cat([torch.full_like(prompt_ids, IGNORE_INDEX), target_ids]),
    }
    for key, value in inputs.items():
        if key == "input_ids":
            continue
        if value.dim() == 2 and value.shape == inputs["input_ids"].shape:  # per-token (mask, token types)
            fill = 1 if key == "attention_mask" else 0
            sample[key] = torch.cat([value[0], torch.full_like(target_ids, fill)])
        else:  # vision tensors: one entry per clip or per patch, concatenated along dim 0 in a batch
            sample[key] = value
    return sample


class SampleBuilder:
    """``datasets`` transform: a row position → the training sample of one stage, decoded on access.

    Used as ``rows.select(...).with_transform(builder)`` on a dataset of positions, so TRL gets a
    ``datasets.Dataset`` and decoding happens in the DataLoader workers. A row whose frames fail to
    decode mid-run (after passing the header check) is logged in the skip log and replaced by the next
    usable row, so that batches stay full and the step count stays as planned.
    """

    def __init__(
        self, rows, positions: Sequence[int], processor, config, stage: str, *, frame_size: int | None,
        max_length: int, evidence_field: str, skip_log: SkipLog,
    ):  # fmt: skip
        self.rows = rows
        self.positions = list(positions)
        self.processor = processor
        self.config = config
        self.stage = stage
        self.frame_size = frame_size
        self.max_length = max_length
        self.evidence_field = evidence_field
        self.skip_log = skip_log

    def sample(self, index: int) -> dict[str, torch.Tensor]:
        for attempt in range(len(self.positions)):
            row = self.rows[self.positions[(index + attempt) % len(self.positions)]]
            try:
                return build_sample(
                    self.processor, self.config, row, self.stage, frame_size=self.frame_size,
                    max_length=self.max_length, evidence_field=self.evidence_field,
                )  # fmt: skip
            except ValueError as error:  # VideoError is a ValueError
                self.skip_log.add(str(row.get("id")), f"at decode: {str(error).splitlines()[0]}", self.stage)
        raise RuntimeError("no row of the dataset could be decoded; see the skipped-rows log")

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        samples = [self.sample(index) for index in batch["sample"]]
        return {key: [sample[key] for sample in samples] for key in samples[0]}

    def dataset(self):
        """A ``datasets.Dataset`` with one item per usable row, built by this transform on access."""
        import datasets

        return datasets.Dataset.from_dict({"sample": list(range(len(self.positions)))}).with_transform(self)


class ReasonerCollator:
    """Right-pads token tensors (``pad_token_id`` / 0 / ``-100``) and concatenates vision tensors."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, samples: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        length = max(len(sample["input_ids"]) for sample in samples)
        batch: dict[str, torch.Tensor] = {}
        for key in samples[0]:
            values = [sample[key] for sample in samples]
            # Per-token tensors have the sample's length (> 1); vision tensors are per clip or per patch.
            if values[0].dim() == 1 and len(values[0]) == len(samples[0]["input_ids"]):
                fill = {"input_ids": self.pad_token_id, "labels": IGNORE_INDEX}.get(key, 0)
                batch[key] = torch.stack(
                    [torch.cat([value, value.new_full((length - len(value),), fill)]) for value in values]
                )
            else:
                batch[key] = torch.cat(values, dim=0)
        return batch
