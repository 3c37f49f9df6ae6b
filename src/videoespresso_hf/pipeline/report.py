"""The report of a build: what one run did (:class:`BuildSummary`, saved as ``OUT/summary.json``) and its
plain-text form (:func:`format_report`), which ``videoespresso build`` prints.

Kept apart from the driver (:mod:`~videoespresso_hf.pipeline.orchestrator`), which only fills the summary in:
how a result reads is one decision, what runs is another.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from videoespresso_hf.llm.ledger import format_usd
from videoespresso_hf.pipeline.stages.base import StageUsage
from videoespresso_hf.tables import aligned_table

__all__ = ["BuildSummary", "StageStats", "format_report"]

# The per-stage table's columns and their least widths (a fixed layout across builds; a wider cell widens its column).
_STAGE_COLUMNS = {"stage": 10, "ran": 5, "reused": 6, "failed": 6, "error": 5, "wall s": 7, "paid calls": 10,
                  "cached": 6, "prompt tok": 10, "compl tok": 9, "cost $": 9, "total $": 9}  # fmt: skip


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
    key_destination: str | None = None  # which key variable goes to which host, when a stage calls the LLM

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
        """A plain-text report: one row per stage, then totals, failures and outputs (:func:`format_report`)."""
        return format_report(self)


def format_report(summary: BuildSummary) -> str:
    """The plain-text report of a build: what was reused or recomputed, one row per stage (runs, reuse,
    failures, paid calls, tokens, cost), counts and faults, dry-run estimates, failures, outputs."""
    lines = []
    if summary.recomputed:
        lines.append(
            "settings changed since the last build in this folder: recomputing "
            + ", ".join(summary.recomputed)
            + " (results of earlier settings are kept in state.sqlite)"
        )
    lines += [
        f"videoespresso build: {summary.videos} videos, {summary.videos_ok} ok, {len(summary.failed)} failed, "
        f"{len(summary.pending)} to retry; {summary.seconds:.1f} s; out: {summary.out_dir}"
    ]
    table = [list(_STAGE_COLUMNS)]
    if summary.key_destination:
        lines.append(summary.key_destination)
    counters, faults = [], []
    for stats in summary.stages:
        usage, total = stats.usage, stats.total_usage
        table.append([
            stats.name, str(stats.executed), str(stats.reused), str(stats.failed + stats.skipped_failed),
            str(stats.errors), f"{stats.wall_s:.1f}", str(usage.llm_calls), str(usage.cached_calls),
            str(usage.prompt_tokens), str(usage.completion_tokens), f"{usage.cost_usd:.4f}", f"{total.cost_usd:.4f}",
        ])  # fmt: skip
        shown = {key: value for key, value in usage.counters.items() if key != "http_attempts"}
        if shown:
            counters.append(f"  {stats.name}: " + ", ".join(f"{k}={v}" for k, v in sorted(shown.items())))
        if usage.retries or usage.faults:
            kinds = ", ".join(f"{kind}={n}" for kind, n in sorted(usage.faults.items()))
            faults.append(f"  {stats.name}: {usage.retries} retries; faults {sum(usage.faults.values())} ({kinds})")
    lines += aligned_table(table, gap=" ", min_widths=list(_STAGE_COLUMNS.values()), rule="line")
    if counters:
        lines += ["this run's counts:", *counters]
    if faults:
        lines += ["LLM faults met (retried where they could be):", *faults]
    frames = f"frames: {summary.frames_sampled} sampled"
    if summary.frames_kept is not None and summary.frames_sampled:
        saved = 1 - summary.frames_kept / summary.frames_sampled
        frames += f", {summary.frames_kept} kept after redundancy removal ({saved:.0%} dropped)"
    if summary.groups is not None:
        frames += f", {summary.groups} caption groups"
    lines.append(frames)
    if summary.estimate is not None:
        lines.append(
            f"dry run: stage {summary.estimate_stage!r} would send {_usage_line(summary.estimate)} "
            f"({summary.estimate.cached_calls} answered by the cache); "
            + (
                "later stages' inputs do not exist yet, so they are projected below"
                if summary.projected
                else "no later stage calls the LLM"
            )
        )
        if summary.projected:
            lines.append(f"later LLM stages, {summary.projection_assumption}:")
            lines += [f"  {name}: at most {_usage_line(usage)}" for name, usage in summary.projected.items()]
            total = StageUsage()
            for usage in [summary.estimate, *summary.projected.values()]:
                total.merge(usage)
            lines.append(f"  total: at most {_usage_line(total)} (all LLM stages)")
    for title, items in (
        ("failed (not retried; --retry-failed to retry)", summary.failed),
        ("errors (retried on the next run)", summary.pending),
    ):
        if items:
            lines.append(f"{title}:")
            lines += [f"  {path}: {reason}" for path, reason in items.items()]
    if summary.stopped:
        lines.append(f"stopped early: {summary.stopped}")
    lines += [f"note: {note}" for note in summary.notes]
    lines += [f"problem: {problem}" for problem in summary.problems]
    for name, path in summary.outputs.items():
        lines.append(f"{name}: {path}")
    if summary.dataset_dir:
        lines.append(f"load it with: datasets.load_dataset({summary.dataset_dir!r})")
    return "\n".join(lines)


def _usage_line(usage: StageUsage) -> str:
    return (
        f"{usage.llm_calls} requests, ~{usage.prompt_tokens} prompt + ~{usage.completion_tokens} completion "
        f"tokens, ~{format_usd(usage.cost_usd)}"
    )
