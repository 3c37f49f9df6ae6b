"""The open-ended ("subjective") protocol: an LLM judge scores free-form answers (paper Table 2).

The paper's GPT-4o judge scores Logic, Factuality, (Description) Accuracy and Conciseness on 1–10
plus a separate holistic Overall; tables report them ×10 (0–100). The exact judge prompt is only
published as an image, so ours is a versioned template (``prompts/open_ended_judge.v1.jinja``);
results record the judge model and prompt version so numbers are never compared across judges
silently.

Judge calls go through :class:`videoespresso_hf.llm.LLMClient`: structured output, retries, a
SQLite cache (a re-run pays nothing twice), a cost ledger and a budget cap. A call that still fails
is counted in ``failed`` and listed; it is never replaced by a fallback score.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import numpy as np
from pydantic import BaseModel, Field

from videoespresso_hf.evaluation.coverage import coverage
from videoespresso_hf.evaluation.predictions import PredictionsError
from videoespresso_hf.llm import LLMClient, LLMRequest, LLMResult, user_message
from videoespresso_hf.tasks import UnknownTaskError, canonical_task

__all__ = [
    "CRITERIA",
    "JUDGE_PROMPT_VERSION",
    "JudgeItem",
    "JudgeScores",
    "aggregate_judgements",
    "build_judge_request",
    "judge_open_ended",
    "validate_judge_records",
]

JUDGE_PROMPT_VERSION = "open_ended_judge.v1"
CRITERIA = ("logic", "factuality", "accuracy", "conciseness", "overall")


class JudgeScores(BaseModel):
    """The judge's structured answer (1–10 per criterion)."""

    logic: int = Field(ge=1, le=10)
    factuality: int = Field(ge=1, le=10)
    accuracy: int = Field(ge=1, le=10)
    conciseness: int = Field(ge=1, le=10)
    overall: int = Field(ge=1, le=10)
    rationale: str


@dataclass(frozen=True)
class JudgeItem:
    """One validated record: what the judge prompt is rendered from."""

    index: int
    question: str
    reference: str
    candidate: str | None  # None: a failure record (no answer), never sent to the judge
    evidence: str | None
    task: str | None  # leaderboard name, when the record has one


@cache
def _template(version: str) -> jinja2.Template:
    source = (resources.files("videoespresso_hf.evaluation") / "prompts" / f"{version}.jinja").read_text()
    return jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(source)


def validate_judge_records(records: Iterable[Any]) -> list[JudgeItem]:
    """Records need ``question``, ``answer`` (the reference) and ``model_output``; ``evidence``/``task`` are optional."""
    items = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise PredictionsError(f"record {index}: expected a JSON object, got {type(record).__name__}")
        for field in ("question", "answer", "model_output"):
            if field not in record:
                raise PredictionsError(f"record {index}: missing required field {field!r} (required: question, answer, model_output)")
            if record[field] is not None and not isinstance(record[field], str):
                raise PredictionsError(f"record {index}: field {field!r}: expected a string, got {type(record[field]).__name__}")
        evidence = record.get("evidence")
        if evidence is not None and not isinstance(evidence, str):  # it would reach the prompt as a Python repr
            raise PredictionsError(f"record {index}: field 'evidence': expected a string, got {type(evidence).__name__}")
        task = record.get("task")
        try:
            task = canonical_task(task) if task else None
        except UnknownTaskError as error:
            raise PredictionsError(f"record {index}: field 'task': {error}") from None
        items.append(
            JudgeItem(
                index=index,
                question=record["question"] or "",
                reference=record["answer"] or "",
                candidate=record["model_output"],
                evidence=evidence or None,
                task=task,
            )
        )
    if not items:
        raise PredictionsError("no prediction records to judge")
    return items


def build_judge_request(item: JudgeItem, prompt_version: str = JUDGE_PROMPT_VERSION) -> LLMRequest:
    """The judge call for one item: the versioned prompt, answered as :class:`JudgeScores` JSON."""
    prompt = _template(prompt_version).render(
        question=item.question, reference=item.reference, evidence=item.evidence, candidate=item.candidate
    )
    return LLMRequest([user_message(prompt)], prompt_version=prompt_version, stage="judge", response_model=JudgeScores)


# What an item without an answer (``model_output`` null: the model or its endpoint failed) scores: the scale's
# minimum on every criterion, without paying a judge call for it. Counted, like unanswered items in accuracy.
NO_ANSWER = JudgeScores(
    logic=1, factuality=1, accuracy=1, conciseness=1, overall=1, rationale="no answer (a failure record); not judged"
)


def _means(scores: Sequence[JudgeScores]) -> dict[str, float | None]:
    if not scores:
        return dict.fromkeys(CRITERIA)
    return {name: round(float(np.mean([getattr(s, name) for s in scores])) * 10.0, 2) for name in CRITERIA}


def aggregate_judgements(
    items: Sequence[JudgeItem],
    results: Sequence[LLMResult | None],
    *,
    judge_model: str,
    prompt_version: str = JUDGE_PROMPT_VERSION,
) -> dict[str, Any]:
    """Criterion means on 0–100 (×10, as in the paper's Table 2), overall and per task, plus failures and the
    ``coverage`` (items judged out of the benchmark's 1,382, tasks out of 14: a number never comes without it).

    A ``None`` result is an item without an answer: it scores :data:`NO_ANSWER` and is counted as unanswered.
    """
    pairs = list(zip(items, results, strict=True))
    judged = [(item, NO_ANSWER if result is None else result.parsed) for item, result in pairs if result is None or result.ok]
    failures = [{"index": item.index, "error": result.error} for item, result in pairs if result is not None and not result.ok]
    unanswered = sum(result is None for _, result in pairs)
    by_task: dict[str, list[JudgeScores]] = {}
    for item, scores in judged:
        if item.task:
            by_task.setdefault(item.task, []).append(scores)
    return {
        "protocol": "llm-judge",
        "judge_model": judge_model,
        "prompt_version": prompt_version,
        "overall": {**_means([s for _, s in judged]), "n": len(items), "judged": len(judged) - unanswered, "unanswered": unanswered, "failed": len(failures)},
        "tasks": {task: {**_means(scores), "n": len(scores)} for task, scores in sorted(by_task.items())},
        # answers per score 1..10 for each criterion: the spread that the means hide (plotted by the HTML report)
        "distribution": {name: [sum(getattr(s, name) == score for _, s in judged) for score in range(1, 11)] for name in CRITERIA},
        "failures": failures,
        "coverage": coverage(Counter(item.task for item in items if item.task), items=len(items)),
        "cost_usd": round(sum(result.cost_usd for result in results if result is not None), 6),
    }


def judge_open_ended(
    records: Iterable[Any],
    client: LLMClient,
    *,
    prompt_version: str = JUDGE_PROMPT_VERSION,
    max_concurrency: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Judge free-form answers with ``client`` (any OpenAI-compatible endpoint) and aggregate."""
    items = validate_judge_records(records)
    answered = [item for item in items if item.candidate is not None]
    requests = [build_judge_request(item, prompt_version) for item in answered]
    sent = iter(client.map(requests, max_concurrency=max_concurrency, progress=progress))
    results = [next(sent) if item.candidate is not None else None for item in items]
    return aggregate_judgements(items, results, judge_model=client.config.model, prompt_version=prompt_version)
