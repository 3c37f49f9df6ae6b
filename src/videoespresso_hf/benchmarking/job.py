"""The ``predict`` job: run a model over the benchmark and write resumable predictions, as one Python call.

>>> import videoespresso_hf as ve
>>> result = ve.predict(data="data/videoespresso", model="Qwen/Qwen2.5-VL-7B-Instruct",
...                     frames="uniform:16", output="preds.jsonl")          # doctest: +SKIP
>>> print(result.summary); result.scores["overall"]                            # doctest: +SKIP

``videoespresso predict`` is this call: its flags are the fields of :class:`PredictConfig`. Everything is
validated before any data or model is loaded (one-line :class:`PredictError`); the conductor lives here, the CLI
only parses and prints.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from videoespresso_hf.benchmarking.presets import DEFAULT_FRAMES, PRESETS, Preset, get_preset
from videoespresso_hf.defaults import REASONER_MODEL
from videoespresso_hf.dtypes import torch_dtype
from videoespresso_hf.errors import first_line, one_line
from videoespresso_hf.versions import package_versions

__all__ = ["PredictConfig", "PredictError", "PredictInterrupted", "PredictResult", "predict"]

DEFAULT_MAX_NEW_TOKENS = {"multiple_choice": 32, "open_ended": 512}
_BACKENDS = ("hf", "hybrid", "openai")
_IMAGE_DETAILS = ("low", "high", "auto")


class PredictError(ValueError):
    """A setting or input that ``predict`` refuses before (or instead of) working; the message is one line."""


class PredictInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``predict``; the message says what was saved (nothing, during start-up)."""


