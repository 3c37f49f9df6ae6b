"""``videoespresso demo``: an offline end-to-end walk through what the library can do today.

Every step runs the real code path on inputs the demo makes itself (synthetic videos, synthetic
annotation files in the released layouts, bundled synthetic predictions) and says so. Steps that need a
model use tiny random-weight checkpoints written on the fly and say so; the build step, which needs an
LLM endpoint, runs as a dry run without one and says what it needs. Nothing prints placeholder output
as a result.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videoespresso_hf.cli.demo_steps import STEPS, DemoContext
from videoespresso_hf.cli.main import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="offline end-to-end walk through the library (the main job)")
    parser.add_argument("--out", type=Path, default=None, help="keep the demo's files here (default: a temporary folder)")
    parser.add_argument("--only", nargs="*", default=None, help="run only these steps (by name)")
    parser.add_argument("--base-url", default=os.environ.get("OPENAI_BASE_URL"), help="OpenAI-compatible endpoint for the LLM steps")
    parser.add_argument("--model", default=None, help="LLM/VLM model id for the LLM steps")
    parser.set_defaults(func=run)


@dataclass
class StepOutcome:
    name: str
    status: str  # "ok" | "needs" | "failed"
    seconds: float
    note: str = ""


def _banner(index: int, total: int, title: str) -> None:
    print(f"\n{'=' * 100}\n[{index}/{total}] {title}\n{'=' * 100}", flush=True)


def run_steps(steps: list[tuple[str, str, Callable[[DemoContext], str | None]]], context: DemoContext) -> list[StepOutcome]:
    outcomes = []
    for index, (name, title, step) in enumerate(steps, start=1):
        _banner(index, len(steps), title)
        started = time.perf_counter()
        try:
            needs = step(context)
            status, note = ("needs", needs) if needs else ("ok", "")
        except Exception as error:  # a demo step failing must not hide the others
            traceback.print_exc()
            status, note = "failed", f"{type(error).__name__}: {error}"
        outcomes.append(StepOutcome(name, status, time.perf_counter() - started, note))
        if status == "needs":
            print("\n" + textwrap.indent(note, "  NEEDS: "))
    return outcomes


def run(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.only or ()) - {name for name, _, _ in STEPS})
    if unknown:
        raise UserError(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(name for name, _, _ in STEPS)}")
    steps = [step for step in STEPS if not args.only or step[0] in args.only]
    workdir = args.out or Path(tempfile.mkdtemp(prefix="videoespresso-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    context = DemoContext(workdir=workdir, base_url=args.base_url, model=args.model)
    print(f"videoespresso demo — files under {workdir}")
    outcomes = run_steps(steps, context)
    print(f"\n{'=' * 100}\nSummary")
    for outcome in outcomes:
        extra = f"  ({outcome.note.splitlines()[0]})" if outcome.note else ""
        print(f"  {outcome.status:<7} {outcome.name:<12} {outcome.seconds:6.1f} s{extra}")
    if args.out is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0
