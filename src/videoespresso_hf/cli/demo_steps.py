"""The steps of ``videoespresso demo``, one function per capability.

A step takes the :class:`DemoContext`, prints what it does and what came out, and returns ``None``
when it ran, or a message saying what it needs (weights, an endpoint) and how to enable it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass
class DemoContext:
    workdir: Path
    base_url: str | None = None
    model: str | None = None
    shared: dict[str, Any] = field(default_factory=dict)  # what one step hands to the next


def step_score(context: DemoContext) -> str | None:
    from videoespresso_hf.evaluation import score_file
    from videoespresso_hf.evaluation.report import render_leaderboard

    sample = resources.files("videoespresso_hf.evaluation") / "samples" / "sample_predictions.json"
    records = json.loads(sample.read_text())
    print(
        f"Scoring the bundled SYNTHETIC sample predictions ({len(records)} records, 10 per task; templated questions,\n"
        "outputs written in the styles real models use). These are not a model's results: they show the scorer.\n"
        "$ videoespresso score sample_predictions.json --protocol official|robust\n"
    )
    results = {f"sample ({protocol})": score_file(Path(str(sample)), protocol) for protocol in ("official", "robust")}
    print(render_leaderboard(results, "table"), end="\n\n")
    quirk = next(
        r for r in records if r["model_output"].startswith("Answer:") and r["correct_answer"] == f"({r['model_output'][-1]})"
    )
    print(
        "Why they differ: the released eval/score.py takes the first capital A–D anywhere, so an output like\n"
        f"  {quirk['model_output']!r} (correct answer {quirk['correct_answer']}) is read as 'A' by `official`;\n"
        "`robust` reads the answer phrase, strips <think> blocks, matches repeated option text and counts\n"
        "ambiguous outputs as unanswered instead of guessing."
    )
    return None


STEPS: list[tuple[str, str, Callable[[DemoContext], str | None]]] = [
    ("score", "Benchmark scoring: the 14-task table under the official and robust protocols", step_score),
]