@dataclass
class PredictConfig:
    """Settings of :func:`predict` (and the flags of ``videoespresso predict``: ``--max-new-tokens`` is
    ``max_new_tokens``). Explicit values win over a ``preset``'s."""

    data: str | None = field(
        default=None, metadata={"help": "required: prepared folder (`videoespresso data prepare`) or Hub dataset id"}
    )
    output: Path | None = field(
        default=None, metadata={"help": "required: predictions file (.jsonl), appended to; a re-run resumes it"}
    )
    config: str = field(default="bench", metadata={"help": "dataset config"})
    split: str = field(default="test", metadata={"help": "dataset split"})
    model: str = field(
        default=REASONER_MODEL,
        metadata={"help": "Hub id or folder (hf; hybrid: the reasoner) or endpoint model name (openai)"},
    )
    revision: str | None = field(default=None, metadata={"help": "Hub branch, tag or commit of --model (hf backend)"})
    backend: Literal["hf", "hybrid", "openai"] = field(
        default="hf", metadata={"help": "hf (transformers VLM), hybrid (selector + two-stage reasoner), openai (endpoint)"}
    )
    preset: str | None = field(
        default=None,
        metadata={"help": f"official-protocol preset of a model family ({', '.join(PRESETS)}): frames, pixel bounds "
                  "and generation settings its authors or lmms-eval use; explicit flags win"},
    )  # fmt: skip
    frames: str | None = field(
        default=None,
        metadata={"help": "uniform:N | fps:X[:N] | shots[:N] | qwen-vl-utils:nframes=N|fps=X[,...] (lmms-eval's Qwen "
                  f"frames) | selector:PATH (default: the preset's, else {DEFAULT_FRAMES}, our default, not a family's "
                  "protocol)"},
    )  # fmt: skip
    min_pixels: int | None = field(default=None, metadata={"help": "per-frame pixel lower bound (default: the preset's)"})
    max_pixels: int | None = field(default=None, metadata={"help": "per-frame pixel upper bound (default: the preset's)"})
    open_ended: bool = field(default=False, metadata={"help": "ask without options (score with `videoespresso judge`)"})
    limit: int | None = field(default=None, metadata={"help": "only the first N items"})
    batch_size: int = field(default=1, metadata={"help": "items per generate call (hf, hybrid)"})
    max_new_tokens: int | None = field(
        default=None, metadata={"help": "answer budget (default: 32 multiple choice, 512 open-ended)"}
    )
    official_sampling: bool = field(
        default=False,
        metadata={"help": "sample at temperature 0.8 as the authors' eval/close_ended.py does (default: greedy)"},
    )
    seed: int = field(default=0, metadata={"help": "sampling seed (recorded)"})
    device_map: str | None = field(
        default=None,
        metadata={"help": '"auto" (accelerate) or "cpu" (default: "auto" when a GPU is present, else the CPU; one GPU '
                  "per process under accelerate launch)"},
    )  # fmt: skip
    dtype: str = field(default="auto", metadata={"help": '"auto" (checkpoint dtype), "bfloat16", "float32"...'})
    attn_implementation: str | None = field(default=None, metadata={"help": '"sdpa", "flash_attention_2", "eager"'})
    trust_remote_code: bool = field(default=False, metadata={"help": "load checkpoints with their own code"})
    base_url: str | None = field(
        default=None, metadata={"help": "openai backend: endpoint (vLLM, …; default $OPENAI_BASE_URL)"}
    )
    cache: Path | None = field(
        default=None, metadata={"help": "openai backend: SQLite cache and ledger (default OUTPUT.llm.sqlite)"}
    )
    max_cost: float | None = field(default=None, metadata={"help": "openai backend: stop before spending more USD"})
    concurrency: int = field(default=8, metadata={"help": "openai backend: requests in flight"})
    image_detail: Literal["low", "high", "auto"] = field(default="low", metadata={"help": "openai backend: image detail"})
    progress: bool = field(default=True, metadata={"help": "show a progress bar (--no-progress: none)"})

    def __post_init__(self) -> None:
        """Refuse impossible values at once (one line each), so that nothing is loaded for a run that cannot start."""
        if self.output is not None:
            self.output = Path(self.output)
        if self.cache is not None:
            self.cache = Path(self.cache)
        if self.backend not in _BACKENDS:
            raise PredictError(f"--backend {self.backend!r}: choose one of {', '.join(_BACKENDS)}")
        if self.image_detail not in _IMAGE_DETAILS:
            raise PredictError(f"--image-detail {self.image_detail!r}: choose one of {', '.join(_IMAGE_DETAILS)}")
        for name in ("limit", "batch_size", "max_new_tokens", "concurrency", "min_pixels", "max_pixels"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise PredictError(f"--{name.replace('_', '-')} must be a whole number >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise PredictError(f"--seed must be a whole number >= 0, got {self.seed!r}")
        if self.max_cost is not None and not (isinstance(self.max_cost, int | float) and math.isfinite(self.max_cost)
                                              and self.max_cost >= 0):  # fmt: skip
            raise PredictError(f"--max-cost must be an amount >= 0, got {self.max_cost!r}")
        if self.min_pixels is not None and self.max_pixels is not None and self.min_pixels > self.max_pixels:
            raise PredictError(f"--min-pixels {self.min_pixels} is above --max-pixels {self.max_pixels}")
        if self.batch_size > 1 and self.backend == "openai":
            raise PredictError("--batch-size is for the hf and hybrid backends; use --concurrency for the openai backend")
        if self.preset is not None:
            try:
                get_preset(self.preset)
            except ValueError as error:
                raise PredictError(str(error)) from None


@dataclass
class PredictResult:
    """What :func:`predict` did. ``records`` are the output's records (released layout + ``model_output``);
    ``scores`` the robust-protocol score of a multiple-choice run (``None`` for open-ended runs and on non-main
    ranks); ``coverage`` how much of the benchmark the file covers."""

    summary: str
    output: Path
    sidecar: Path
    records: list[dict[str, Any]]
    scores: dict[str, Any] | None
    coverage: dict[str, Any]
    written: int
    skipped: int
    failures: int
    failure_reasons: dict[str, int]
    preset: str | None
    is_main_process: bool = True

    @property
    def exit_status(self) -> int:
        """0 when every item of this run was answered, 1 when some became failure records."""
        return 1 if self.failures else 0


# ---------------------------------------------------------------------------------------------------------- plan


@dataclass
class _Plan:
    """The validated, resolved settings of one run (what the sidecar records)."""

    config: PredictConfig
    output: Path
    preset: Preset | None
    rule: Any  # FrameRule
    data: str
    model: str
    pixel_bounds: Any  # PixelBounds | None
    max_new_tokens: int
    prompt_name: str
    dtype: Any
    device_map: str | None
    group: Any  # ProcessGroup
    notes: list[str] = field(default_factory=list)  # printed in the summary (e.g. a preset's frames the hybrid adapts)


def _coerce(config: PredictConfig | None, kwargs: dict[str, Any]) -> PredictConfig:
    if config is not None and kwargs:
        raise PredictError("give predict() either a PredictConfig or keyword arguments, not both")
    if config is not None:
        if not isinstance(config, PredictConfig):
            raise PredictError(f"predict() takes a PredictConfig, got {type(config).__name__}")
        return dataclasses.replace(config)  # re-validated, and never changed under the caller
    known = {item.name for item in dataclasses.fields(PredictConfig)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise PredictError(f"predict() got unknown setting(s) {', '.join(unknown)}")
    return PredictConfig(**kwargs)


def _check_output(output: Path | None) -> Path:
    if output is None:
        raise PredictError("--output is required: the predictions file (.jsonl) to write")
    if output.is_dir():
        raise PredictError(f"--output {output}: is a directory; give a file path such as {output / 'preds.jsonl'}")
    for parent in output.parents:
        if parent.exists():
            if not parent.is_dir():
                raise PredictError(f"--output {output}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise PredictError(f"--output {output}: cannot write in {parent}")
            break
    from videoespresso_hf.benchmarking.store import meta_path

    if meta_path(output).is_dir():
        raise PredictError(f"--output {output}: its sidecar {meta_path(output)} is a directory")
    return output


def _parse_dtype(name: str) -> Any:
    try:
        return torch_dtype(name)
    except ValueError as error:
        raise PredictError(str(error)) from None


def _device_map(requested: str | None, group: Any) -> str | None:
    """``--device-map`` as given, else one device per process: ``"auto"`` alone on a GPU machine, ``cuda:LOCAL_RANK``
    under a multi-process launch, the CPU without a GPU."""
    if group.distributed and requested == "auto":
        raise PredictError(
            f"--device-map auto spreads one model over every GPU, so {group.world_size} processes would share them: "
            "leave --device-map unset under accelerate launch (one GPU per process) or run one process"
        )
    if requested is not None:
        return requested
    import torch

    if not torch.cuda.is_available():
        return None
    return f"cuda:{group.local_rank}" if group.distributed else "auto"


def _plan(config: PredictConfig) -> _Plan:
    """Every check that needs no data and no model: paths before the Hub, the frame rule, the preset, the launch."""
    from videoespresso_hf.benchmarking.frames import PixelBounds, parse_frame_rule
    from videoespresso_hf.benchmarking.parallel import process_group
    from videoespresso_hf.benchmarking.prompts import MULTIPLE_CHOICE_PROMPT, OPEN_ENDED_PROMPT
    from videoespresso_hf.locations import (
        HubReferenceError,
        resolve_reference,
        short_hub_timeouts,
    )

    output = _check_output(config.output)
    if not config.data:
        raise PredictError("--data is required: a prepared folder (`videoespresso data prepare`) or a Hub dataset id")
    preset = get_preset(config.preset) if config.preset else None
    notes: list[str] = []
    try:
        rule = parse_frame_rule(config.frames or (preset.frames if preset else DEFAULT_FRAMES))
        if config.backend == "hybrid" and config.frames is None and preset is not None:
            rule = _hybrid_rule_of_preset(rule, preset, notes)
        if config.backend == "hybrid":
            rule.hybrid_settings()  # a rule the hybrid cannot apply is refused before the data loads
    except ValueError as error:
        raise PredictError(str(error)) from None
    dtype = _parse_dtype(config.dtype)
    short_hub_timeouts()
    try:
        data = resolve_reference(config.data, "--data", repo_type="dataset")
        model = config.model if config.backend == "openai" else resolve_reference(config.model, "--model")
        if rule.selector is not None:
            rule = dataclasses.replace(rule, selector=resolve_reference(rule.selector, "--frames selector:"))
    except HubReferenceError as error:
        raise PredictError(str(error)) from None
    min_pixels = config.min_pixels if config.min_pixels is not None else (preset.min_pixels if preset else None)
    max_pixels = config.max_pixels if config.max_pixels is not None else (preset.max_pixels if preset else None)
    if min_pixels is not None and max_pixels is not None and min_pixels > max_pixels:
        raise PredictError(f"pixel bounds: min_pixels {min_pixels} is above max_pixels {max_pixels} (preset and flags combined)")
    bounds = PixelBounds(min_pixels, max_pixels, _pixel_factor(None, preset)) if (min_pixels or max_pixels) else None
    kind = "open_ended" if config.open_ended else "multiple_choice"
    max_new_tokens = config.max_new_tokens or (preset.max_new_tokens if preset else None) or DEFAULT_MAX_NEW_TOKENS[kind]
    group = process_group()
    if group.distributed and config.backend == "openai":
        raise PredictError(
            "--backend openai sends its requests concurrently from one process (--concurrency): run it without "
            "accelerate launch / torchrun"
        )
    device_map = _device_map(config.device_map, group)
    return _Plan(
        config, output, preset, rule, data, model, bounds, max_new_tokens,
        OPEN_ENDED_PROMPT if config.open_ended else MULTIPLE_CHOICE_PROMPT, dtype, device_map, group, notes,
    )  # fmt: skip


def _hybrid_rule_of_preset(rule: Any, preset: Preset, notes: list[str]) -> Any:
    """The frame rule the hybrid backend runs for a preset. The hybrid picks its core frames itself by a strategy;
    it has no qwen-vl-utils strategy, so a preset's ``qwen-vl-utils:nframes=N`` (lmms-eval's Qwen frames, an hf
    backend protocol) becomes ``uniform:N``: the same number of evenly spaced frames, said in the summary."""
    from videoespresso_hf.benchmarking.frames import parse_frame_rule

    if rule.row.frames_only and rule.count is not None:
        adapted = parse_frame_rule(f"uniform:{rule.count}")
        notes.append(f"--preset {preset.name}'s frames ({rule.spec}) are for the hf backend; the hybrid backend "
                     f"runs {adapted.spec} (the same frame count; --frames sets another rule)")  # fmt: skip
        return adapted
    if rule.row.frames_only:
        raise ValueError(f"--preset {preset.name}'s frames ({rule.spec}) are for the hf backend; pass --frames "
                         "uniform:N, fps:X[:N], shots[:N] or selector:PATH for --backend hybrid")  # fmt: skip
    return rule


def _environment(world_size: int) -> dict[str, Any]:
    return {"versions": {"python": platform.python_version(), **package_versions()}, "processes": world_size,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}  # fmt: skip


def _load_backend(plan: _Plan, generation: Any) -> Any:
    from videoespresso_hf.benchmarking.backends import EndpointBackend, HybridBackend, TransformersBackend

    config = plan.config
    local = {"dtype": plan.dtype, "device_map": plan.device_map, "attn_implementation": config.attn_implementation,
             "trust_remote_code": config.trust_remote_code}  # fmt: skip
    try:
        if config.backend == "hf":
            return TransformersBackend(plan.model, generation, revision=config.revision, pixel_bounds=plan.pixel_bounds, **local)
        if config.backend == "hybrid":
            return HybridBackend(plan.model, generation, plan.rule, revision=config.revision, open_ended=config.open_ended, **local)
    except ValueError as error:
        raise PredictError(first_line(error)) from None
    cache = config.cache or plan.output.with_name(plan.output.name + ".llm.sqlite")
    return EndpointBackend(
        plan.model, generation, base_url=config.base_url or os.environ.get("OPENAI_BASE_URL"), cache_path=cache,
        budget_usd=config.max_cost, concurrency=config.concurrency, image_detail=config.image_detail,
        prompt_version=plan.prompt_name,
    )  # fmt: skip


def _pixel_factor(backend: Any, preset: Preset | None) -> int:
    """THE side multiple of resized frames (the one place that decides it): the loaded model's patch size times its
    token merge, read from its processor (its video processor's, else its image processor's: 28 for Qwen2.5-VL, 32
    for Qwen3-VL), else — before loading, or for a processor that does not say — the preset's ``factor``, else
    :class:`PixelBounds`' default (Qwen2.5-VL's 28). Frames resized to another multiple would be resized again by
    the processor, and the model would not see the pixels a preset's source feeds it."""
    from videoespresso_hf.benchmarking.frames import PixelBounds

    processor = getattr(backend, "processor", None)
    for part in (getattr(processor, "video_processor", None), getattr(processor, "image_processor", None)):
        patch, merge = getattr(part, "patch_size", None), getattr(part, "merge_size", None)
        if isinstance(patch, int) and isinstance(merge, int):
            return patch * merge
    if preset is not None and preset.factor is not None:
        return preset.factor
    return PixelBounds.factor


# ----------------------------------------------------------------------------------------------------------- run


def predict(config: PredictConfig | None = None, /, **kwargs: Any) -> PredictResult:
    """Run a model over a VideoEspresso config and write one JSON line per item to ``output``.

    Takes a :class:`PredictConfig` or its fields as keyword arguments. Items already in ``output`` are not run
    again (a re-run resumes); a ``<output>.meta.json`` sidecar records the run's identity and another model or
    setting is refused. Under ``accelerate launch``/``torchrun`` each process predicts its shard and the main
    process merges them. Returns a :class:`PredictResult` (summary text, paths, records, scores, coverage).

    Raises:
        PredictError: a setting, path, model or dataset that cannot be used (one line; nothing is written).
        PredictInterrupted: Ctrl-C; its message says what was saved.
    """
    config = _coerce(config, kwargs)
    plan = _plan(config)
    phase = {"writing": False}
    try:
        return _run(plan, phase)
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, PredictInterrupted):
            raise
        if phase["writing"]:
            raise PredictInterrupted(
                f"interrupted; the predictions finished so far are saved in {plan.output} and the same command resumes"
            ) from None
        raise PredictInterrupted("interrupted during start-up (data and model loading): nothing was written") from None


def _run(plan: _Plan, phase: dict[str, bool]) -> PredictResult:
    from videoespresso_hf.benchmarking.backends import GenerationSettings
    from videoespresso_hf.benchmarking.items import dataset_fingerprint, load_bench_items
    from videoespresso_hf.benchmarking.prompts import template_text
    from videoespresso_hf.benchmarking.store import RunMismatchError, check_sidecar
    from videoespresso_hf.data.sources import DataError

    config = plan.config
    try:
        all_items = load_bench_items(plan.data, config.config, config.split)
    except DataError as error:
        raise PredictError(first_line(error)) from None
    generation = GenerationSettings(plan.max_new_tokens, config.official_sampling, config.seed)
    identity = {
        "backend": config.backend,
        "model": plan.model,
        "frames": plan.rule.spec,
        "open_ended": config.open_ended,
        "prompt": {"name": plan.prompt_name, "template": template_text(plan.prompt_name)},
        "data": {"config": config.config, "split": config.split, "fingerprint": dataset_fingerprint(all_items)},
    }
    if plan.preset is not None:  # absent (not null) without one, so that sidecars of earlier runs still match
        identity["preset"] = plan.preset.name
    try:
        check_sidecar(plan.output, identity)  # before minutes of model loading
    except RunMismatchError as error:
        raise PredictError(str(error)) from None
    items = all_items[: config.limit] if config.limit else all_items
    backend = _load_backend(plan, generation)
    try:
        sampler = _frame_sampler(plan, backend)
        if backend.decodes_frames:  # the hybrid loads its own selector
            try:
                sampler.load()
            except ValueError as error:
                raise PredictError(first_line(error)) from None
        full_identity = {**identity, **backend.identity, "model": plan.model}
        if plan.preset is not None:
            full_identity["preset_settings"] = plan.preset.describe()
        return _predict_items(plan, items, all_items, backend, sampler, full_identity, phase)
    finally:
        backend.close()


def _frame_sampler(plan: _Plan, backend: Any) -> Any:
    """The run's :class:`FrameSampler`: the plan's rule, and its pixel bounds at the loaded model's factor (which
    the sidecar then records)."""
    from videoespresso_hf.benchmarking.frames import FrameSampler

    bounds = plan.pixel_bounds
    if bounds is not None:
        bounds = dataclasses.replace(bounds, factor=_pixel_factor(backend, plan.preset))
        if "pixel_bounds" in backend.identity:
            backend.identity["pixel_bounds"] = bounds.describe()
    return FrameSampler(plan.rule, device_map=plan.device_map, pixel_bounds=bounds)


def _predict_items(plan, items, all_items, backend, sampler, identity, phase) -> PredictResult:
    from videoespresso_hf.benchmarking.parallel import leftover_shards, merge_into_output, shard_path
    from videoespresso_hf.benchmarking.runner import RunSummary, run_predictions
    from videoespresso_hf.benchmarking.store import PredictionStore, RunMismatchError, meta_path
    from videoespresso_hf.llm import FATAL_ERRORS, BudgetExceededError, MissingAPIKeyError

    config, group, output = plan.config, plan.group, plan.output
    order = [item.id for item in all_items]
    notes: list[str] = list(plan.notes)
    started = time.perf_counter()
    try:
        if group.is_main:
            with PredictionStore(output, identity, _environment(group.world_size)) as store:
                if store.torn_line_dropped:
                    notes.append(f"{output}: the last line was cut by an interrupted run; that item is redone")
            leftovers = leftover_shards(output)
            if leftovers:
                merged = merge_into_output(output, leftovers, order)
                notes.append(f"{output}: {merged} finished item(s) merged from {len(leftovers)} shard file(s) of an interrupted run")
        group.barrier()
        phase["writing"] = True
        run = dict(prompt_name=plan.prompt_name, open_ended=config.open_ended, batch_size=config.batch_size,
                   progress=config.progress and group.is_main)  # fmt: skip
        if not group.distributed:
            with PredictionStore(output, identity, {}) as store:
                summary = run_predictions(items, backend, sampler, store, **run)
        else:
            finished = PredictionStore.finished_ids(output)
            pending = [item for item in items if item.id not in finished]
            from videoespresso_hf.benchmarking.parallel import ShardFile

            with ShardFile(shard_path(output, group.rank, group.world_size)) as shard:
                summary = run_predictions(group.shard(pending), backend, sampler, shard, **run)
            summary.skipped = len(items) - len(pending)
    except RunMismatchError as error:
        raise PredictError(str(error)) from None
    except MissingAPIKeyError as error:
        raise PredictError(f"{error}; or point --base-url at a local OpenAI-compatible server (vLLM, …)") from None
    except BudgetExceededError as error:
        raise PredictError(f"{error} (predictions so far are saved: re-run with a higher --max-cost to continue)") from None
    except FATAL_ERRORS as error:  # the endpoint refuses every request alike (key, model name, URL, unreachable)
        raise PredictError(f"the endpoint refused the run: {one_line(error)} (predictions so far are saved)") from None
    summaries = group.gather(_summary_dict(summary))
    group.barrier()  # every shard file is complete
    if not group.is_main:
        return PredictResult("", output, meta_path(output), [], None, {}, summary.written, summary.skipped,
                             summary.failures, dict(summary.failure_reasons), config.preset, is_main_process=False)  # fmt: skip
    merge_into_output(output, leftover_shards(output), order)  # the shards, and a resumed file back in item order
    total = RunSummary(items=len(items), skipped=summary.skipped)
    for part in summaries:
        total.written += part["written"]
        total.failures += part["failures"]
        total.decode_seconds += part["decode_seconds"]
        total.model_seconds += part["model_seconds"]
        total.input_tokens += part["input_tokens"]
        total.output_tokens += part["output_tokens"]
        total.cost_usd += part["cost_usd"]
        total.failure_reasons.update(part["failure_reasons"])
    total.seconds = time.perf_counter() - started if group.distributed else summary.seconds
    return _result(plan, backend, all_items, total, summaries, notes)


def _summary_dict(summary: Any) -> dict[str, Any]:
    """A rank's summary as plain values (``failure_reasons`` as a dict), to gather across processes."""
    values = {item.name: getattr(summary, item.name) for item in dataclasses.fields(summary)}
    values["failure_reasons"] = dict(summary.failure_reasons)
    return values


def _result(plan, backend, all_items, total, summaries, notes) -> PredictResult:
    import json

    from videoespresso_hf.benchmarking.report import coverage_of, summary_text
    from videoespresso_hf.benchmarking.store import meta_path

    output, config = plan.output, plan.config
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines() if line.strip()]
    coverage = coverage_of(records, all_items, config.config)
    scores, table = None, None
    if not config.open_ended:
        from videoespresso_hf.evaluation.report import render
        from videoespresso_hf.evaluation.scorer import score_file

        scores = score_file(output, "robust")
        table = render(scores, "table", name=Path(plan.model).name or plan.model)
    text = summary_text(plan, backend, total, summaries, coverage, notes, table)
    return PredictResult(
        summary=text, output=output, sidecar=meta_path(output), records=records, scores=scores, coverage=coverage,
        written=total.written, skipped=total.skipped, failures=total.failures,
        failure_reasons=dict(total.failure_reasons), preset=config.preset,
    )  # fmt: skip
