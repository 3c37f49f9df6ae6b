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
from pathlib import Path
from typing import Any

from videoespresso_hf.files import write_jsonl_atomic, write_text_atomic
from videoespresso_hf.llm.config import redact_url
from videoespresso_hf.pipeline.chain import CONSTRUCTION_CHAIN
from videoespresso_hf.pipeline.config import BuildConfig
from videoespresso_hf.pipeline.projection import project_stages
from videoespresso_hf.pipeline.report import BuildSummary, StageStats
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
    ray_address: str | None = None,
    retry_failed: bool = False,
    dry_run: bool = False,
    progress: bool = True,
    argv: list[str] | None = None,
    stages: Sequence[Stage | DatasetStage] = CONSTRUCTION_CHAIN,
    key_destination: str | None = None,
) -> BuildSummary:
    """Run (or resume) the construction pipeline on ``videos``, writing everything to ``out_dir``.

    The driver under :func:`videoespresso_hf.build` (which validates settings and endpoints first): it
    plans each stage from the state store (reuse what is done, skip what failed), probes the endpoint
    once before the first paid request, runs what is left on the runner, and finalizes (dataset stages,
    output files, ``OUT/summary.json``).

    Args:
        videos: video files; duplicates (same content) are built once; missing/broken files fail alone.
        out_dir: output folder (created); re-running on the same folder resumes.
        config: the build configuration (default :class:`BuildConfig`).
        until: last stage to run (e.g. ``"captions"``, ``"dedup"``, ``"groups"``); None runs every stage.
        runner: ``"local"``, ``"ray"`` or a :class:`Runner` instance (which the caller closes).
        workers: local process count / Ray local CPUs (None: ``min(cpu count, videos)``).
        ray_address: the Ray cluster a ``"ray"`` runner joins (None: a local Ray).
        retry_failed: also re-run (video, stage) pairs that failed because of their input.
        dry_run: run the free stages, estimate the first paid stage with work left, project the LLM stages
            after it (:mod:`~videoespresso_hf.pipeline.projection`), and stop (no paid call).
        progress: show tqdm bars on stderr.
        argv: the command line, recorded in the ``runs`` table.
        stages: the chain to run (default :data:`~videoespresso_hf.pipeline.chain.CONSTRUCTION_CHAIN`).
        key_destination: the line saying which key variable goes to which host, shown in the report.

    Returns:
        The :class:`BuildSummary` (also saved as ``OUT/summary.json``).

    Raises:
        FileExistsError: ``out_dir`` exists and is not a folder.
        KeyError: ``until`` is not a stage of the chain.
    """
    run = _BuildRun.plan(videos, out_dir, config or BuildConfig(), until, stages, dry_run, argv)
    run.summary.key_destination = key_destination
    completed = False
    try:
        inputs = run.run_stages(runner, workers, ray_address, retry_failed, progress)
        if not run.summary.stopped and not dry_run and run.per_video:
            run.finalize(inputs)
        completed = True
    finally:
        run.close(completed)
    return run.summary


