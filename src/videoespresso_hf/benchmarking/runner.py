"""The prediction loop: items not yet in the file → frames → model → one appended line each.

The data path (checking the video, decoding frames) of the next batch runs in a background thread
while the model works on the current one (``overlap=True``), so the GPU does not wait on PyAV.
Nothing is dropped: an item whose video is missing or cannot be decoded, or whose model call
fails, is written as a failure record (``model_output: null`` and ``error``), which ``score`` counts
as unanswered.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.benchmarking.backends import Backend, Outcome, Request
from videoespresso_hf.benchmarking.frames import FrameSampler
from videoespresso_hf.benchmarking.items import BenchItem
from videoespresso_hf.benchmarking.prompts import render_prompt
from videoespresso_hf.benchmarking.store import PredictionStore
from videoespresso_hf.errors import one_line
from videoespresso_hf.video import VideoError, probe

__all__ = ["RunSummary", "prediction_record", "run_predictions"]


@dataclass
class RunSummary:
    """What one invocation did (items already in the file are ``skipped``, not redone)."""

    items: int = 0
    skipped: int = 0
    written: int = 0
    failures: int = 0
    seconds: float = 0.0
    decode_seconds: float = 0.0
    model_seconds: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    failure_reasons: Counter = field(default_factory=Counter)

    @property
    def items_per_second(self) -> float:
        return self.written / self.seconds if self.seconds else 0.0

    def add(self, outcome: Outcome) -> None:
        """Count one written record: its tokens and cost, and, for a failure, the kind of failure (the text
        before the first colon, e.g. ``missing video``)."""
        self.written += 1
        self.input_tokens += outcome.input_tokens
        self.output_tokens += outcome.output_tokens
        self.cost_usd += outcome.cost_usd
        if outcome.error is not None:
            self.failures += 1
            self.failure_reasons[outcome.error.split(":")[0]] += 1


@dataclass
class _Prepared:
    item: BenchItem
    request: Request | None
    error: str | None
    frames: dict[str, Any] | None = None


def prediction_record(item: BenchItem, outcome: Outcome, frames: dict[str, Any] | None, rule: str) -> dict[str, Any]:
    """The released record plus ``model_output`` (``None`` on failure, with ``error``), evidence and frames."""
    record = {**item.record, "model_output": outcome.output}
    if outcome.evidence is not None:
        record["model_evidence"] = outcome.evidence  # `evidence` stays the reference (the judge reads it)
    chosen = outcome.frames or frames
    if chosen is not None:
        record["frames"] = {"rule": rule, **chosen}
    if outcome.error is not None:
        record["model_output"] = None
        record["error"] = outcome.error
    return record


def _missing_video_reason(item: BenchItem) -> str | None:
    if item.video_problem:
        return f"missing video: {item.video_problem}"
    if item.video is None:
        return "missing video: the dataset row has no video (prepared with --missing-videos keep?)"
    if not Path(item.video).is_file():
        return f"missing video: {item.video}"
    return None


class _DataPath:
    """Turns items into requests: checks the video, decodes frames (or only probes, for the hybrid)."""

    def __init__(self, backend: Backend, sampler: FrameSampler, prompt_name: str, options_in_prompt: bool) -> None:
        self.backend, self.sampler = backend, sampler
        self.prompt_name, self.options_in_prompt = prompt_name, options_in_prompt
        self.seconds = 0.0

    def prepare(self, item: BenchItem) -> _Prepared:
        reason = _missing_video_reason(item)
        if reason is not None:
            return _Prepared(item, None, reason)
        prompt = render_prompt(self.prompt_name, task=item.task, question=item.question,
                               options=item.options if self.options_in_prompt else ())  # fmt: skip
        try:
            if not self.backend.decodes_frames:
                probe(item.video)  # the hybrid decodes itself; a bad file must not sink its batch
                return _Prepared(item, Request(item, prompt), None)
            frames = self.sampler.sample(item.video, item.question)
        except (VideoError, ValueError, OSError) as error:
            return _Prepared(item, None, f"decode error: {one_line(error)}")
        return _Prepared(item, Request(item, prompt, frames), None, frames.summary())

    def prepare_batch(self, batch: Sequence[BenchItem]) -> list[_Prepared]:
        started = time.perf_counter()
        prepared = [self.prepare(item) for item in batch]
        self.seconds += time.perf_counter() - started
        return prepared


def run_predictions(
    items: Sequence[BenchItem],
    backend: Backend,
    sampler: FrameSampler,
    store: PredictionStore,
    *,
    prompt_name: str,
    open_ended: bool = False,
    batch_size: int = 1,
    overlap: bool = True,
    progress: bool | Callable[[int, int], None] = True,
) -> RunSummary:
    """Predict every item not yet in ``store``, appending one record per item in dataset order.

    Args:
        progress: ``True`` for a tqdm bar (items/s, ETA), ``False``, or a callback ``(done, total)``.
    """
    summary = RunSummary(items=len(items))
    todo = [item for item in items if item.id not in store.finished]
    summary.skipped = len(items) - len(todo)
    batches = [todo[start : start + batch_size] for start in range(0, len(todo), batch_size)]
    data_path = _DataPath(backend, sampler, prompt_name, options_in_prompt=not open_ended)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), unit="item", desc=f"predict {backend.identity.get('model', '')}"[:60], smoothing=0.1)
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict-data") as pool:
            upcoming = pool.submit(data_path.prepare_batch, batches[0]) if batches and overlap else None
            for position, batch in enumerate(batches):
                if overlap:
                    prepared = upcoming.result()
                    if position + 1 < len(batches):
                        upcoming = pool.submit(data_path.prepare_batch, batches[position + 1])
                else:
                    prepared = data_path.prepare_batch(batch)
                ready = [entry for entry in prepared if entry.request is not None]
                model_started = time.perf_counter()
                outcomes = iter(backend.predict([entry.request for entry in ready]) if ready else [])
                summary.model_seconds += time.perf_counter() - model_started
                for entry in prepared:
                    outcome = next(outcomes) if entry.request is not None else Outcome(error=entry.error)
                    store.append(prediction_record(entry.item, outcome, entry.frames, sampler.rule.spec))
                    summary.add(outcome)
                if bar is not None:
                    bar.update(len(batch))
                    bar.set_postfix(failures=summary.failures, refresh=False)
                elif callable(progress):
                    progress(summary.written, len(todo))
    finally:
        if bar is not None:
            bar.close()
        summary.seconds = time.perf_counter() - started
        summary.decode_seconds = data_path.seconds
    return summary
