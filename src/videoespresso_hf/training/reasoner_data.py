"""Training samples of the two reasoner stages, built by the reasoner's own inference helper.

A sample is *exactly* what inference feeds the model plus the target:
:func:`~videoespresso_hf.models.reasoner.modeling_reasoner.build_stage_inputs` — the function
``generate_two_stage`` calls for both stages — renders the frames (presentation, labels, timestamps,
per-frame pixel bounds of the config) and the stage prompt, and with ``targets`` closes the assistant turn
with the chat template and sets ``labels`` on the target tokens only (``-100`` elsewhere). When the
presentation changes in ``models/``, training follows with no edit here.

Resolution (Table 8: 224-px frames): frames are decoded at their native size, as inference decodes them,
and :func:`apply_frame_size` writes the 224-px budget into the config's ``min_pixels``/``max_pixels``, the
bounds the helper applies; the merged checkpoint keeps them, so inference resizes frames as training did.

Stage 1 ("evidence"): question (+ options when the row has them) → the row's evidence.
Stage 2 ("answer"): question (+ options) + the row's evidence → the row's answer (for multiple choice
the letter and text of the correct option, e.g. ``"(B) the dog"``, which is what the stage-2 suffix asks for).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from videoespresso_hf.errors import first_line
from videoespresso_hf.models.reasoner.modeling_reasoner import build_stage_inputs, stage_prompt
from videoespresso_hf.training.rows import SkipLog, decode_core_frames

__all__ = [
    "STAGES",
    "ReasonerCollator",
    "SampleBuilder",
    "apply_frame_size",
    "build_sample",
    "stage_target",
    "stage_user_prompt",
]

IGNORE_INDEX = -100
# Stage number (CLI, output folders) → the stage name stage_prompt knows.
STAGES = {"1": "evidence", "2": "answer"}


def apply_frame_size(config, frame_size: int | None) -> None:
    """Bound every frame to the pixels of a ``frame_size``-px square (``min_pixels = max_pixels =
    frame_size²``), in place.

    Table 8 trains on 224-px frames; the config's per-frame bounds are how the reasoner's input helper
    (training and inference alike) sizes frames, so the rule goes there instead of into a training-only
    resize. The pixel count of a square rather than a longest side: Qwen's processors bound area, and
    every frame then costs what the paper-scale plan counts (64 merged tokens for Qwen2.5-VL at 224 px).
    A family whose processor resizes to a fixed input size has no bounds (LLaVA-NeXT-Interleave: SigLIP
    at 384 px) and is left unchanged; ``frame_size=None`` keeps the config's bounds.
    """
    if not frame_size or type(config).max_pixels is None:
        return
    config.min_pixels = config.max_pixels = frame_size * frame_size


def stage_target(config, row: Mapping[str, Any], stage: str, evidence_field: str) -> str:
    """The assistant text a row teaches in ``stage`` (``"1"``: evidence, ``"2"``: answer)."""
    if stage == "1":
        return str(row.get(evidence_field) or "").strip()
    options = row.get("options") or []
    letter = (row.get("correct_answer") or "").strip().strip("()")
    if options and letter and letter in config.option_letters[: len(options)]:
        return config.option_format.format(letter=letter, option=options[config.option_letters.index(letter)]).strip()
    return str(row.get("answer") or "").strip()


def _stage_evidence(row: Mapping[str, Any], stage: str, evidence_field: str) -> str:
    return str(row.get(evidence_field) or "").strip() if stage == "2" else ""


def stage_user_prompt(config, row: Mapping[str, Any], stage: str, evidence_field: str) -> str:
    """The user text of ``stage`` for a row (the same function inference uses)."""
    options = row.get("options") or None
    return stage_prompt(config, STAGES[stage], row["question"], options, _stage_evidence(row, stage, evidence_field))


def build_sample(
    processor, config, row: Mapping[str, Any], stage: str, *, max_length: int, evidence_field: str = "evidence_raw",
) -> dict[str, torch.Tensor]:  # fmt: skip
    """One training sample: the inference inputs of the stage + the target tokens, labels on the target only.

    Returns:
        ``input_ids``, ``attention_mask``, ``labels`` (1-D) and the vision tensors of the processor
        (``pixel_values``, ``image_grid_thw``…) as it returns them for one example.

    Raises:
        ValueError / VideoError: the frames cannot be decoded or the prompt alone exceeds ``max_length``.
    """
    clip = decode_core_frames(row)
    inputs = build_stage_inputs(
        config,
        processor,
        STAGES[stage],
        [clip.frames],
        [row["question"]],
        [row.get("options") or None],
        [_stage_evidence(row, stage, evidence_field)],
        video_metadata=[clip.metadata],
        targets=[stage_target(config, row, stage, evidence_field)],
        padding_side="right",
    )
    prompt_length = int((inputs["labels"][0] == IGNORE_INDEX).sum())
    if prompt_length >= max_length:
        raise ValueError(f"prompt of {prompt_length} tokens leaves no room for the target (max {max_length})")
    length = inputs["input_ids"].shape[1]
    sample = {}
    for key, value in inputs.items():
        if value.dim() == 2 and value.shape[1] == length and value.shape[0] == 1:  # per-token: ids, mask, labels
            sample[key] = value[0, :max_length]  # keep the start: the frames are never cut, the target may be
        else:  # vision tensors: one entry per image/clip or per patch, concatenated along dim 0 in a batch
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
        self, rows, positions: Sequence[int], processor, config, stage: str, *, max_length: int,
        evidence_field: str, skip_log: SkipLog,
    ):  # fmt: skip
        self.rows = rows
        self.positions = list(positions)
        self.processor = processor
        self.config = config
        self.stage = stage
        self.max_length = max_length
        self.evidence_field = evidence_field
        self.skip_log = skip_log

    def sample(self, index: int) -> dict[str, torch.Tensor]:
        for attempt in range(len(self.positions)):
            row = self.rows[self.positions[(index + attempt) % len(self.positions)]]
            try:
                return build_sample(
                    self.processor, self.config, row, self.stage, max_length=self.max_length,
                    evidence_field=self.evidence_field,
                )  # fmt: skip
            except ValueError as error:  # VideoError is a ValueError
                self.skip_log.add(str(row.get("id")), f"at decode: {first_line(error)}", self.stage)
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
