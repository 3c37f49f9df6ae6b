"""The functions the VideoEspresso lmms-eval tasks name: data, prompts and scoring come from our package.

Documents are rows of our schema (a prepared folder loaded by lmms-eval's ``datasets.load_dataset``).
Each answer becomes a record in the released layout plus ``model_output`` — exactly what
``videoespresso predict`` writes — and the aggregations call our scorer (``robust`` protocol) or our
judge, so lmms-eval's numbers are ``videoespresso score``'s numbers on the same outputs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from videoespresso_hf.benchmarking.items import resolve_video
from videoespresso_hf.benchmarking.prompts import MULTIPLE_CHOICE_PROMPT, OPEN_ENDED_PROMPT, render_prompt
from videoespresso_hf.data.records import row_to_release_record
from videoespresso_hf.defaults import JUDGE_MODEL
from videoespresso_hf.files import cache_dir
from videoespresso_hf.tasks import LEADERBOARD_TASKS

PROTOCOL = "robust"
DEFAULT_JUDGE_MODEL = JUDGE_MODEL


def metric_name(task: str) -> str:
    """``"Narrative Analysis"`` → ``"acc_narrative_analysis"``."""
    return "acc_" + re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")


#: What the numbers cover, beside them in lmms-eval's table: items scored (out of the benchmark's 1,382, said in
#: the printed coverage line) and tasks covered (out of 14).
COVERAGE_METRICS = ("coverage_items", "coverage_tasks")


def multiple_choice_metric_names() -> list[str]:
    return ["micro", "macro", *COVERAGE_METRICS, *(metric_name(task) for task in LEADERBOARD_TASKS)]


def judge_metric_names() -> list[str]:
    from videoespresso_hf.evaluation.judge import CRITERIA

    return [f"judge_{criterion}" for criterion in CRITERIA]


def _task_name(doc: dict[str, Any]) -> str:
    task = doc["task"]
    return LEADERBOARD_TASKS[task] if isinstance(task, int) else str(task or "")


def process_docs(dataset):
    """Keep videos as paths (no torchcodec decoding) and drop the key-frame image column."""
    import datasets

    if "images" in dataset.column_names:
        dataset = dataset.remove_columns("images")
    return dataset.cast_column("video", datasets.Video(decode=False))


def doc_to_visual(doc: dict[str, Any]) -> list[str]:
    """The local video file (embedded Hub bytes are written once to a cache)."""
    path = resolve_video(doc["video"])
    return [path] if path else []


def doc_to_text(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    """The authors' multiple-choice prompt (``videoespresso predict`` sends the same text)."""
    return render_prompt(MULTIPLE_CHOICE_PROMPT, task=_task_name(doc), question=doc["question"], options=doc["options"])


def doc_to_text_open_ended(doc: dict[str, Any], lmms_eval_specific_kwargs: dict | None = None) -> str:
    return render_prompt(OPEN_ENDED_PROMPT, task=_task_name(doc), question=doc["question"])


def doc_to_target(doc: dict[str, Any]) -> str:
    return doc["correct_answer"]


def _record(doc: dict[str, Any], results: list[str]) -> dict[str, Any]:
    return {**row_to_release_record(doc, _task_name(doc)), "model_output": results[0] if results else None}


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, dict]:
    record = _record(doc, results)
    return dict.fromkeys(multiple_choice_metric_names(), record)


def process_results_open_ended(doc: dict[str, Any], results: list[str]) -> dict[str, dict]:
    record = _record(doc, results)
    return dict.fromkeys(judge_metric_names(), record)


_RESULTS: dict[tuple[str, ...], dict] = {}


def _once(kind: str, records: list[dict], compute: Callable[[list[dict]], dict]) -> dict:
    """``compute(records)`` once per ``kind`` and list of answers: every metric of a task aggregates the same
    records, and scoring (or paying the judge) once is enough."""
    key = (kind, *(f"{r['id']}\x00{r['model_output']}" for r in records))
    if key not in _RESULTS:
        _RESULTS[key] = compute(records)
    return _RESULTS[key]


def _score(records: list[dict]) -> dict:
    """Our scorer on the whole list; prints once what the numbers cover (a ``--limit`` run is PARTIAL)."""
    return _once("score", records, _run_score)


def _run_score(records: list[dict]) -> dict:
    from videoespresso_hf.evaluation.coverage import coverage_line
    from videoespresso_hf.evaluation.scorer import score_records

    result = score_records(records, PROTOCOL, bootstrap_resamples=1)
    print(f"videoespresso: {coverage_line(result['coverage'])}")
    return result


def aggregate_coverage_items(records: list[dict]) -> int:
    """Items scored (the benchmark has 1,382)."""
    return _score(records)["coverage"]["items"]


def aggregate_coverage_tasks(records: list[dict]) -> int:
    """Tasks covered (out of 14)."""
    return _score(records)["coverage"]["tasks"]


def aggregate_micro(records: list[dict]) -> float:
    return _score(records)["overall"]["micro"]


def aggregate_macro(records: list[dict]) -> float:
    return _score(records)["overall"]["macro"]


def _task_accuracy(task: str) -> Callable[[list[dict]], float]:
    def aggregate(records: list[dict]) -> float:
        accuracy = _score(records)["tasks"][task]["accuracy"]
        return float("nan") if accuracy is None else accuracy  # a task without items in this split

    aggregate.__name__ = f"aggregate_{metric_name(task)}"
    return aggregate


for _task in LEADERBOARD_TASKS:
    globals()[f"aggregate_{metric_name(_task)}"] = _task_accuracy(_task)


def _judge(records: list[dict]) -> dict:
    """Our judge (cached in SQLite, ledger, budget) on the open-ended answers; the judge id is recorded."""
    return _once("judge", records, _run_judge)


def _run_judge(records: list[dict]) -> dict:
    from videoespresso_hf.evaluation.judge import judge_open_ended
    from videoespresso_hf.llm import LLMClient, LLMConfig

    cache = os.environ.get("VIDEOESPRESSO_JUDGE_CACHE") or str(cache_dir("judge") / "judge.sqlite")
    Path(cache).parent.mkdir(parents=True, exist_ok=True)
    config = LLMConfig(model=os.environ.get("VIDEOESPRESSO_JUDGE_MODEL", DEFAULT_JUDGE_MODEL), cache_path=cache)
    with LLMClient(config) as client:
        judged = judge_open_ended(records, client)
    from videoespresso_hf.evaluation.coverage import coverage_line

    print(f"videoespresso_open: judged by {judged['judge_model']} ({judged['prompt_version']}); "
          f"{coverage_line(judged['coverage'])}")  # fmt: skip
    return judged


def _criterion(criterion: str) -> Callable[[list[dict]], float]:
    def aggregate(records: list[dict]) -> float:
        value = _judge(records)["overall"][criterion]
        return float("nan") if value is None else value

    aggregate.__name__ = f"aggregate_judge_{criterion}"
    return aggregate


for _name in judge_metric_names():
    globals()[f"aggregate_{_name}"] = _criterion(_name.removeprefix("judge_"))
