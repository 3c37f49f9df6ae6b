"""The three scoring protocols, each a pure function from items to verdicts.

``official``
    Reproduces the released ``eval/score.py`` exactly, quirks included (see
    :func:`~videoespresso_hf.evaluation.extraction.extract_official`). Use it to reproduce
    published leaderboard numbers.
``robust`` (default)
    :func:`~videoespresso_hf.evaluation.extraction.extract_robust`; ambiguous or silent outputs are
    unanswered, never guessed.
``similarity``
    The paper's Algorithm 1 for free-form answers: an output is correct iff its cosine similarity
    to the reference option is above ``threshold`` (0.8) *and* above its similarity to every
    distractor. The embedding model is configurable (default ``BAAI/bge-m3``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from videoespresso_hf.embeddings import Embedder
from videoespresso_hf.evaluation.aggregation import FAILURE_RECORD, NO_OPTION, SEVERAL_OPTIONS, ItemVerdict
from videoespresso_hf.evaluation.extraction import LETTERS, extract_official, extract_robust, strip_think
from videoespresso_hf.evaluation.predictions import PredictionItem

__all__ = [
    "PROTOCOLS",
    "SIMILARITY_THRESHOLD",
    "judge_official",
    "judge_robust",
    "judge_similarity",
    "unanswered_reason",
]

PROTOCOLS = ("official", "robust", "similarity")
SIMILARITY_THRESHOLD = 0.8


def unanswered_reason(item: PredictionItem, letter: str | None, rule: str = "") -> str | None:
    """Why ``item`` is unanswered when no ``letter`` was read (``None`` when one was): a failure record (no
    output at all), several options named (an ambiguous output, never guessed), or no option named."""
    if letter is not None:
        return None
    if item.model_output is None:
        return FAILURE_RECORD
    return SEVERAL_OPTIONS if rule.startswith("ambiguous") else NO_OPTION


def judge_official(items: Sequence[PredictionItem]) -> list[ItemVerdict]:
    verdicts = []
    for item in items:
        predicted = extract_official(item.model_output)
        reference = extract_official(item.raw_correct_answer)
        verdicts.append(
            ItemVerdict(
                task=item.task,
                correct=bool(predicted) and predicted == reference,
                answered=predicted is not None,
                predicted=predicted,
                rule="first_capital_letter",
                id=item.key,
                reason=unanswered_reason(item, predicted),
            )
        )
    return verdicts


def judge_robust(items: Sequence[PredictionItem]) -> list[ItemVerdict]:
    verdicts = []
    for item in items:
        extraction = extract_robust(item.model_output, item.option_texts)
        verdicts.append(
            ItemVerdict(
                task=item.task,
                correct=extraction.letter == item.correct_letter,
                answered=extraction.answered,
                predicted=extraction.letter,
                rule=extraction.rule,
                id=item.key,
                reason=unanswered_reason(item, extraction.letter, extraction.rule),
            )
        )
    return verdicts


def judge_similarity(
    items: Sequence[PredictionItem],
    embedder: Embedder,
    *,
    threshold: float = SIMILARITY_THRESHOLD,
) -> list[ItemVerdict]:
    """Algorithm 1. ``embedder(texts)`` must return L2-normalised rows (see ``videoespresso_hf.embeddings``).

    The embedder dominates the cost, so every distinct text (outputs and options together) is embedded
    exactly once, in one batched call: models repeat option texts and answer phrases, and options
    recur across items (``benchmarks/similarity_protocol_speed.py`` measures the gain).
    """
    outputs = [strip_think(item.model_output or "").strip() for item in items]
    answered_positions = [position for position, text in enumerate(outputs) if text]
    texts = [outputs[position] for position in answered_positions]
    texts += [text for item in items for text in item.option_texts]
    distinct = list(dict.fromkeys(texts))
    vectors = embedder(distinct)
    row_of_text = {text: row for row, text in enumerate(distinct)}
    output_vectors = vectors[[row_of_text[outputs[position]] for position in answered_positions]]
    option_vectors = vectors[[row_of_text[text] for item in items for text in item.option_texts]].reshape(
        len(items), len(LETTERS), -1
    )
    row_of = {position: row for row, position in enumerate(answered_positions)}
    verdicts = []
    for position, item in enumerate(items):
        if position not in row_of:
            verdicts.append(
                ItemVerdict(task=item.task, correct=False, answered=False, rule="empty", id=item.key,
                            reason=unanswered_reason(item, None))
            )  # fmt: skip
            continue
        similarities = option_vectors[position] @ output_vectors[row_of[position]]
        reference = LETTERS.index(item.correct_letter)
        best = int(np.argmax(similarities))
        above = bool(similarities[reference] > threshold)
        beats_distractors = bool(np.all(similarities[reference] > np.delete(similarities, reference)))
        verdicts.append(
            ItemVerdict(
                task=item.task,
                correct=above and beats_distractors,
                answered=True,
                predicted=LETTERS[best],
                rule=f"similarity={similarities[reference]:.3f}",
                id=item.key,
            )
        )
    return verdicts
