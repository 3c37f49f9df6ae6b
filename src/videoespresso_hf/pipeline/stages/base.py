"""The stage protocol: how a construction step plugs into the orchestrator.

A **per-video stage** is a class with

* ``name`` (str, unique; also the ``--until`` value and the state-store key),
* ``version`` (str; bump it when the stage's output changes for the same input, so old results are
  recomputed instead of silently reused),
* ``after`` (the name of the stage whose output record this one consumes; ``None`` only for the first),
* ``config_slice(config) -> dict``: the part of :class:`~videoespresso_hf.pipeline.config.BuildConfig` that
  changes this stage's output (it goes into the stage's fingerprint, nothing else of the config does),
* ``run(record, ctx) -> record``: a pure-ish function of the input :class:`VideoRecord`; it must not mutate
  its input, and it may call the LLM / models through ``ctx`` (cached per process),

and is registered with :func:`register_stage`. A **dataset stage** (:class:`DatasetStage`, e.g. the final
export) instead has ``finalize(records, ctx) -> dict`` and runs once, in the driver process, over every video
that completed the per-video chain.

The orchestrator chains registered stages by ``after``, computes one fingerprint per stage
(name + version + config slice + the upstream stage's fingerprint) and stores every (video, stage,
fingerprint) result in SQLite, so a re-run skips finished work and a changed setting recomputes exactly
the stages downstream of it.

Errors: raise :class:`StageError` (or let a ``videoespresso_hf.video.VideoError`` escape) when *the input*
is at fault; the video is then marked ``failed`` with the message and not retried unless asked
(``--retry-failed``). Any other exception is treated as transient (``error``) and retried on the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from videoespresso_hf.pipeline.records import VideoRecord

if TYPE_CHECKING:
    from videoespresso_hf.pipeline.config import BuildConfig

__all__ = [
    "DatasetStage",
    "Stage",
    "StageContext",
    "StageError",
    "StageUsage",
    "get_stage",
    "register_stage",
    "registered_stages",
    "stage_chain",
    "stage_fingerprints",
]


class StageError(Exception):
    """The input of a stage is unusable (empty video, no frames, ...): the video fails with this reason."""


@dataclass
class StageUsage:
    """What one stage execution consumed; summed per stage in the run summary."""

    llm_calls: int = 0  # requests actually sent (paid)
    cached_calls: int = 0  # answered from the LLM response cache (free)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)  # stage-specific counts, e.g. frames_kept

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

    def add_llm_results(self, results: Iterable[Any]) -> None:
        """Account ``videoespresso_hf.llm`` results: cache hits are free, the rest were paid.

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
                self.llm_calls += 1
                self.count("http_attempts", result.attempts)
            self.prompt_tokens += int(result.usage.input_tokens)
            self.completion_tokens += int(result.usage.output_tokens)
            self.cost_usd += float(result.cost_usd)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StageUsage:
        return cls(**data)


# Heavy objects (LLM clients, captioning models, embedders) live once per worker process.
_PROCESS_RESOURCES: dict[str, Any] = {}

T = TypeVar("T")


@dataclass
class StageContext:
    """What a stage may use besides its input record. Picklable: it crosses process/Ray boundaries.

    Attributes:
        config: the build configuration.
        out_dir: the output folder (holds ``state.sqlite``, ``llm_cache.sqlite``, ...).
        usage: usage of the current execution; stages add to it (the runner resets it per execution).
    """

    config: BuildConfig
    out_dir: Path
    dry_run: bool = False
    usage: StageUsage = field(default_factory=StageUsage)

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
    after: ClassVar[str | None] = None
    # Whether the local runner may spread this stage's videos over worker processes. Stages that hold
    # one shared client or model (LLM calls, a GPU captioner) set False: they run in the driver process,
    # one video at a time, and get their parallelism from inside (the LLM client's thread pool, batching),
    # so one budget, one ledger and one loaded model serve the whole run.
    fan_out: ClassVar[bool] = True

    def config_slice(self, config: BuildConfig) -> dict[str, Any]:
        """The settings that change this stage's output (JSON-serialisable)."""
        return {}

    def run(self, record: VideoRecord, ctx: StageContext) -> VideoRecord:  # pragma: no cover - abstract
        raise NotImplementedError

    def estimate(self, record: VideoRecord, ctx: StageContext) -> StageUsage | None:
        """Dry run (``--dry-run``): the usage this stage *would* have on ``record``, without paying.

        Stages that make no paid calls return None (the default) and simply run during a dry run; the
        dry run stops at the first stage that returns an estimate, since later inputs do not exist yet.
        """
        return None


class DatasetStage:
    """Base class of stages that run once over all finished videos (e.g. the export)."""

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    after: ClassVar[str | None] = None

    def config_slice(self, config: BuildConfig) -> dict[str, Any]:
        return {}

    def finalize(self, records: list[VideoRecord], ctx: StageContext) -> dict[str, Any]:  # pragma: no cover
        """Consume the records of every video that finished ``after``; return summary counts."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Stage] | type[DatasetStage]] = {}
_BUILTINS_LOADED = False


def _load_builtin_stages() -> None:
    """Import the stage modules once, on first use of the registry (not at import: avoids import cycles)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from videoespresso_hf.pipeline.stages import load_stages

    try:
        load_stages()
    except BaseException:
        _BUILTINS_LOADED = False
        raise


S = TypeVar("S", bound=type)


def register_stage(cls: S) -> S:
    """Class decorator adding a stage to the registry (re-registering the same name replaces it)."""
    name = getattr(cls, "name", None)
    if not name or not isinstance(name, str):
        raise TypeError(f"{cls.__name__} needs a class attribute `name`")
    _REGISTRY[name] = cls
    return cls


def registered_stages() -> dict[str, type[Stage] | type[DatasetStage]]:
    """Every registered stage by name (the built-in stage modules are imported on first use)."""
    _load_builtin_stages()
    return dict(_REGISTRY)


def get_stage(name: str) -> Stage | DatasetStage:
    _load_builtin_stages()
    if name not in _REGISTRY:
        raise KeyError(f"unknown stage {name!r}; registered: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]()


def stage_chain(
    until: str | None = None, *, include_dataset_stages: bool = True
) -> list[Stage | DatasetStage]:
    """The registered stages in execution order, following ``after`` links from the first stage.

    Args:
        until: stop after this stage (inclusive); ``None`` runs the whole chain.
        include_dataset_stages: whether to keep :class:`DatasetStage`s in the chain.
    """
    _load_builtin_stages()
    roots = [name for name, cls in _REGISTRY.items() if cls.after is None]
    if len(roots) != 1:
        raise RuntimeError(f"expected exactly one first stage (after=None), found {roots}")
    children: dict[str, list[str]] = {}
    for name, cls in _REGISTRY.items():
        if cls.after is not None:
            children.setdefault(cls.after, []).append(name)
    chain: list[str] = [roots[0]]
    while chain[-1] in children:
        following = children[chain[-1]]
        if len(following) > 1:
            raise RuntimeError(
                f"stages {following} all declare after={chain[-1]!r}; the chain must be linear"
            )
        chain.append(following[0])
    if until is not None:
        if until not in chain:
            raise KeyError(f"unknown stage {until!r}; the chain is {' -> '.join(chain)}")
        chain = chain[: chain.index(until) + 1]
    stages = [_REGISTRY[name]() for name in chain]
    if not include_dataset_stages:
        stages = [stage for stage in stages if not isinstance(stage, DatasetStage)]
    return stages


def stage_fingerprints(stages: Iterable[Stage | DatasetStage], config: BuildConfig) -> dict[str, str]:
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
