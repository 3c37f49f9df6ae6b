"""The stage protocol: how a construction step plugs into the driver.

A **per-video stage** is a class with

* ``name`` (str, unique in its chain; also the ``--until`` value and the state-store key),
* ``version`` (str; bump it when the stage's output changes for the same input, so old results are
  recomputed instead of silently reused),
* ``input_type`` / ``output_type``: the pydantic record it takes and returns (the driver loads the upstream
  stage's saved output as ``input_type``, and checks that neighbours in a chain fit together),
* ``config_slice(config) -> dict``: the part of :class:`~videoespresso_hf.pipeline.config.BuildConfig` that
  changes this stage's output (it goes into the stage's fingerprint, nothing else of the config does),
* ``run(record, ctx) -> record``: a pure-ish function of its input; it must not mutate it, and it may call
  the LLM / models through ``ctx`` (cached per process),

and optionally ``endpoint_models(config)`` (the models it asks the LLM endpoint for: the build job
checks the endpoint and prices them before such a chain starts),
``summary_counts(record)`` (totals the driver adds up for the run summary), ``output_file`` /
``output_rows(record)`` (a JSONL file the driver writes from the stage's outputs), ``estimate``
(the dry run) and ``progress_unit`` (what ``ctx.progress`` counts while one video runs). A **dataset
stage** (:class:`DatasetStage`, e.g. the final export) instead has
``finalize(records, ctx, unfinished) -> DatasetResult`` and runs once, in the driver process, over every
video that completed the per-video chain. Stages never name each other: their order is the chain
(:data:`videoespresso_hf.pipeline.chain.CONSTRUCTION_CHAIN`), and the driver hands each one its upstream
stage's output.

The driver computes one fingerprint per stage (name + version + config slice + the upstream stage's
fingerprint) and stores every (video, stage, fingerprint) result in SQLite, so a re-run skips finished work
and a changed setting recomputes exactly the stages downstream of it.

Errors: raise :class:`StageError` (or let a ``videoespresso_hf.video.VideoError`` escape) when *the input*
is at fault; the video is then marked ``failed`` with the message and not retried unless asked
(``--retry-failed``). Any other exception is treated as transient (``error``) and retried on the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel

from videoespresso_hf.pipeline.video_record import VideoRecord

if TYPE_CHECKING:
    from videoespresso_hf.llm.config import LLMConfig
    from videoespresso_hf.llm.ledger import CostEstimate

__all__ = [
    "BuildConfigView",
    "DatasetResult",
    "DatasetStage",
    "ModelLoadError",
    "Stage",
    "StageContext",
    "StageError",
    "StageUsage",
    "WorkProgress",
    "stage_chain",
    "stage_fingerprints",
]


class BuildConfigView(Protocol):
    """What a stage reads of the build config: ``llm`` and the section named like a stage (``frames``,
    ``captions``, ``qa_filter``, ...), e.g. :class:`~videoespresso_hf.pipeline.config.BuildConfig`.

    The build config aggregates the stages' settings (each defined beside its stage), so it imports the
    stages; the stages see the config only through this view and never import it, not even for types.
    """

    @property
    def llm(self) -> LLMConfig: ...

    def __getattr__(self, name: str) -> Any: ...


class StageError(Exception):
    """The input of a stage is unusable (empty video, no frames, ...): the video fails with this reason."""


T = TypeVar("T")

# The flag and config key that choose the build's embedding model (named when it cannot be loaded).
EMBEDDING_MODEL_SETTING = "--embedding-model or dedup.embedder"


class ModelLoadError(RuntimeError):
    """A model of the build cannot be loaded (offline, gated, misspelt): every video would fail the same way,
    and re-running changes nothing, so the run stops. The message names the model and the setting to change."""


def load_model(kind: str, model_id: str, setting: str, factory: Callable[[], T]) -> T:
    """``factory()``, with a load failure turned into one :class:`ModelLoadError` line naming ``model_id`` and
    ``setting`` (the flag and config key that choose it)."""
    try:
        return factory()
    except (OSError, ValueError, ImportError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if reason.startswith("cannot load"):  # already names the model (EmbeddingModelError)
            reason = reason.split(": ", 1)[-1]
        raise ModelLoadError(f"cannot load the {kind} {model_id}: {reason} (change it with {setting})") from error



def load_embedder(model_id: str, setting: str = EMBEDDING_MODEL_SETTING, device: str | None = None) -> Any:
    """The process's text embedder ``model_id`` (a :class:`videoespresso_hf.embeddings.TextEmbedder`, loaded
    once per process and shared by every stage), a load failure named with ``setting``."""
    from videoespresso_hf.embeddings import load_text_embedder

    return load_model("embedding model", model_id, setting, lambda: load_text_embedder(model_id, device))

@dataclass
class StageUsage:
    """What one stage execution consumed; summed per stage in the run summary."""

    llm_calls: int = 0  # requests the endpoint answered (paid)
    cached_calls: int = 0  # answered from the LLM response cache (free)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)  # stage-specific counts, e.g. frames_kept
    retries: int = 0  # HTTP attempts beyond the first per request (transport retries and re-asks)
    faults: dict[str, int] = field(default_factory=dict)  # faults the LLM client met, by kind ("timeout", ...)

    def count(self, key: str, value: int = 1) -> None:
        self.counters[key] = self.counters.get(key, 0) + int(value)

    def merge(self, other: StageUsage) -> None:
        self.llm_calls += other.llm_calls
        self.cached_calls += other.cached_calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cost_usd += other.cost_usd
        for key, value in other.counters.items():
            self.count(key, value)
        self.retries += other.retries
        self._add_faults(other.faults)

    def _add_faults(self, faults: dict[str, int]) -> None:
        for kind, value in faults.items():
            self.faults[kind] = self.faults.get(kind, 0) + int(value)

    def add_llm_results(self, results: Iterable[Any]) -> None:
        """Account ``videoespresso_hf.llm`` results: cache hits are free, answered requests were paid, and
        requests that only met errors count their HTTP attempts but no paid call.

        ``LLMClient.map`` sends identical requests once and returns the same result for each copy; the
        copies are counted as cached so tokens and cost are not counted twice.
        """
        seen: set[str] = set()
        for result in results:
            duplicate = result.key in seen
            seen.add(result.key)
            if duplicate:
                self.cached_calls += 1
                continue
            if result.cached:
                self.cached_calls += 1
            else:
                self.llm_calls += int(result.answered)
                self.count("http_attempts", result.attempts)
                self.retries += max(0, result.attempts - 1)
                self._add_faults(result.faults)
            self.prompt_tokens += int(result.usage.input_tokens)
            self.completion_tokens += int(result.usage.output_tokens)
            self.cost_usd += float(result.cost_usd)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageUsage:
        return cls(**data)

    @classmethod
    def from_estimate(cls, estimate: CostEstimate, *, batch: bool = False) -> StageUsage:
        """Dry run: the usage of an estimate (its cache hits are free; ``batch`` prices at the Batch API rate)."""
        usage = cls(
            llm_calls=estimate.requests - estimate.cached,
            cached_calls=estimate.cached,
            prompt_tokens=estimate.input_tokens,
            completion_tokens=estimate.output_tokens,
            cost_usd=estimate.batch_cost_usd if batch else estimate.cost_usd,
        )
        usage.count("estimated_requests", usage.llm_calls)
        return usage


class WorkProgress:
    """Progress of the work *inside* one video: frames captioned, requests answered.

    Captioning one long video takes hours; a bar counting videos would sit at 0 all that time. Stages whose
    ``progress_unit`` is not ``"video"`` report here and the driver shows it. This base class is the
    no-op used where nobody watches (worker processes, Ray tasks, direct calls of ``stage.run``).
    """

    def plan(self, units: int) -> None:
        """``units`` more units of work are coming."""

    def advance(self, units: int = 1) -> None:
        """``units`` units of work are done."""

    def map(self, client: Any, requests: Sequence[Any]) -> list[Any]:
        """``client.map(requests)`` (an :class:`~videoespresso_hf.llm.LLMClient`), counted one answer at a time."""
        self.plan(len(requests))
        reported = 0

        def on_answer(done: int, _total: int) -> None:
            nonlocal reported
            self.advance(done - reported)
            reported = done

        results = client.map(requests, progress=on_answer)
        self.advance(len(requests) - reported)  # copies of identical requests, answered with their original
        return results


# Heavy objects (LLM clients, captioning models, embedders) live once per worker process.
_PROCESS_RESOURCES: dict[str, Any] = {}


@dataclass
class StageContext:
    """What a stage may use besides its input record. Picklable: it crosses process/Ray boundaries.

    Attributes:
        config: the build configuration.
        out_dir: the output folder (holds ``state.sqlite``, ``llm_cache.sqlite``, ...).
        usage: usage of the current execution; stages add to it (the runner resets it per execution).
        progress: where the stage reports work done inside a video (a no-op outside the driver).
        estimated_keys: dry run: cache keys of the requests already estimated, so a request identical to
            one estimated before (a repeated frame) counts as a cache hit, as it will be when the build runs.
    """

    config: BuildConfigView
    out_dir: Path
    dry_run: bool = False
    usage: StageUsage = field(default_factory=StageUsage)
    progress: WorkProgress = field(default_factory=WorkProgress)
    estimated_keys: set[str] = field(default_factory=set)

    @property
    def llm_cache_path(self) -> Path:
        return Path(self.out_dir) / "llm_cache.sqlite"

    def llm_client(self, model: str | None = None) -> Any:
        """The process's :class:`videoespresso_hf.llm.LLMClient` for ``model`` (default ``config.llm.model``).

        Responses are cached in ``OUT/llm_cache.sqlite`` (shared by every stage and run), so a killed run
        re-pays nothing that was answered before the kill; the budget is ``config.llm.budget_usd``.
        """
        from videoespresso_hf.llm.client import LLMClient

        llm_config = self.config.llm.model_copy(
            update={"model": model or self.config.llm.model, "cache_path": self.llm_cache_path}
        )
        key = "llm::" + llm_config.model_dump_json()
        return self.resource(key, lambda: LLMClient(llm_config))

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """A per-process singleton: ``factory()`` runs once per process for each ``key``.

        Include everything the object depends on in ``key`` (e.g. the model id), so that two
        configurations in one process never share a model.
        """
        full_key = f"{self.out_dir}::{key}"
        if full_key not in _PROCESS_RESOURCES:
            _PROCESS_RESOURCES[full_key] = factory()
        return _PROCESS_RESOURCES[full_key]

    def __getstate__(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "out_dir": self.out_dir,
            "dry_run": self.dry_run,
            "usage": StageUsage(),
            "progress": WorkProgress(),  # the driver's bar does not cross processes
            "estimated_keys": set(),
        }


def clear_process_resources() -> None:
    """Drop the per-process singletons (tests use it to simulate a fresh worker)."""
    for value in _PROCESS_RESOURCES.values():
        close = getattr(value, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # closing is best effort
                close()
    _PROCESS_RESOURCES.clear()


class Stage:
    """Base class of per-video stages (see the module docstring for the protocol)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    input_type: ClassVar[type[BaseModel]] = VideoRecord
    output_type: ClassVar[type[BaseModel]] = VideoRecord
    # Whether the local runner may spread this stage's videos over worker processes. Stages that hold
    # one shared client or model (LLM calls, a GPU captioner) set False: they run in the driver process,
    # one video at a time, and get their parallelism from inside (the LLM client's thread pool, batching),
    # so one budget, one ledger and one loaded model serve the whole run.
    fan_out: ClassVar[bool] = True
    # A JSONL file (relative to the output folder) the driver writes from this stage's outputs with
    # ``output_rows``; when several stages of a chain name the same file, the last one reached writes it.
    output_file: ClassVar[str | None] = None
    # What ``ctx.progress`` counts while this stage runs a video ("frame", "request"); "video" when the stage
    # reports nothing and the driver's bar counts finished videos.
    progress_unit: ClassVar[str] = "video"

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        """The settings that change this stage's output (JSON-serialisable)."""
        return {}

    def needs_llm(self, config: BuildConfigView) -> bool:
        """Whether running this stage with ``config`` sends requests to the LLM endpoint."""
        return bool(self.endpoint_models(config))

    def endpoint_models(self, config: BuildConfigView) -> list[str]:
        """The models this stage asks the LLM endpoint for with ``config`` (what a budget must price); none
        by default. The build job reads this instead of knowing any stage by name."""
        return []

    def run(self, record: Any, ctx: StageContext) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary_counts(self, record: Any) -> dict[str, int]:
        """Totals over this stage's outputs for the run summary (summed over videos), e.g. frames kept."""
        return {}

    def output_rows(self, record: Any) -> Iterable[dict[str, Any]]:
        """The rows of ``output_file`` for one video."""
        return ()

    def estimate(self, record: Any, ctx: StageContext) -> StageUsage | None:
        """Dry run (``--dry-run``): the usage this stage *would* have on ``record``, without paying.

        Stages that make no paid calls return None (the default) and simply run during a dry run; the
        dry run stops at the first stage that returns an estimate, since later inputs do not exist yet.
        """
        return None