class _BuildRun:
    """One run of :func:`run_build`: plan -> (per stage: reuse, probe, run) -> finalize -> close."""

    def __init__(
        self,
        out: Path,
        config: BuildConfig,
        chain: list[Stage | DatasetStage],
        summary: BuildSummary,
        state: StateStore,
        run_id: int,
        dry_run: bool,
    ) -> None:
        self.started = time.perf_counter()
        self.out, self.config, self.summary, self.state, self.run_id = out, config, summary, state, run_id
        self.dry_run = dry_run
        self.per_video = [stage for stage in chain if isinstance(stage, Stage)]
        self.dataset_stages = [stage for stage in chain if isinstance(stage, DatasetStage)]
        self.fingerprints = stage_fingerprints(chain, config)
        self.ctx = StageContext(config=config, out_dir=out, dry_run=dry_run)
        self.identities: dict[str, Any] = {}
        self.paths: dict[str, str] = {}
        self.runner: Runner | None = None
        self.owns_runner = False
        self.probed = False

    # ---------------------------------------------------------------- plan

    @classmethod
    def plan(
        cls,
        videos: Sequence[str | os.PathLike[str]],
        out_dir: str | os.PathLike[str],
        config: BuildConfig,
        until: str | None,
        stages: Sequence[Stage | DatasetStage],
        dry_run: bool,
        argv: list[str] | None,
    ) -> _BuildRun:
        """Open the state, record the run and register the inputs (deduplicated by content)."""
        out = Path(out_dir).expanduser().resolve()
        out.mkdir(parents=True, exist_ok=True)
        chain = stage_chain(stages, until)
        summary = BuildSummary(out_dir=str(out), until=until, dry_run=dry_run)
        state = StateStore(out / STATE_FILE)
        run = cls(out, config, chain, summary, state, 0, dry_run)
        summary.recomputed = state.stale_stages(run.fingerprints)
        config.save(out / CONFIG_FILE)
        run.run_id = state.start_run(config.stored_json(), _redacted_argv(argv))
        try:
            for path in videos:
                identity = video_identity(path)
                run.identities.setdefault(identity.video_id, identity)
            for identity in run.identities.values():
                state.register_video(identity)
        except BaseException:
            run.close(False)
            raise
        summary.videos = len(run.identities)
        run.paths = {video_id: identity.path for video_id, identity in run.identities.items()}
        return run

    def _reuse(self, stage: Stage, inputs: dict[str, str], retry_failed: bool, stats: StageStats):
        """Split a stage's inputs into results done earlier (reused) and tasks still to run."""
        fingerprint = self.fingerprints[stage.name]
        outputs: dict[str, str] = {}
        tasks: list[StageTask] = []
        for video_id, record_json in inputs.items():
            previous = self.state.get_result(video_id, stage.name, fingerprint)
            if previous is not None and previous.status == "done":
                outputs[video_id] = previous.record_json or ""
                stats.reused += 1
                stats.total_usage.merge(previous.usage)
            elif previous is not None and previous.status == "failed" and not retry_failed:
                stats.skipped_failed += 1
                self.summary.failed[self.paths[video_id]] = f"{stage.name}: {previous.error}"
            else:
                tasks.append(StageTask(video_id, stage.name, fingerprint, record_json))
        return outputs, tasks

    def _estimate(self, stage: Stage, tasks: list[StageTask]) -> None:
        """Dry run, at the first paid stage with work left: estimate it exactly, project the LLM stages after it."""
        records = {task.video_id: stage.input_type.model_validate_json(task.record_json) for task in tasks}
        estimate = StageUsage()
        for record in records.values():
            usage = stage.estimate(record, self.ctx)
            if usage is not None:
                estimate.merge(usage)
        self.summary.estimate, self.summary.estimate_stage = estimate, stage.name
        later = [
            after
            for after in self.per_video[self.per_video.index(stage) + 1 :]
            if isinstance(after, LLMStage) and after.needs_llm(self.config)
        ]
        if later:
            projection = project_stages(later, records, self.config)
            self.summary.projected, self.summary.projection_assumption = projection.usage, projection.assumption

    # ---------------------------------------------------------------- probe

    def _probe(self) -> bool:
        """One cheap request before the first paid one: a dead endpoint stops the run in seconds instead of
        failing every video through the retries. Whether the run may go on."""
        self.probed = True
        self.summary.stopped = _probe_endpoint(self.ctx)
        return self.summary.stopped is None

    # ---------------------------------------------------------------- run

    def run_stages(
        self, runner: str | Runner, workers: int | None, ray_address: str | None, retry_failed: bool, progress: bool
    ) -> dict[str, str]:
        """Every per-video stage in order; returns the last stage's outputs (video id -> record JSON)."""
        inputs: dict[str, str] = {
            video_id: VideoRecord(video_id=video_id, path=identity.path).model_dump_json()
            for video_id, identity in self.identities.items()
        }
        for stage in self.per_video:
            stats = StageStats(stage.name)
            self.summary.stages.append(stats)
            outputs, tasks = self._reuse(stage, inputs, retry_failed, stats)
            if self.dry_run and _is_paid(stage) and tasks:
                self._estimate(stage, tasks)
                return {}
            if tasks and not self.probed and stage.needs_llm(self.config) and not self._probe():
                return {}
            is_last = stage is self.per_video[-1]
            if tasks:
                self._run_stage(stage, tasks, outputs, stats, runner, workers, ray_address, progress, is_last)
            elif is_last:
                for video_id in outputs:
                    self.state.set_video_status(video_id, "done", last_stage=stage.name)
            stats.total_usage.merge(stats.usage)
            _count_outputs(stage, outputs.values(), self.summary)
            inputs = outputs
            if self.summary.stopped:
                break
        return inputs

    def _run_stage(
        self,
        stage: Stage,
        tasks: list[StageTask],
        outputs: dict[str, str],
        stats: StageStats,
        runner: str | Runner,
        workers: int | None,
        ray_address: str | None,
        progress: bool,
        is_last: bool,
    ) -> None:
        if self.runner is None:
            self.owns_runner = isinstance(runner, str)
            self.runner = (
                make_runner(runner, workers=workers, ray_address=ray_address) if isinstance(runner, str) else runner
            )
        stage_started = time.perf_counter()
        bar = _StageBar(stage, len(tasks), self.runner.runs_in_driver(stage), progress)
        self.ctx.progress = bar
        try:
            for outcome in self.runner.map(stage, tasks, self.ctx):
                _commit(self.state, outcome, stats, self.summary, self.paths, outputs, is_last=is_last)
                bar.video_done()
        except FatalBuildError as error:
            self.summary.stopped = str(error)
        except Exception as error:  # Ray wraps task errors; unwrap ours
            cause = _fatal_cause(error)
            if cause is None:
                raise
            self.summary.stopped = cause
        finally:
            bar.close()
            self.ctx.progress = WorkProgress()
            stats.wall_s = time.perf_counter() - stage_started

    # ---------------------------------------------------------------- finalize

    def finalize(self, inputs: dict[str, str]) -> None:
        """Dataset stages over the videos that finished, then the output files."""
        summary = self.summary
        summary.videos_ok = len(inputs)
        if summary.videos and not inputs and not summary.pending:
            summary.problems.append(
                "every video failed: " + "; ".join(f"{path}: {why}" for path, why in summary.failed.items())
            )
        unfinished = {**summary.failed, **summary.pending}
        for stage in self.dataset_stages if inputs else []:
            stats = StageStats(stage.name)
            summary.stages.append(stats)
            stage_started = time.perf_counter()
            records = [stage.input_type.model_validate_json(inputs[video_id]) for video_id in sorted(inputs)]
            self.ctx.usage = StageUsage()
            result = stage.finalize(records, self.ctx, unfinished)
            stats.executed = stats.done = 1
            stats.usage = self.ctx.usage
            stats.total_usage.merge(self.ctx.usage)
            stats.wall_s = time.perf_counter() - stage_started
            summary.outputs.update({f"{stage.name}.{key}": path for key, path in result.outputs.items()})
            summary.counts.update(result.counts)
            summary.problems += result.problems
            summary.notes += result.notes
            summary.dataset_dir = result.dataset_dir or summary.dataset_dir
        _write_outputs(self.state, self.per_video, self.fingerprints, self.out, summary, set(self.identities))

    def close(self, completed: bool) -> None:
        """Close what the run opened and record how it ended (a killed run leaves "interrupted": it resumes)."""
        try:
            if self.owns_runner and self.runner is not None:
                self.runner.close()
        finally:
            summary = self.summary
            summary.seconds = time.perf_counter() - self.started
            write_text_atomic(self.out / SUMMARY_FILE, json.dumps(summary.to_dict(), indent=2, default=str) + "\n")
            if not completed:
                status = "interrupted"  # an exception or Ctrl-C: committed results stay, a re-run resumes
            else:
                status = "stopped" if summary.stopped else ("dry_run" if self.dry_run else "finished")
            self.state.finish_run(self.run_id, status, summary.to_dict())
            self.state.close()


def _redacted_argv(argv: list[str] | None) -> list[str] | None:
    """The command line as recorded: URLs (``--base-url http://user:pass@host``) with their secrets redacted."""
    if argv is None:
        return None
    redacted = []
    for arg in argv:
        flag, equals, value = arg.partition("=") if arg.startswith("-") else ("", "", arg)
        if "://" in value:
            arg = f"{flag}{equals}{redact_url(value)}"
        redacted.append(arg)
    return redacted


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
