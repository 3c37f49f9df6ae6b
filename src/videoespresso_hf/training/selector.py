"""Supervised training of the Frame Selector's chooser on annotated core frames.

>>> from videoespresso_hf.training import SelectorTrainingArguments, train_selector
>>> train_selector(SelectorTrainingArguments(model="path/to/selector", data="prepared/", output_dir="out/"))  # doctest: +SKIP

For each row, candidates are the frames the selector itself would consider at inference
(:func:`~videoespresso_hf.models.strategies.candidate_indices` at the config's ``candidate_fps`` and
``max_candidates``, the rule :class:`~videoespresso_hf.models.hybrid.HybridVideoQA` samples by); a candidate is a positive when
it is the candidate nearest in time to one of the row's annotated core frames. Each candidate is
captioned once by the selector's own captioner and cached on disk (:class:`CaptionCache`); rows that
carry every candidate's caption (``metadata["frame_captions"]``: ``{frame_index: caption}``) need no
captioner. The chooser is trained with the binary cross-entropy of
:meth:`VexFrameSelectorModel.forward`; the captioner stays frozen. The output folder is a complete
selector: ``AutoModel.from_pretrained(OUT)`` selects with the trained chooser.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from videoespresso_hf.errors import first_line
from videoespresso_hf.files import cache_dir
from videoespresso_hf.training.arguments import SelectorTrainingArguments, arguments_from
from videoespresso_hf.training.caption_cache import CaptionCache, captioner_key
from videoespresso_hf.training.cards import logged_losses, push_folder, write_training_record
from videoespresso_hf.training.results import (
    SelectorTrainingResult,
    metrics_table,
    read_metrics,
    skipped_rows_line,
)
from videoespresso_hf.training.rows import SkipLog, check_rows, core_frame_times, load_rows, video_file
from videoespresso_hf.training.startup import log_as_table, start_training

if TYPE_CHECKING:
    from transformers import TrainerCallback

__all__ = ["SelectorItem", "build_selector_items", "label_agreement", "train_selector"]

@dataclass
class SelectorItem:
    """One row as the chooser sees it: the question and every candidate with its caption and label."""

    row_id: str
    question: str
    frame_indices: list[int]
    timestamps: list[float]
    captions: list[str]
    labels: list[int]


def _core_labels(candidate_times: list[float], core_times: list[float]) -> list[int]:
    labels = [0] * len(candidate_times)
    for time in core_times:
        labels[int(np.argmin([abs(candidate - time) for candidate in candidate_times]))] = 1
    return labels


def _row_captions(row) -> dict[int, str]:
    try:
        metadata = json.loads(row.get("metadata") or "{}")
    except ValueError:
        return {}
    return {int(index): str(text) for index, text in (metadata.get("frame_captions") or {}).items()}


def build_selector_items(rows, positions, model, processor, cache: CaptionCache, batch_size: int = 8) -> list[SelectorItem]:
    """Candidates, cached captions and labels of the given rows (captions computed only when missing)."""
    from videoespresso_hf.models.strategies import candidate_indices
    from videoespresso_hf.video import VideoReader

    items = []
    for position in positions:
        row = rows[position]
        path = video_file(row)
        with VideoReader(path) as reader:
            indices = candidate_indices(
                reader.num_frames, reader.metadata.fps, model.config.candidate_fps, model.config.max_candidates
            )
            times = [float(t) for t in reader.frame_timestamps[indices]]
            given = _row_captions(row)
            if all(index in given for index in indices):
                captions = [given[index] for index in indices]
            else:
                captions = cache.captions(
                    path, indices,
                    lambda missing, reader=reader: model.caption_frames(processor, reader.get_frames(missing), batch_size),
                )  # fmt: skip
        labels = _core_labels(times, core_frame_times(row))
        items.append(SelectorItem(str(row["id"]), row["question"], indices, times, captions, labels))
    return items


def label_agreement(model, processor, items: list[SelectorItem]) -> float:
    """Mean Jaccard overlap of the frames the selector chooses and the labelled core frames (0..1)."""
    overlaps = []
    for item in items:
        selection = model.select(
            processor, None, item.question, frame_indices=item.frame_indices, timestamps=item.timestamps,
            captions=item.captions,
        )  # fmt: skip
        chosen = set(selection.indices)
        wanted = {index for index, label in zip(item.frame_indices, item.labels, strict=True) if label}
        overlaps.append(len(chosen & wanted) / len(chosen | wanted))
    return float(np.mean(overlaps)) if overlaps else 0.0


def chooser_examples(items: list[SelectorItem], balance_labels: bool):
    """One ``{"question", "caption", "timestamp", "label"}`` example per candidate, positives repeated
    ``negatives // positives`` times when ``balance_labels``."""
    import datasets

    examples = [
        {"question": item.question, "caption": caption, "timestamp": time, "label": label}
        for item in items
        for caption, time, label in zip(item.captions, item.timestamps, item.labels, strict=True)
    ]
    positives = sum(example["label"] for example in examples)
    if balance_labels and positives:
        repeat = max(1, (len(examples) - positives) // positives)
        examples = [copy for example in examples for copy in [example] * (repeat if example["label"] else 1)]
    return datasets.Dataset.from_list(examples)


class ChooserCollator:
    """(question, caption, timestamp, label) examples → left-padded chooser prompts + float labels."""

    def __init__(self, model, tokenizer):
        self.model = model
        self.tokenizer = tokenizer

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        inputs = self.model.chooser_inputs(
            self.tokenizer,
            [example["question"] for example in examples],
            [example["caption"] for example in examples],
            [example["timestamp"] for example in examples],
        )
        inputs["labels"] = torch.tensor([float(example["label"]) for example in examples])
        return inputs


def load_selector(arguments: SelectorTrainingArguments):
    """The selector to train (a saved one, or assembled from ``captioner_id`` + ``chooser_id``) and its processor.

    A saved selector is loaded by :func:`videoespresso_hf.models.hybrid.load_selector`, the loader inference
    uses (it refuses, from its config, a checkpoint that is not a selector).
    """
    from videoespresso_hf.models.frame_selector.modeling_frame_selector import VexFrameSelectorModel
    from videoespresso_hf.models.frame_selector.processing_frame_selector import VexFrameSelectorProcessor
    from videoespresso_hf.models.hybrid import load_selector as load_saved_selector

    components = arguments.model == "components"
    name = f"{arguments.captioner_id} + {arguments.chooser_id}" if components else arguments.model
    try:
        if components:
            model = VexFrameSelectorModel.from_components(arguments.captioner_id, arguments.chooser_id)
            processor = VexFrameSelectorProcessor.from_components(arguments.captioner_id, arguments.chooser_id)
        else:
            hub = {"trust_remote_code": arguments.trust_remote_code}
            model, processor = load_saved_selector(arguments.model, hub, hub)
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot load the selector {name}: {first_line(error)}") from error
    return model, processor


def train_selector(
    arguments: SelectorTrainingArguments | None = None,
    /,
    *,
    callbacks: Sequence[TrainerCallback] | None = None,
    **settings: Any,
) -> SelectorTrainingResult:
    """Train the chooser of a frame selector on the annotated core frames of a prepared config.

    >>> train_selector(model="components", data="prepared/", config="train_video", output_dir="runs/selector")  # doctest: +SKIP

    Args:
        arguments: the settings as a :class:`SelectorTrainingArguments`, or
        **settings: its fields as keyword arguments (not both).
        callbacks: extra ``transformers.TrainerCallback`` objects (notebooks, monitoring).

    Returns:
        the trained selector's folder, its label agreement on the training rows, the caption-cache counts and the
        run's metrics (:class:`~videoespresso_hf.training.results.SelectorTrainingResult`).

    Raises:
        ValueError: bad settings, data without a usable row, or an unloadable selector (one-line messages), raised
            before any training step.
    """
    from transformers import Trainer, TrainingArguments
    from transformers.trainer_utils import get_last_checkpoint

    arguments = arguments_from(SelectorTrainingArguments, arguments, settings)
    run = start_training(arguments, "videoespresso train selector — settings")
    state, output, skip_log, accumulation = run.state, run.output, run.skip_log, run.accumulation
    rows = load_rows(arguments.data, arguments.config, arguments.split, arguments.max_rows)  # before minutes of loading
    model, processor = load_selector(arguments)
    for parameter in model.captioner.parameters():
        parameter.requires_grad_(False)
    for name in ("candidate_fps", "max_candidates"):
        if getattr(arguments, name) is not None:
            setattr(model.config, name, getattr(arguments, name))
    tokenizer = processor.chooser_tokenizer
    model.set_answer_tokens(tokenizer)

    check_log = SkipLog(skip_log.path, enabled=state.is_main_process)
    positions, reasons = check_rows(rows, ("question",), check_log, "selector", require_video=True)
    skipped = skipped_rows_line(sum(reasons.values()), skip_log.path, reasons)
    if not positions:
        raise ValueError(f"no usable row in {arguments.data} ({arguments.config}): {skipped}")
    cache_root = arguments.caption_cache_dir or str(cache_dir("captions"))
    cache = CaptionCache(cache_root, captioner_key(model.config))
    with state.main_process_first():  # the main process captions; the others read its cache
        items = build_selector_items(rows, positions, model, processor, cache, arguments.caption_batch_size)
    if state.is_main_process:
        print(f"selector: {len(items)} rows, {sum(len(i.labels) for i in items)} candidates "
              f"({cache.computed} captions computed, {cache.reused} from the cache in {cache.folder}); {skipped}")  # fmt: skip
    examples = chooser_examples(items, arguments.balance_labels)
    trainer = Trainer(
        model=model,
        args=TrainingArguments(**arguments.trainer_settings(output, arguments.learning_rate, accumulation)),
        train_dataset=examples,
        data_collator=ChooserCollator(model, tokenizer),
        callbacks=list(callbacks or []),
    )
    log_as_table(trainer)
    last_checkpoint = get_last_checkpoint(str(output)) if output.is_dir() else None
    if last_checkpoint and state.is_main_process:
        print(f"selector: resuming from {last_checkpoint}")
    result = trainer.train(resume_from_checkpoint=last_checkpoint)
    model.eval()
    agreement = label_agreement(model, processor, items)
    trainer.save_model(str(output))
    if trainer.is_world_process_zero():
        processor.save_pretrained(str(output))
        summary = {
            "global_step": trainer.state.global_step,
            "train_rows": len(items),
            "skipped_rows": dict(reasons),
            "losses": logged_losses(trainer.state.log_history),
            "train_loss": result.training_loss,
            "label_agreement_on_training_rows": agreement,
            "effective_batch_size": arguments.effective_batch_size,
            "gradient_accumulation_steps": accumulation,
            "world_size": state.num_processes,
            "learning_rate": arguments.learning_rate,
            "arguments": asdict(arguments),
        }
        base = arguments.model if arguments.model != "components" else arguments.chooser_id
        write_training_record(output, kind="selector", base_model=base, summary=summary)
        if arguments.push_to_hub:
            url = push_folder(output, arguments.push_to_hub, "videoespresso train selector")
            print(f"pushed {output} to {url}")
    state.wait_for_everyone()
    count = sum(reasons.values())
    metrics = read_metrics(output)
    table = metrics_table({"selector": metrics})
    summary = f"done: {output}; {skipped}" + (f"\n{table}" if table else "")
    return SelectorTrainingResult(
        output_dir=output, label_agreement=agreement, captions_computed=cache.computed, captions_reused=cache.reused,
        metrics=metrics, skipped_rows=count, skipped_rows_file=skip_log.path if count else None,
        summary=summary if state.is_main_process else "",  # printed once under accelerate launch
    )  # fmt: skip
