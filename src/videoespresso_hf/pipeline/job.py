"""``videoespresso_hf.build(...)``: the construction pipeline as one Python call (``videoespresso build``).

The job owns every decision the command line used to make: which config a build starts from (and whether
it may be trusted with the API key), how single settings override it, whether a budget can be enforced,
whether an endpoint can be reached, which runner executes the stages. It validates all of that before the
first frame is decoded or the first request is sent, raising :class:`BuildSettingsError` (a ``ValueError``
with one line) for anything the caller must fix; the CLI maps that to exit status 2.

Secrets go only where the caller sent them. The config a build starts from is either named by the caller
(``config=`` / ``config_file=``: trusted) or found in ``OUT/build_config.json`` on a resume (not trusted:
a build folder travels between people). A config found there may not choose where the API key goes: when
its endpoint or key variable differs from the caller's (or the defaults), the build stops before any
request and says how to proceed (:func:`check_found_config`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from videoespresso_hf.defaults import CLIP_MODEL, CONSTRUCTION_LLM, DETECTOR_MODEL, EMBEDDING_MODEL
from videoespresso_hf.errors import first_line
from videoespresso_hf.llm.config import LLMConfig, redact_url
from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import DEFAULT_CAPTION_MODELS, BuildConfig
from videoespresso_hf.pipeline.orchestrator import CONFIG_FILE, run_build
from videoespresso_hf.pipeline.report import BuildSummary
from videoespresso_hf.pipeline.runners import make_runner
from videoespresso_hf.pipeline.runners.base import Runner
from videoespresso_hf.pipeline.stages.base import DatasetStage, Stage, stage_chain

__all__ = [
    "VIDEO_SUFFIXES",
    "BuildArguments",
    "BuildResult",
    "BuildSettingsError",
    "build",
    "check_found_config",
    "endpoint_models",
    "expand_videos",
    "resolve_config",
]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts")


class BuildSettingsError(ValueError):
    """A setting of the build the caller must fix; the message is one line and names the flag to change."""


@dataclass
class BuildResult:
    """What :func:`build` returns: the report as printed, where the outputs are, what it counted and cost.

    Attributes:
        summary: the plain-text report (``videoespresso build`` prints it), or the effective config's JSON
            for ``print_config=True``.
        out_dir: the build folder.
        outputs: output name -> file (``frames``, ``groups``, ``export.manifest``, ...).
        dataset_dir: the folder ``datasets.load_dataset`` reads, when the build exported one.
        counts: the stages' totals (``frames_sampled``, ``frames_kept``, ``groups``, QA counts, ...).
        cost_usd: LLM spend of this run (reused results cost nothing again).
        total_cost_usd: LLM spend of every result the build now holds, earlier runs' included.
        config: the effective build configuration.
        key_destination: which environment variable's value goes to which host (one line).
        report: the full run summary (per-stage statistics, failures, dry-run estimates); None when nothing ran.
    """

    summary: str
    out_dir: Path
    config: BuildConfig
    key_destination: str
    outputs: dict[str, Path] = field(default_factory=dict)
    dataset_dir: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    total_cost_usd: float = 0.0
    report: BuildSummary | None = None

    @property
    def ok(self) -> bool:
        """Finished with nothing left to retry and no problem (a dry run or a printed config is ok)."""
        return self.report is None or self.report.ok

    @property
    def messages(self) -> list[str]:
        """Why the build is not ok, one line each (what the CLI prints on stderr)."""
        if self.report is None:
            return []
        lines = list(self.report.problems)
        if self.report.stopped:
            lines.append(f"stopped: {self.report.stopped}")
        if self.report.pending:
            lines.append(
                f"{len(self.report.pending)} video(s) hit transient errors; re-run the same command to retry "
                "them (finished work is kept)"
            )
        return lines


_STAGES = BuildConfig()  # the stage settings' defaults, quoted in the help of the flags that override them


def _help(text: str, **metadata: Any) -> dict[str, Any]:
    return {"help": text, **metadata}


@dataclass(kw_only=True)
class BuildArguments:
    """Everything one :func:`build` call takes (but the starting :class:`BuildConfig`): ``videoespresso build``'s
    flags are generated from these fields, so each default and help text lives here once.

    The stage settings (``model`` to ``batch_wait``) default to None, "not set here": the starting config
    (``config_file``, else ``OUT/build_config.json``, else :class:`BuildConfig`'s defaults, quoted in each help)
    keeps its value. Paths may be given as :class:`~pathlib.Path` too; from Python ``runner`` may also be a
    :class:`~videoespresso_hf.pipeline.runners.base.Runner` instance.
    """

    videos: list[str] = field(metadata=_help("video files or folders (searched recursively)"))
    out: str = field(metadata=_help("output folder (state, caches, frames.jsonl, groups.jsonl); the same folder resumes"))
    until: str | None = field(default=None, metadata=_help(
        "last stage to run (" + ", ".join(stage.name for stage in CONSTRUCTION_CHAIN) + "; default: all)"))
    runner: Literal["local", "ray"] = field(default="local", metadata=_help(
        "where stages run: local (process pool) or ray (Ray Data)"))
    ray_address: str | None = field(default=None, metadata=_help(
        "Ray cluster address, with --runner ray (default: start a local Ray)"))
    workers: int | None = field(default=None, metadata=_help("processes / Ray CPUs (default: min(cpus, videos))"))
    config_file: str | None = field(default=None, metadata=_help(
        "a build_config.json to start from (trusted; default: the one an earlier run left in --out, which may not "
        "choose the endpoint or key variable)", aliases=["--config"]))
    captioner: Literal["openai", "transformers"] | None = field(default=None, metadata=_help(
        f"caption backend (default: {_STAGES.captions.backend})"))
    model: str | None = field(default=None, metadata=_help(
        "captioning model id (endpoint model or HF checkpoint; default: "
        + ", ".join(f"{model} for {backend}" for backend, model in DEFAULT_CAPTION_MODELS.items())
        + "); with --base-url and no --llm-model, the QA stages use it too (a vLLM server serves one model)"))
    llm_model: str | None = field(default=None, metadata=_help(
        f"model of the QA, filter, evidence and distractor stages (default: {CONSTRUCTION_LLM}, or --model when "
        "--base-url is given)"))
    base_url: str | None = field(default=None, metadata=_help(
        "OpenAI-compatible endpoint, e.g. http://host:8000/v1 (default: the OpenAI API)"))
    api_key_env: str | None = field(default=None, metadata=_help(
        f"environment variable holding the endpoint's API key (default: {_STAGES.llm.api_key_env}); a "
        "build_config.json found in --out cannot change it (nor the endpoint): pass it here or name the file with "
        "--config"))
    concurrency: int | None = field(default=None, metadata=_help(
        f"LLM requests in flight (default: {_STAGES.llm.max_concurrency})"))
    sampling: Literal["adaptive", "fps", "uniform"] | None = field(default=None, metadata=_help(
        f"frame sampling (default: {_STAGES.frames.strategy})"))
    max_frames: int | None = field(default=None, metadata=_help("cap on sampled frames per video (default: no cap)"))
    embedder: str | None = field(default=None, metadata=_help(
        f"sentence-transformers model for redundancy removal, grounding and distractors (default: {EMBEDDING_MODEL})",
        aliases=["--embedding-model", "--embedding_model"]))
    detector_model: str | None = field(default=None, metadata=_help(
        f"GroundingDINO checkpoint boxing key objects (default: {DETECTOR_MODEL})"))
    clip_model: str | None = field(default=None, metadata=_help(
        f"CLIP checkpoint verifying each box (default: {CLIP_MODEL})"))
    grounding: bool | None = field(default=None, metadata=_help(
        f"spatial grounding of key objects (default: {str(_STAGES.grounding.spatial).lower()}); --no-grounding "
        "skips it (no GroundingDINO/CLIP download; key objects get no boxes)"))
    tau: float | None = field(default=None, metadata=_help(
        f"redundancy threshold (cosine similarity; default: {_STAGES.dedup.tau})"))
    group_size: int | None = field(default=None, metadata=_help(
        f"captions per group (default: {_STAGES.groups.size}, the paper's)"))
    max_cost: float | None = field(default=None, metadata=_help(
        "stop before LLM spend exceeds this (USD; default: no cap)"))
    price_per_1m_input: float | None = field(default=None, metadata=_help(
        "USD per 1M prompt tokens of the endpoint's models (needed for --max-cost when the price is unknown)"))
    price_per_1m_output: float | None = field(default=None, metadata=_help(
        "USD per 1M completion tokens of the endpoint's models (with --price-per-1m-input)"))
    batch: bool = field(default=False, metadata=_help(
        "send the QA/filter/evidence/distractor requests through the OpenAI Batch API (about half price; resumable)"))
    batch_wait: float | None = field(default=None, metadata=_help(
        "with --batch: seconds to wait for a batch before stopping (0: submit and exit; re-run to collect; default: "
        + ("the 24 h completion window" if _STAGES.llm_batch.max_wait_s is None else str(_STAGES.llm_batch.max_wait_s))
        + ")"))
    dry_run: bool = field(default=False, metadata=_help(
        "sample frames and estimate every LLM stage's cost (captions exactly, later ones as upper bounds); no call"))
    print_config: bool = field(default=False, metadata=_help(
        "print the effective build config (JSON: --config or OUT/build_config.json, then flags; URLs redacted) and "
        "which key variable goes to which host, and exit"))
    retry_failed: bool = field(default=False, metadata=_help("retry videos that failed on their input"))
    progress: bool = field(default=True, metadata=_help(
        "tqdm progress bars on stderr (--no-progress: none, the libraries' bars included)"))


#: The fields of :class:`BuildArguments` that say how the job runs; the others are stage settings over the
#: starting config (:func:`resolve_config`'s keyword arguments).
_JOB_FIELDS = frozenset(
    {"videos", "out", "config_file", "until", "runner", "ray_address", "workers", "retry_failed", "dry_run",
     "print_config", "progress"}
)  # fmt: skip


def _arguments(
    config: BuildArguments | BuildConfig | None, kwargs: dict[str, Any]
) -> tuple[BuildArguments, BuildConfig | None]:
    """The call's arguments and its starting config, from either calling convention of :func:`build`."""
    if isinstance(config, BuildArguments):
        if kwargs:
            raise BuildSettingsError("give build() either BuildArguments or keyword arguments, not both")
        return config, None
    if config is not None and not isinstance(config, BuildConfig):
        raise BuildSettingsError(f"build() takes a BuildConfig or BuildArguments, got {type(config).__name__}")
    known = {item.name for item in fields(BuildArguments)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise BuildSettingsError(f"build() got unknown setting(s) {', '.join(unknown)}")
    missing = [name for name in ("videos", "out") if name not in kwargs]
    if missing:
        raise BuildSettingsError(f"build() needs {' and '.join(f'{name}=' for name in missing)}")
    return BuildArguments(**kwargs), config


def expand_videos(inputs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, folders expanded to video files (missing paths are kept: :func:`build` reports them)."""
    videos: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            videos.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    # Hidden files (macOS "._clip.mp4" resource forks, editor temp files) are not videos.
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".")
                )
            )
        else:
            videos.append(path)
    return videos


def check_found_config(
    found: BuildConfig, source: str | os.PathLike[str], *, base_url: str | None, api_key_env: str | None
) -> None:
    """Refuse a config the caller did not name when it would choose where the API key goes.

    ``found`` was read from a build folder (``OUT/build_config.json``), not named by the caller. Its
    endpoint (``llm.base_url``) and key variable (``llm.api_key_env``) must be the defaults, unless the
    caller sets them explicitly (``base_url`` / ``api_key_env``), in which case the caller's value is used
    and the found one never is. Otherwise a copied build folder could send ``$HF_TOKEN`` to any host.

    Raises:
        BuildSettingsError: before any request, saying to pass the settings or name the file.
    """
    defaults = LLMConfig()
    differing = []
    if base_url is None and redact_url(found.llm.base_url) != redact_url(defaults.base_url):
        differing.append(f"endpoint {redact_url(found.llm.base_url)}")
    if api_key_env is None and found.llm.api_key_env != defaults.api_key_env:
        differing.append(f"key variable ${found.llm.api_key_env}")
    if differing:
        raise BuildSettingsError(
            f"{source} was not named on the command line and sets the {' and the '.join(differing)}: an API key "
            "goes only where you send it, so pass them explicitly (--base-url URL, --api-key-env VAR) or name "
            f"the file with --config {source}"
        )


def resolve_config(
    config: BuildConfig | None = None,
    *,
    out: str | os.PathLike[str],
    config_file: str | os.PathLike[str] | None = None,
    captioner: Literal["openai", "transformers"] | None = None,
    model: str | None = None,
    llm_model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    concurrency: int | None = None,
    max_cost: float | None = None,
    sampling: Literal["adaptive", "fps", "uniform"] | None = None,
    max_frames: int | None = None,
    embedder: str | None = None,
    tau: float | None = None,
    group_size: int | None = None,
    detector_model: str | None = None,
    clip_model: str | None = None,
    grounding: bool | None = None,
    price_per_1m_input: float | None = None,
    price_per_1m_output: float | None = None,
    batch: bool = False,
    batch_wait: float | None = None,
) -> BuildConfig:
    """The effective build config: a starting config, then single settings over it.

    The starting config is ``config`` (trusted), else ``config_file`` (trusted), else the one an earlier
    run left in ``OUT/build_config.json`` (checked by :func:`check_found_config`), else the defaults.
    Every other argument, when not None, overrides one key (the CLI flag of the same name in brackets):

    Args:
        captioner: ``captions.backend`` (``--captioner``).
        model: ``captions.model``; with ``base_url`` and no ``llm_model`` the QA stages use it too, since a
            self-hosted server (vLLM, TGI) serves the one model it was started with (``--model``).
        llm_model: ``llm.model``, the QA, filter, evidence and distractor stages' model (``--llm-model``).
        base_url: ``llm.base_url``, the OpenAI-compatible endpoint (``--base-url``).
        api_key_env: ``llm.api_key_env``, the environment variable holding the key (``--api-key-env``).
        concurrency: ``llm.max_concurrency`` (``--concurrency``).
        max_cost: ``llm.budget_usd`` in USD (``--max-cost``).
        sampling / max_frames: ``frames.strategy`` / ``frames.max_frames`` (``--sampling``, ``--max-frames``).
        embedder / tau: ``dedup.embedder`` / ``dedup.tau`` (``--embedding-model``, ``--tau``).
        group_size: ``groups.size`` (``--group-size``).
        detector_model / clip_model / grounding: ``grounding.detector`` / ``.clip`` / ``.spatial``.
        price_per_1m_input / price_per_1m_output: USD per 1M tokens for every model the endpoint is asked
            for (both or neither).
        batch / batch_wait: send the QA stages through the OpenAI Batch API; seconds to wait for a batch.

    Raises:
        BuildSettingsError: an unreadable or invalid config, a found config that would redirect the key,
            prices given alone.
    """
    source: Path | None = None
    if config is None:
        found = Path(out).expanduser() / CONFIG_FILE
        source = Path(config_file).expanduser() if config_file is not None else (found if found.is_file() else None)
        try:
            config = BuildConfig.load(source) if source is not None else BuildConfig()
        except (OSError, ValueError) as error:
            raise BuildSettingsError(f"cannot read config {source}: {' '.join(str(error).split())[:300]}") from None
        if source is not None and config_file is None:
            check_found_config(config, source, base_url=base_url, api_key_env=api_key_env)
    updates: dict[tuple[str, str], Any] = {
        ("captions", "backend"): captioner,
        ("captions", "model"): model,
        ("llm", "model"): llm_model,
        ("llm", "base_url"): base_url,
        ("llm", "api_key_env"): api_key_env,
        ("llm", "max_concurrency"): concurrency,
        ("llm", "budget_usd"): max_cost,
        ("frames", "strategy"): sampling,
        ("frames", "max_frames"): max_frames,
        ("dedup", "embedder"): embedder,
        ("dedup", "tau"): tau,
        ("groups", "size"): group_size,
        ("grounding", "detector"): detector_model,
        ("grounding", "clip"): clip_model,
        ("grounding", "spatial"): grounding,
    }
    if llm_model is None and base_url and model and captioner != "transformers":
        # A self-hosted OpenAI-compatible server (vLLM, TGI) serves the one model it was started with: asking
        # it for GPT-4o would fail, so the QA stages follow the captioner's model there.
        updates["llm", "model"] = model
    data = config.model_dump()
    for (section, key), value in updates.items():
        if value is not None:
            data[section][key] = value
    if (price_per_1m_input is None) != (price_per_1m_output is None):
        raise BuildSettingsError("--price-per-1m-input and --price-per-1m-output go together: pass both")
    try:
        if price_per_1m_input is not None:
            price = (price_per_1m_input, price_per_1m_output)
            for name in endpoint_models(BuildConfig.model_validate(data)):
                data["llm"]["prices"][name] = price
        if batch or batch_wait is not None:
            data["llm_batch"]["enabled"] = True
            if batch_wait is not None:
                data["llm_batch"]["max_wait_s"] = batch_wait
        return BuildConfig.model_validate(data)
    except ValueError as error:
        raise BuildSettingsError(f"invalid setting: {' '.join(str(error).split())[:300]}") from None


def endpoint_models(config: BuildConfig, chain: Sequence[Stage | DatasetStage] = CONSTRUCTION_CHAIN) -> list[str]:
    """The models the build asks the endpoint for (those of ``chain``'s stages), each once."""
    models = [name for stage in chain for name in stage.endpoint_models(config)]
    return list(dict.fromkeys(models))


def _check_budget(config: BuildConfig, chain: Sequence[Stage | DatasetStage]) -> None:
    """A budget needs a price for every model it pays for; without one the cap would silently cap nothing."""
    if config.llm.budget_usd is None:
        return
    unpriced = [
        name
        for name in endpoint_models(config, chain)
        if config.llm.model_copy(update={"model": name}).price_per_1m() is None
    ]
    if unpriced:
        raise BuildSettingsError(
            f"--max-cost cannot be enforced: no price is known for {', '.join(unpriced)}; pass "
            "--price-per-1m-input and --price-per-1m-output (USD per 1M tokens, 0 for a free local server)"
        )


def _check_endpoint(config: BuildConfig, chain: Sequence[Stage | DatasetStage], dry_run: bool) -> None:
    """Fail early and clearly when an LLM stage will run but no endpoint can be reached."""
    if dry_run or not endpoint_models(config, chain):
        return
    llm = config.llm
    if llm.is_loopback() or os.environ.get(llm.api_key_env):
        return
    raise BuildSettingsError(
        f"no API key for {llm.endpoint_label()}: set ${llm.api_key_env}, or pass --base-url http://HOST:PORT/v1 for "
        "a local OpenAI-compatible server (e.g. vLLM serving OpenGVLab/InternVL2-8B), or caption locally with "
        "--captioner transformers; --dry-run estimates the cost without calling anything"
    )


def _make_runner(runner: str | Runner, workers: int | None, ray_address: str | None) -> tuple[Runner, bool]:
    """The runner to use and whether this job owns (and so closes) it."""
    if not isinstance(runner, str):
        return runner, False
    if runner not in ("local", "ray"):
        raise BuildSettingsError(f"unknown runner {runner!r}; use 'local' or 'ray'")
    if runner == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise BuildSettingsError("--runner ray needs Ray Data: pip install 'videoespresso-hf[ray]'") from None
    elif ray_address is not None:
        raise BuildSettingsError("--ray-address needs --runner ray")
    try:
        return make_runner(runner, workers=workers, ray_address=ray_address), True
    except ConnectionError as error:  # e.g. `auto` with no cluster started (`ray start --head`)
        raise BuildSettingsError(
            f"no Ray cluster at --ray-address {ray_address} ({first_line(error)}); start one with "
            "`ray start --head`, or leave out --ray-address to run a local Ray"
        ) from None


def _quiet_library_bars() -> None:
    """No progress bars from the libraries either ("Loading weights" in transformers, Hub downloads)."""
    from huggingface_hub.utils import disable_progress_bars

    disable_progress_bars()
    # transformers reads this switch when it is imported (later, by the stages that use it), or now if it is.
    if "transformers" in sys.modules:
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def build(
    config: BuildArguments | BuildConfig | None = None,
    /,
    *,
    argv: list[str] | None = None,
    **kwargs: Any,
) -> BuildResult:
    """Run (or resume) the VideoEspresso construction pipeline: videos in, caption groups and QA out.

    State lives in ``OUT/state.sqlite``: calling again with the same arguments resumes where the last call
    stopped, without redoing or re-paying finished work.

    >>> import videoespresso_hf as ve
    >>> result = ve.build(videos=["videos/"], out="build/", base_url="http://127.0.0.1:8000/v1",
    ...                   model="OpenGVLab/InternVL2-8B", until="groups")             # doctest: +SKIP
    >>> print(result.summary); result.outputs["groups"]                               # doctest: +SKIP

    Args:
        config: a :class:`BuildArguments` (everything, as ``videoespresso build`` passes it), or the
            :class:`BuildConfig` to start from (trusted as given) with the arguments as keywords; None starts
            from ``config_file``, else ``OUT/build_config.json`` left by an earlier run, else the defaults
            (:func:`resolve_config`).
        argv: the command line, recorded in ``state.sqlite``'s ``runs`` table.
        **kwargs: :class:`BuildArguments`' fields (``videos=`` and ``out=`` required; ``until=``, ``dry_run=``,
            ``base_url=``, ``model=``, ``tau=``, ...), when ``config`` is not a :class:`BuildArguments`.

    Returns:
        A :class:`BuildResult` (summary text, output paths, counts, cost, the full report).

    Raises:
        BuildSettingsError: anything to fix before the build can start (one line; nothing was run or sent).
    """
    arguments, start = _arguments(config, kwargs)
    videos, until, workers = arguments.videos, arguments.until, arguments.workers
    settings = {item.name: getattr(arguments, item.name) for item in fields(arguments) if item.name not in _JOB_FIELDS}
    if workers is not None and workers < 1:
        raise BuildSettingsError("--workers must be >= 1")
    out_dir = Path(arguments.out).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildSettingsError(f"--out {out_dir} exists and is not a folder")
    if isinstance(videos, str | os.PathLike):
        videos = [videos]
    paths = expand_videos(videos)
    if not paths:
        raise BuildSettingsError("no video files found in " + ", ".join(map(str, videos)))
    try:
        chain = stage_chain(CONSTRUCTION_CHAIN, until)
    except KeyError:
        names = ", ".join(stage.name for stage in CONSTRUCTION_CHAIN)
        raise BuildSettingsError(f"unknown stage {until!r} (--until); stages: {names}") from None
    effective = resolve_config(start, out=out_dir, config_file=arguments.config_file, **settings)
    destination = effective.llm.key_destination()
    if arguments.print_config:
        return BuildResult(
            summary=effective.stored_json(), out_dir=out_dir, config=effective, key_destination=destination
        )
    _check_budget(effective, chain)
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        raise BuildSettingsError(f"no such file: {', '.join(missing)} (fix the path or leave it out)")
    _check_endpoint(effective, chain, arguments.dry_run)
    if not arguments.progress:
        _quiet_library_bars()
    active, owned = _make_runner(arguments.runner, workers, arguments.ray_address)
    try:
        report = run_build(
            paths,
            out_dir,
            effective,
            until=until,
            runner=active,
            workers=workers,
            retry_failed=arguments.retry_failed,
            dry_run=arguments.dry_run,
            progress=arguments.progress,
            argv=argv,
            key_destination=destination if endpoint_models(effective, chain) else None,
        )
    finally:
        if owned:
            active.close()
    return BuildResult(
        summary=report.format(),
        out_dir=Path(report.out_dir),
        config=effective,
        key_destination=destination,
        outputs={name: Path(path) for name, path in report.outputs.items()},
        dataset_dir=Path(report.dataset_dir) if report.dataset_dir else None,
        counts=dict(report.counts),
        cost_usd=sum(stats.usage.cost_usd for stats in report.stages),
        total_cost_usd=sum(stats.total_usage.cost_usd for stats in report.stages),
        report=report,
    )
