"""Speed of the ``similarity`` scoring protocol (paper Algorithm 1) on a 1,382-item benchmark.

Before: outputs and options were embedded in two calls, every occurrence of a text embedded again,
and ``videoespresso score`` paid the model load inside the timed path. After: every distinct text
(outputs and options together) is embedded once in one batched call, with the embedder loaded once
and reused (``load_text_embedder`` is cached per process). Both run here, side by side, on the same
records and the same loaded model; the verdicts must be identical.

The records mimic what multiple-choice models write when scored by similarity: a third repeat an
option's text, a third write a short answer phrase ("Answer: B", "The answer is C."), a third a
free-form sentence; option texts are distinct per item, as in ``bench_hard.json``.

    python benchmarks/similarity_protocol_speed.py                    # all-MiniLM-L6-v2, offline
    python benchmarks/similarity_protocol_speed.py --embedding-model BAAI/bge-m3
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from videoespresso_hf.embeddings import OFFLINE_TEST_EMBEDDING_MODEL, load_text_embedder
from videoespresso_hf.evaluation.aggregation import ItemVerdict
from videoespresso_hf.evaluation.extraction import LETTERS, strip_think
from videoespresso_hf.evaluation.predictions import validate_records
from videoespresso_hf.evaluation.protocols import judge_similarity
from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS

PHRASES = ["Answer: B", "B", "The answer is C.", "(A)", "I choose D.", "The correct option is A."]
SUBJECTS = ["the man", "the woman", "the chef", "the driver", "the crowd", "the child", "the dog", "the police"]
ACTIONS = ["opens the door", "adds salt to the pot", "stops at the crossing", "waves at the camera",
           "leaves the room", "picks up the knife", "starts running", "sits down on the bench"]  # fmt: skip
REASONS = ["because it is raining", "to prepare the sauce", "since the light turned red", "after hearing a noise",
           "to greet a friend", "because the meeting ended", "to avoid the car", "as the music stops"]  # fmt: skip


def make_records(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    tasks = [task for task in LEADERBOARD_TASKS for _ in range(RELEASED_TEST_COUNTS[task])]
    records = []
    for index in range(n):
        options = [f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(ACTIONS)} {rng.choice(REASONS)} in scene {index}."
                   for _ in LETTERS]  # fmt: skip
        correct = int(rng.integers(4))
        kind = index % 3
        if kind == 0:
            output = options[int(rng.integers(4))]
        elif kind == 1:
            output = str(rng.choice(PHRASES))
        else:
            output = f"I think {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)} {rng.choice(REASONS)}."
        records.append({
            "question": f"Why does it happen in scene {index}?",
            "options": [f"({letter}): {text}" for letter, text in zip(LETTERS, options, strict=True)],
            "correct_answer": f"({LETTERS[correct]})", "task": tasks[index % len(tasks)], "model_output": output,
        })  # fmt: skip
    return records


def similarity_before(items, embedder, threshold: float = 0.8) -> list[ItemVerdict]:
    """The protocol as it was: outputs, then all options, each occurrence embedded (two calls)."""
    outputs = [strip_think(item.model_output or "").strip() for item in items]
    answered = [position for position, text in enumerate(outputs) if text]
    output_vectors = embedder([outputs[position] for position in answered])
    option_vectors = embedder([text for item in items for text in item.option_texts]).reshape(len(items), 4, -1)
    row_of = {position: row for row, position in enumerate(answered)}
    verdicts = []
    for position, item in enumerate(items):
        if position not in row_of:
            verdicts.append(ItemVerdict(task=item.task, correct=False, answered=False, rule="empty"))
            continue
        similarities = option_vectors[position] @ output_vectors[row_of[position]]
        reference = LETTERS.index(item.correct_letter)
        correct = bool(similarities[reference] > threshold) and bool(
            np.all(similarities[reference] > np.delete(similarities, reference)))  # fmt: skip
        verdicts.append(ItemVerdict(task=item.task, correct=correct, answered=True,
                                    predicted=LETTERS[int(np.argmax(similarities))],
                                    rule=f"similarity={similarities[reference]:.3f}"))  # fmt: skip
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1382)
    parser.add_argument("--embedding-model", default=OFFLINE_TEST_EMBEDDING_MODEL)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs of each variant (the best is kept)")
    args = parser.parse_args()

    items = validate_records(make_records(args.items))
    started = time.perf_counter()
    embedder = load_text_embedder(args.embedding_model)
    embedder(["warm-up"])
    load_s = time.perf_counter() - started
    texts = [item.model_output for item in items] + [text for item in items for text in item.option_texts]
    print(f"{args.items} items, {len(texts)} texts, {len(set(texts))} distinct; model {args.embedding_model} "
          f"loaded in {load_s:.1f} s (once, reused by both variants)")  # fmt: skip

    timings = {}
    for name, judge in (("before: 2 calls, every occurrence", similarity_before), ("after: distinct texts, 1 call", judge_similarity)):
        best = float("inf")
        for _ in range(args.repeats):
            started = time.perf_counter()
            verdicts = judge(items, embedder)
            best = min(best, time.perf_counter() - started)
        timings[name] = (best, verdicts)
        print(f"{name:<36} {best:7.2f} s   ({args.items / best:6.0f} items/s)")
    (before_s, before), (after_s, after) = timings.values()
    assert before == after, "the two variants disagree"
    print(f"speed-up (before / after): {before_s / after_s:.2f}x; identical verdicts on {len(after)} items")
    print(f"before incl. loading the model in the timed path: {load_s + before_s:.1f} s; after: {after_s:.1f} s with the "
          f"model already loaded ({load_s + after_s:.1f} s including one load)")  # fmt: skip


if __name__ == "__main__":
    main()
