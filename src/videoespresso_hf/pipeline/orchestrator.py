"""The build driver: decides what still has to run, hands it to a runner, commits every outcome.

Execution is stage-major: stage k runs on every video that finished stage k-1, then stage k+1 starts.
For each (video, stage) the state store is asked first: a ``done`` result under the current fingerprint is
reused, a ``failed`` one is skipped (unless ``retry_failed``), anything else is (re-)executed and its
outcome committed at once. Killing the process therefore loses only executions in flight, and LLM
answers already received are in ``OUT/llm_cache.sqlite`` anyway, so a resumed run pays for nothing twice.

The driver knows no stage by name: it walks the chain it is given
(:data:`~videoespresso_hf.pipeline.chain.CONSTRUCTION_CHAIN` by default), loads each stage's input as the
stage's ``input_type`` from its upstream stage's saved output, and reads what to report and write from the
stages themselves (``summary_counts``, ``output_file``).

Outputs in ``OUT``: ``state.sqlite`` (the state), ``build_config.json``, ``llm_cache.sqlite`` (LLM stages),
the stages' ``output_file``s (``frames.jsonl``: one row per sampled frame with its caption and dedup
decision; ``groups.jsonl``: the caption groups) and ``summary.json`` (the last run's summary).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from videoespresso_hf.files import write_jsonl_atomic, write_text_atomic
from videoespresso_hf.llm.ledger import format_usd
from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.projection import project_stages
from videoespresso_hf.pipeline.runners import make_runner
from videoespresso_hf.pipeline.runners.base import FatalBuildError, Runner, StageOutcome, StageTask
from videoespresso_hf.pipeline.stages.base import (
    DatasetStage,
    Stage,
    StageContext,
    StageUsage,
    WorkProgress,
    stage_chain,
    stage_fingerprints,
)
from videoespresso_hf.pipeline.stages.llm_calls import LLMStage
from videoespresso_hf.pipeline.state import StageResult, StateStore, video_identity
from videoespresso_hf.pipeline.video_record import VideoRecord

__all__ = ["BuildSummary", "StageStats", "run_build"]

STATE_FILE = "state.sqlite"
CONFIG_FILE = "build_config.json"
SUMMARY_FILE = "summary.json"


@dataclass
class StageStats:
    """What one stage did in this run.

    ``executed`` ran now (done/failed/error split below), ``reused`` were done in an earlier run;
    ``usage`` is this run's usage, ``total_usage`` includes the reused results' recorded usage.
    """

    name: str
    executed: int = 0
    done: int = 0
    reused: int = 0
    failed: int = 0
    errors: int = 0
    skipped_failed: int = 0
    wall_s: float = 0.0
    usage: StageUsage = field(default_factory=StageUsage)
    total_usage: StageUsage = field(default_factory=StageUsage)


@dataclass
class BuildSummary:
    """The result of :func:`run_build` (also written to ``OUT/summary.json``)."""

    out_dir: str
    videos: int = 0
    videos_ok: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # video path -> "stage: reason" (input at fault)
    pending: dict[str, str] = field(default_factory=dict)  # video path -> "stage: error" (retried next run)
    stages: list[StageStats] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # the stages' summary_counts over this run's videos
    until: str | None = None
    dry_run: bool = False
    estimate: StageUsage | None = None
    estimate_stage: str | None = None
    # Dry run: the most each later LLM stage would use (requests, tokens, cost), and the assumption behind it.
    projected: dict[str, StageUsage] = field(default_factory=dict)
    projection_assumption: str | None = None
    stopped: str | None = None  # why the run stopped early (budget, missing key, ...)
    recomputed: list[str] = field(default_factory=list)  # stages whose settings changed since the last run
    problems: list[str] = field(default_factory=list)  # why the result is not usable (every video failed, ...)
    notes: list[str] = field(default_factory=list)  # what to know about the result (a partial export, ...)
    dataset_dir: str | None = None  # the folder datasets.load_dataset reads, when the build exported one
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def frames_sampled(self) -> int:
        return self.counts.get("frames_sampled", 0)

    @property
    def frames_kept(self) -> int | None:
        return self.counts.get("frames_kept")

    @property
    def groups(self) -> int | None:
        return self.counts.get("groups")

    @property
    def ok(self) -> bool:
        return self.stopped is None and not self.pending and not self.problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        """A plain-text report: one row per stage, then totals, failures and outputs."""
        lines = []
        if self.recomputed:
            lines.append(
                "settings changed since the last build in this folder: recomputing "
                + ", ".join(self.recomputed)
                + " (results of earlier settings are kept in state.sqlite)"
            )
        lines += [
            f"videoespresso build: {self.videos} videos, {self.videos_ok} ok, {len(self.failed)} failed, "
            f"{len(self.pending)} to retry; {self.seconds:.1f} s; out: {self.out_dir}"
        ]
        width = max([10, *(len(stats.name) for stats in self.stages)])
        header = (
            f"{'stage':<{width}} {'ran':>5} {'reused':>6} {'failed':>6} {'error':>5} {'wall s':>7} "
            f"{'paid calls':>10} {'cached':>6} {'prompt tok':>10} {'compl tok':>9} {'cost $':>9} {'total $':>9}"
        )
        lines += [header, "-" * len(header)]
        counters, faults = [], []
        for stats in self.stages:
            usage, total = stats.usage, stats.total_usage
            lines.append(
                f"{stats.name:<{width}} {stats.executed:>5} {stats.reused:>6} "
                f"{stats.failed + stats.skipped_failed:>6} {stats.errors:>5} {stats.wall_s:>7.1f} "
                f"{usage.llm_calls:>10} {usage.cached_calls:>6} {usage.prompt_tokens:>10} "
                f"{usage.completion_tokens:>9} {usage.cost_usd:>9.4f} {total.cost_usd:>9.4f}"
            )
            shown = {key: value for key, value in usage.counters.items() if key != "http_attempts"}
            if shown:
                counters.append(f"  {stats.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
            if usage.retries or usage.faults:
                kinds = ", ".join(f"{kind}={n}" for kind, n in sorted(usage.faults.items()))
                faults.append(f"  {stats.name}: {usage.retries} retries; faults {sum(usage.faults.values())} ({kinds})")
        if counters:
            lines += ["this run's counts:", *counters]
        if faults:
            lines += ["LLM faults met (retried where they could be):", *faults]
        frames = f"frames: {self.frames_sampled} sampled"
        if self.frames_kept is not None and self.frames_sampled:
            saved = 1 - self.frames_kept / self.frames_sampled
            frames += f", {self.frames_kept} kept after redundancy removal ({saved:.0%} dropped)"
        if self.groups is not None:
            frames += f", {self.groups} caption groups"
        lines.append(frames)
        if self.estimate is not None:
            lines.append(
                f"dry run: stage {self.estimate_stage!r} would send {_usage_line(self.estimate)} "
                f"({self.estimate.cached_calls} answered by the cache); "
                + (
                    "later stages' inputs do not exist yet, so they are projected below"
                    if self.projected
                    else "no later stage calls the LLM"
                )
            )
            if self.projected:
                lines.append(f"later LLM stages, {self.projection_assumption}:")
                lines += [f"  {name}: at most {_usage_line(usage)}" for name, usage in self.projected.items()]
                total = StageUsage()
                for usage in [self.estimate, *self.projected.values()]:
                    total.merge(usage)
                lines.append(f"  total: at most {_usage_line(total)} (all LLM stages)")
        for title, items in (
            ("failed (not retried; --retry-failed to retry)", self.failed),
            ("errors (retried on the next run)", self.pending),
        ):
            if items:
                lines.append(f"{title}:")
                lines += [f"  {path}: {reason}" for path, reason in items.items()]
        if self.stopped:
            lines.append(f"stopped early: {self.stopped}")
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"problem: {problem}" for problem in self.problems]
        for name, path in self.outputs.items():
            lines.append(f"{name}: {path}")
        if self.dataset_dir:
            lines.append(f"load it with: datasets.load_dataset({self.dataset_dir!r})")
        return "\n".join(lines)


def _usage_line(usage: StageUsage) -> str:
    return (
        f"{usage.llm_calls} requests, ~{usage.prompt_tokens} prompt + ~{usage.completion_tokens} completion "
        f"tokens, ~{format_usd(usage.cost_usd)}"
    )


class _StageBar(WorkProgress):
    """The driver's bar for one stage: work units inside the videos (frames, requests) when the stage reports
    them in this process, else finished videos; the videos done always show after the bar."""

    def __init__(self, stage: Stage, videos: int, in_driver: bool, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.counts_units = in_driver and stage.progress_unit != "video"
        self.videos, self.videos_done = videos, 0
        self.bar = tqdm(
            total=0 if self.counts_units else videos,
            desc=stage.name,
            unit=stage.progress_unit if self.counts_units else "video",
            disable=not enabled or videos == 0,
            file=sys.stderr,
        )

    def plan(self, units: int) -> None:
        self.bar.total += units
        self.bar.refresh()

    def advance(self, units: int = 1) -> None:
        self.bar.update(units)

    def video_done(self) -> None:
        self.videos_done += 1
        if self.counts_units:
            self.bar.set_postfix_str(f"{self.videos_done}/{self.videos} videos")
        else:
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _is_paid(stage: Stage) -> bool:
    return type(stage).estimate is not Stage.estimate


def run_build(
    videos: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    config: BuildConfig | None = None,
    *,
    until: str | None = None,
    runner: str | Runner = "local",
    workers: int | None = None,
    retry_failed: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    argv: list[str] | None = None,
    stages: Sequence[Stage | DatasetStage] = CONSTRUCTION_CHAIN,
) -> BuildSummary:
    """Run (or resume) the construction pipeline on ``videos``, writing everything to ``out_dir``.

    Args:
        videos: video files; duplicates (same content) are built once; missing/broken files fail alone.
        out_dir: output folder (created); re-running on the same folder resumes.
        config: the build configuration (default :class:`BuildConfig`).
        until: last stage to run (e.g. ``"captions"``, ``"dedup"``, ``"groups"``); None runs every stage.
        runner: ``"local"``, ``"ray"`` or a :class:`Runner` instance.
        workers: local process count / Ray local CPUs (None: ``min(cpu count, videos)``).
        retry_failed: also re-run (video, stage) pairs that failed because of their input.
        dry_run: run the free stages, estimate the first paid stage with work left, project the LLM stages
            after it (:mod:`~videoespresso_hf.pipeline.projection`), and stop (no paid call).
        progress: show tqdm bars on stderr.
        argv: the command line, recorded in the ``runs`` table.
        stages: the chain to run (default :data:`~videoespresso_hf.pipeline.chain.CONSTRUCTION_CHAIN`).

    Returns:
        The :class:`BuildSummary` (also saved as ``OUT/summary.json``).

    Raises:
        FileExistsError: ``out_dir`` exists and is not a folder.
        KeyError: ``until`` is not a stage of the chain.
    """
    started = time.perf_counter()
    config = config or BuildConfig()
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    chain = stage_chain(stages, until)
    per_video = [stage for stage in chain if isinstance(stage, Stage)]
    dataset_stages = [stage for stage in chain if isinstance(stage, DatasetStage)]
    fingerprints = stage_fingerprints(chain, config)
    summary = BuildSummary(out_dir=str(out), until=until, dry_run=dry_run)

    state = StateStore(out / STATE_FILE)
    summary.recomputed = state.stale_stages(fingerprints)
    config.save(out / CONFIG_FILE)
    run_id = state.start_run(config.model_dump_json(), argv)
    ctx = StageContext(config=config, out_dir=out, dry_run=dry_run)
    own_runner = isinstance(runner, str)
    active_runner: Runner | None = None
    probed = False
    completed = False
    try:
        # ---- register inputs (deduplicated by content)
        identities = {}
        for path in videos:
            identity = video_identity(path)
            identities.setdefault(identity.video_id, identity)
        for identity in identities.values():
            state.register_video(identity)
        summary.videos = len(identities)
        paths = {video_id: identity.path for video_id, identity in identities.items()}
        inputs: dict[str, str] = {
            video_id: VideoRecord(video_id=video_id, path=identity.path).model_dump_json()
            for video_id, identity in identities.items()
        }

        for stage in per_video:
            fingerprint = fingerprints[stage.name]
            stats = StageStats(stage.name)
            summary.stages.append(stats)
            outputs: dict[str, str] = {}
            tasks: list[StageTask] = []
            for video_id, record_json in inputs.items():
                previous = state.get_result(video_id, stage.name, fingerprint)
                if previous is not None and previous.status == "done":
                    outputs[video_id] = previous.record_json or ""
                    stats.reused += 1
                    stats.total_usage.merge(previous.usage)
                elif previous is not None and previous.status == "failed" and not retry_failed:
                    stats.skipped_failed += 1
                    summary.failed[paths[video_id]] = f"{stage.name}: {previous.error}"
                else:
                    tasks.append(StageTask(video_id, stage.name, fingerprint, record_json))

            if dry_run and _is_paid(stage) and tasks:
                # The first paid stage with work left: estimate it exactly, project the LLM stages after it.
                records = {task.video_id: stage.input_type.model_validate_json(task.record_json) for task in tasks}
                estimate = StageUsage()
                for record in records.values():
                    usage = stage.estimate(record, ctx)
                    if usage is not None:
                        estimate.merge(usage)
                summary.estimate, summary.estimate_stage = estimate, stage.name
                later = [
                    after
                    for after in per_video[per_video.index(stage) + 1 :]
                    if isinstance(after, LLMStage) and after.needs_llm(config)
                ]
                if later:
                    projection = project_stages(later, records, config)
                    summary.projected, summary.projection_assumption = projection.usage, projection.assumption
                inputs = {}
                break

            if tasks and not probed and stage.needs_llm(config):
                # One cheap request before the first paid one: a dead endpoint stops the run in seconds
                # instead of failing every video through the retries.
                probed = True
                summary.stopped = _probe_endpoint(ctx)
                if summary.stopped:
                    break
            if tasks:
                if active_runner is None:
                    active_runner = make_runner(runner, workers=workers) if own_runner else runner  # type: ignore[arg-type]
                stage_started = time.perf_counter()
                bar = _StageBar(stage, len(tasks), active_runner.runs_in_driver(stage), progress)
                ctx.progress = bar
                try:
                    for outcome in active_runner.map(stage, tasks, ctx):
                        _commit(
                            state, outcome, stats, summary, paths, outputs, is_last=stage is per_video[-1]
                        )
                        bar.video_done()
                except FatalBuildError as error:
                    summary.stopped = str(error)
                except Exception as error:  # Ray wraps task errors; unwrap ours
                    cause = _fatal_cause(error)
                    if cause is None:
                        raise
                    summary.stopped = cause
                finally:
                    bar.close()
                    ctx.progress = WorkProgress()
                    stats.wall_s = time.perf_counter() - stage_started
            else:
                for video_id in outputs:
                    if stage is per_video[-1]:
                        state.set_video_status(video_id, "done", last_stage=stage.name)
            stats.total_usage.merge(stats.usage)
            _count_outputs(stage, outputs.values(), summary)
            inputs = outputs
            if summary.stopped:
                break

        if not summary.stopped and not dry_run and per_video:
            summary.videos_ok = len(inputs)
            if summary.videos and not inputs and not summary.pending:
                summary.problems.append(
                    "every video failed: " + "; ".join(f"{path}: {why}" for path, why in summary.failed.items())
                )
            unfinished = {**summary.failed, **summary.pending}
            for stage in dataset_stages if inputs else []:
                stats = StageStats(stage.name)
                summary.stages.append(stats)
                stage_started = time.perf_counter()
                records = [stage.input_type.model_validate_json(inputs[video_id]) for video_id in sorted(inputs)]
                ctx.usage = StageUsage()
                result = stage.finalize(records, ctx, unfinished)
                stats.executed = stats.done = 1
                stats.usage = ctx.usage
                stats.total_usage.merge(ctx.usage)
                stats.wall_s = time.perf_counter() - stage_started
                summary.outputs.update({f"{stage.name}.{key}": path for key, path in result.outputs.items()})
                summary.counts.update(result.counts)
                summary.problems += result.problems
                summary.notes += result.notes
                summary.dataset_dir = result.dataset_dir or summary.dataset_dir
            _write_outputs(state, per_video, fingerprints, out, summary, set(identities))
        completed = True
    finally:
        if own_runner and active_runner is not None:
            active_runner.close()
        summary.seconds = time.perf_counter() - started
        write_text_atomic(out / SUMMARY_FILE, json.dumps(summary.to_dict(), indent=2, default=str) + "\n")
        if not completed:
            status = "interrupted"  # an exception or Ctrl-C: committed results stay, a re-run resumes
        else:
            status = "stopped" if summary.stopped else ("dry_run" if dry_run else "finished")
        state.finish_run(run_id, status, summary.to_dict())
        state.close()
    return summary


def _probe_endpoint(ctx: StageContext) -> str | None:
    """Why the LLM endpoint cannot be used (one line), or None when it answers."""
    from videoespresso_hf.llm import FATAL_ERRORS

    try:
        ctx.llm_client().probe()
    except FATAL_ERRORS as error:
        return f"{type(error).__name__}: {error}"
    return None


def _fatal_cause(error: BaseException) -> str | None:
    """The message of a :class:`FatalBuildError` wrapped by Ray (or chained), else None."""
    seen = 0
    current: BaseException | None = error
    while current is not None and seen < 10:
        if isinstance(current, FatalBuildError):
            return str(current)
        cause = getattr(current, "cause", None)
        if isinstance(cause, BaseException) and cause is not current:
            current = cause
        else:
            current = current.__cause__ or current.__context__
        seen += 1
    text = str(error)
    if "FatalBuildError" in text:
        return text.split("FatalBuildError:", 1)[-1].strip().splitlines()[0]
    return None


def _commit(
    state: StateStore,
    outcome: StageOutcome,
    stats: StageStats,
    summary: BuildSummary,
    paths: dict[str, str],
    outputs: dict[str, str],
    *,
    is_last: bool,
) -> None:
    state.save_result(
        StageResult(
            video_id=outcome.video_id,
            stage=outcome.stage,
            fingerprint=outcome.fingerprint,
            status=outcome.status,  # type: ignore[arg-type]
            record_json=outcome.record_json,
            error=outcome.error,
            seconds=outcome.seconds,
            usage=outcome.usage,
        )
    )
    stats.executed += 1
    stats.usage.merge(outcome.usage)
    path = paths[outcome.video_id]
    if outcome.status == "done":
        stats.done += 1
        outputs[outcome.video_id] = outcome.record_json or ""
        state.set_video_status(outcome.video_id, "done" if is_last else "pending", last_stage=outcome.stage)
    elif outcome.status == "failed":
        stats.failed += 1
        summary.failed[path] = f"{outcome.stage}: {outcome.error}"
        state.set_video_status(outcome.video_id, "failed", error=f"{outcome.stage}: {outcome.error}")
    else:
        stats.errors += 1
        summary.pending[path] = f"{outcome.stage}: {outcome.error}"
        state.set_video_status(outcome.video_id, "pending", error=f"{outcome.stage}: {outcome.error}")


def _count_outputs(stage: Stage, records_json: Iterable[str], summary: BuildSummary) -> None:
    """Add the stage's ``summary_counts`` over this run's videos to the summary."""
    if type(stage).summary_counts is Stage.summary_counts:
        return
    totals: dict[str, int] = {}
    for record_json in records_json:
        for key, value in stage.summary_counts(stage.output_type.model_validate_json(record_json)).items():
            totals[key] = totals.get(key, 0) + value
    summary.counts.update(totals)


def _write_outputs(
    state: StateStore,
    stages: list[Stage],
    fingerprints: dict[str, str],
    out: Path,
    summary: BuildSummary,
    wanted: set[str],
) -> None:
    """Each ``output_file`` named in the chain, from the last stage reached that names it.

    Only this run's input videos are written (the state may hold others from earlier runs).
    """
    writers = {stage.output_file: stage for stage in stages if stage.output_file is not None}
    for file_name, stage in writers.items():
        results = state.results(stage.name, fingerprints[stage.name], status="done")

        def rows(stage: Stage = stage, results: list[StageResult] = results) -> Iterable[dict[str, Any]]:
            for result in results:
                if result.video_id in wanted:
                    yield from stage.output_rows(stage.output_type.model_validate_json(result.record_json or ""))

        write_jsonl_atomic(out / file_name, rows())
        summary.outputs[Path(file_name).stem] = str(out / file_name)