@dataclass
class DatasetResult:
    """What a dataset stage reports to the driver.

    Attributes:
        outputs: files and folders it wrote, by name (listed in the summary as ``<stage>.<name>``).
        counts: totals for the run summary (e.g. ``rows_exported``).
        problems: why its result is not usable (e.g. nothing exported); the CLI exits non-zero.
        notes: what the user must know about its result (e.g. a partial export).
        dataset_dir: a folder ``datasets.load_dataset`` reads, if the stage leaves one.
    """

    outputs: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dataset_dir: str | None = None


class DatasetStage:
    """Base class of stages that run once over all finished videos (e.g. the export)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    input_type: ClassVar[type[BaseModel]] = VideoRecord

    def config_slice(self, config: BuildConfigView) -> dict[str, Any]:
        return {}

    def needs_llm(self, config: BuildConfigView) -> bool:
        return bool(self.endpoint_models(config))

    def endpoint_models(self, config: BuildConfigView) -> list[str]:
        """The models this stage asks the LLM endpoint for (none by default), as :meth:`Stage.endpoint_models`."""
        return []

    def finalize(
        self, records: list[Any], ctx: StageContext, unfinished: dict[str, str]
    ) -> DatasetResult:  # pragma: no cover - abstract
        """Consume the outputs of every video that finished the per-video chain.

        ``unfinished`` maps each of this run's inputs that did not finish (failed, or to be retried) to why.
        """
        raise NotImplementedError


def stage_chain(
    stages: Sequence[Stage | DatasetStage], until: str | None = None
) -> list[Stage | DatasetStage]:
    """``stages`` checked as a chain and cut after ``until`` (inclusive; None keeps every stage).

    Raises:
        KeyError: ``until`` is not a stage of the chain.
        TypeError: the stages do not fit together (a stage's input is not its upstream stage's output,
            a name is used twice, or a dataset stage is followed by another stage).
    """
    names = [stage.name for stage in stages]
    if len(set(names)) != len(names):
        raise TypeError(f"stage names must be unique in a chain: {names}")
    upstream: type[BaseModel] = VideoRecord
    for position, stage in enumerate(stages):
        if stage.input_type is not upstream:
            raise TypeError(
                f"stage {stage.name!r} takes {stage.input_type.__name__} but its upstream stage returns "
                f"{upstream.__name__}"
            )
        if isinstance(stage, DatasetStage):
            if position != len(stages) - 1:
                raise TypeError(f"dataset stage {stage.name!r} must be the last of the chain")
        else:
            upstream = stage.output_type
    if until is not None:
        if until not in names:
            raise KeyError(f"unknown stage {until!r}; the chain is {' -> '.join(names)}")
        return list(stages[: names.index(until) + 1])
    return list(stages)


def stage_fingerprints(stages: Iterable[Stage | DatasetStage], config: BuildConfigView) -> dict[str, str]:
    """Fingerprint of every stage in a chain: hash of name, version, config slice and upstream fingerprint."""
    fingerprints: dict[str, str] = {}
    upstream = ""
    for stage in stages:
        payload = json.dumps(
            {
                "stage": stage.name,
                "version": stage.version,
                "config": stage.config_slice(config),
                "upstream": upstream,
            },
            sort_keys=True,
            default=str,
        )
        upstream = hashlib.sha256(payload.encode()).hexdigest()[:16]
        fingerprints[stage.name] = upstream
    return fingerprints
