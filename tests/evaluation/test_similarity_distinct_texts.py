"""The similarity protocol embeds every distinct text once, in one call, with unchanged verdicts."""

from __future__ import annotations

import numpy as np

from videoespresso_hf.evaluation.predictions import validate_records
from videoespresso_hf.evaluation.protocols import judge_similarity


class CountingEmbedder:
    """Bag-of-letters vectors (deterministic, normalised); records every call."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts):
        self.calls.append(list(texts))
        vectors = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text.lower():
                if "a" <= char <= "z":
                    vectors[row, ord(char) - 97] += 1
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


def _record(output, correct="(A)"):
    options = ["(A): the cat sleeps", "(B): a dog barks loudly", "(C): birds fly south", "(D): zebra runs"]
    return {"question": "q", "options": options, "correct_answer": correct, "task": "Traffic Analysis", "model_output": output}


def test_distinct_texts_are_embedded_once_in_one_call():
    records = [_record("the cat sleeps"), _record("the cat sleeps", "(B)"), _record("zebra runs", "(D)"), _record("")]
    embedder = CountingEmbedder()
    verdicts = judge_similarity(validate_records(records), embedder)
    assert len(embedder.calls) == 1
    sent = embedder.calls[0]
    assert len(sent) == len(set(sent)) == 4  # the 4 option texts (the outputs repeat two of them); before: 19 texts
    assert [v.correct for v in verdicts] == [True, False, True, False]
    assert [v.answered for v in verdicts] == [True, True, True, False]
    assert [v.predicted for v in verdicts[:3]] == ["A", "A", "D"]
