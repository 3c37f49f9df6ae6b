import json

import numpy as np
import pytest

from videoespresso_hf.embeddings import OFFLINE_TEST_EMBEDDING_MODEL, load_text_embedder
from videoespresso_hf.evaluation import PredictionsError, score_file, score_records
from videoespresso_hf.evaluation.aggregation import bootstrap_ci
from videoespresso_hf.tasks import (
    LEADERBOARD_TASKS,
    PAPER_TEST_COUNTS,
    RELEASED_TEST_COUNTS,
    TASKS,
    UnknownTaskError,
    canonical_task,
)

LETTERS = "ABCD"


def make_record(task, correct_letter, output, *, options=None, question="q?"):
    options = options or [f"option {letter} text" for letter in LETTERS]
    return {
        "question": question,
        "options": [f"({letter}): {text}" for letter, text in zip(LETTERS, options, strict=True)],
        "correct_answer": f"({correct_letter})",
        "task": task,
        "model_output": output,
    }


def records_from_counts(n_per_task, correct_per_task):
    """A predictions list with exactly `correct` right answers out of `n` for every task."""
    records = []
    for task, n in n_per_task.items():
        for position in range(n):
            right = position < correct_per_task[task]
            records.append(make_record(task, "A", "(A)" if right else "(B)"))
    return records


# Paper Table 1, row "Ours": per-task accuracies that are exact fractions of the Table 7 test counts.
PAPER_OURS_ROW = {
    "Narrative Analysis": 45.2, "Event Dynamic": 27.0, "Preparation Steps": 33.7, "Causal Analysis": 26.1,
    "Theme Analysis": 39.3, "Contextual Analysis": 36.7, "Influence Analysis": 55.6, "Role Analysis": 41.3,
    "Interaction Analysis": 30.6, "Behavior Analysis": 29.8, "Emotion Analysis": 30.8, "Cooking Process": 35.8,
    "Traffic Analysis": 20.0, "Situation Analysis": 26.0,
}  # fmt: skip


def test_macro_reproduces_the_paper_average():
    correct = {task: round(PAPER_OURS_ROW[task] * n / 100) for task, n in PAPER_TEST_COUNTS.items()}
    result = score_records(records_from_counts(PAPER_TEST_COUNTS, correct), bootstrap_resamples=50)
    for task, accuracy in PAPER_OURS_ROW.items():
        assert round(result["tasks"][task]["accuracy"], 1) == accuracy
    assert round(result["overall"]["macro"], 1) == 34.1  # paper Table 1 "Avg."
    assert result["overall"]["micro"] == pytest.approx(32.07, abs=0.05)  # the count-weighted mean differs
    assert result["overall"]["n"] == 1382


def test_micro_reproduces_the_leaderboard_overall():
    # LLaVA-Video-72B: 916 of the 1,382 items, reported as Overall 66.3 on the leaderboard.
    remaining = 916
    correct = {}
    for task, n in RELEASED_TEST_COUNTS.items():
        correct[task] = min(n, remaining * n // 1382 + 1)
    correct["Causal Analysis"] += 916 - sum(correct.values())
    result = score_records(records_from_counts(RELEASED_TEST_COUNTS, correct), bootstrap_resamples=50)
    assert result["overall"]["correct"] == 916
    assert round(result["overall"]["micro"], 1) == 66.3
    expected_macro = np.mean([100 * correct[t] / n for t, n in RELEASED_TEST_COUNTS.items()])
    assert result["overall"]["macro"] == pytest.approx(expected_macro, abs=1e-3)


def test_official_and_robust_disagree_on_answer_colon():
    records = [make_record("Causal Inference", "B", "Answer: B"), make_record("Causal Inference", "A", "Answer: C")]
    official = score_records(records, "official", bootstrap_resamples=10)
    robust = score_records(records, "robust", bootstrap_resamples=10)
    # official reads both outputs as "A": wrong on the first, right (by accident) on the second.
    assert official["overall"]["correct"] == 1
    assert official["tasks"]["Causal Analysis"]["correct"] == 1
    assert robust["overall"]["correct"] == 1
    assert score_records(records[:1], "official", bootstrap_resamples=10)["overall"]["correct"] == 0
    assert score_records(records[:1], "robust", bootstrap_resamples=10)["overall"]["correct"] == 1
    assert official["protocol"] == "official" and robust["protocol"] == "robust"


def test_result_shape_and_unanswered_count():
    records = [
        make_record("Traffic Analysis", "A", "A"),
        make_record("traffic analysis", "B", ""),
        make_record("Ingredient Details", "C", "I am not sure"),
        make_record("Preparation Steps", "D", None),
    ]
    result = score_records(records, bootstrap_resamples=100)
    assert set(result) == {"protocol", "overall", "tasks", "coverage", "items"}
    assert set(result["overall"]) == {"micro", "macro", "n", "correct", "unanswered", "micro_ci95"}
    assert list(result["tasks"]) == list(LEADERBOARD_TASKS)
    assert result["tasks"]["Traffic Analysis"] == {"accuracy": 50.0, "n": 2, "correct": 1}
    assert result["tasks"]["Preparation Steps"] == {"accuracy": 0.0, "n": 2, "correct": 0}
    assert result["tasks"]["Causal Analysis"] == {"accuracy": None, "n": 0, "correct": 0}
    assert result["overall"]["unanswered"] == 3
    assert result["overall"]["macro"] == 25.0  # mean over the two tasks that have items
    low, high = result["overall"]["micro_ci95"]
    assert 0.0 <= low <= result["overall"]["micro"] <= high <= 100.0


def test_bootstrap_interval_is_deterministic_and_narrows_with_n():
    small = bootstrap_ci([True, False] * 10, resamples=500, seed=1)
    large = bootstrap_ci([True, False] * 1000, resamples=500, seed=1)
    assert small == bootstrap_ci([True, False] * 10, resamples=500, seed=1)
    assert (large[1] - large[0]) < (small[1] - small[0])
    assert small[0] < 50.0 < small[1]
    with pytest.raises(ValueError, match="at least 1"):
        bootstrap_ci([True], resamples=0)


def test_task_names_paper_and_leaderboard_case_insensitive():
    for task in TASKS:
        assert canonical_task(task.paper_name.upper()) == task.leaderboard_name
        assert canonical_task(task.leaderboard_name.lower()) == task.leaderboard_name
    with pytest.raises(UnknownTaskError, match="Causal Analysis / Causal Inference"):
        canonical_task("Astrology")


def test_similarity_protocol_follows_algorithm_1():
    embedder = load_text_embedder(OFFLINE_TEST_EMBEDDING_MODEL)
    options = ["a chef fries the chicken in hot oil", "a cyclist repairs a flat tyre", "two dogs play in the snow", "a pianist tunes the piano"]
    records = [
        make_record("Cooking Steps", "A", options[0], options=options),  # identical to the reference: correct
        make_record("Cooking Steps", "A", "two dogs are playing in the snow", options=options),  # nearer a distractor
        make_record("Cooking Steps", "A", "the weather report for tomorrow", options=options),  # below the threshold
        make_record("Cooking Steps", "A", "", options=options),  # silent
    ]
    result = score_records(records, "similarity", embedder=embedder, bootstrap_resamples=10)
    assert result["overall"]["correct"] == 1
    assert result["overall"]["unanswered"] == 1
    assert result["embedding_model"] == OFFLINE_TEST_EMBEDDING_MODEL
    # A stricter threshold than the self-similarity of 1.0 rejects even the identical answer.
    strict = score_records(records, "similarity", embedder=embedder, similarity_threshold=1.01, bootstrap_resamples=10)
    assert strict["overall"]["correct"] == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("model_output"), r"record 1: missing required field 'model_output'"),
        (lambda r: r.pop("task"), r"record 1: missing required field 'task'"),
        (lambda r: r.update(task="Astrology"), r"record 1: field 'task': unknown task 'Astrology'"),
        (lambda r: r.update(options=["A) x", "(B): y", "(C): z", "(D): w"]), r"record 1: field 'options'\[0\]"),
        (lambda r: r.update(options=["(A): x", "(C): y", "(B): z", "(D): w"]), r"record 1: field 'options'\[1\]: expected option letter \(B\)"),
        (lambda r: r.update(options=["(A): x"]), r"record 1: field 'options': expected a list of 4"),
        (lambda r: r.update(correct_answer="maybe"), r"record 1: field 'correct_answer'"),
        (lambda r: r.update(model_output=3), r"record 1: field 'model_output'"),
    ],
)
def test_bad_records_name_the_record_and_field(mutate, message):
    records = [make_record("Causal Analysis", "A", "A"), make_record("Causal Analysis", "B", "B")]
    mutate(records[1])
    with pytest.raises(PredictionsError, match=message):
        score_records(records)


def test_files_json_list_and_jsonl_give_the_same_result(tmp_path):
    records = [make_record(task.paper_name, "C", out) for task, out in zip(TASKS, ["C", "(c)", "Answer: C"] * 5, strict=False)]
    as_json = tmp_path / "p.json"
    as_json.write_text(json.dumps(records))
    as_jsonl = tmp_path / "p.jsonl"
    as_jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert score_file(as_json) == score_file(as_jsonl)
    with_bom = tmp_path / "bom.json"
    with_bom.write_text(json.dumps(records), encoding="utf-8-sig")
    assert score_file(with_bom) == score_file(as_json)
    assert score_file(as_json)["overall"]["correct"] == 14


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("[{\"question\": ", "not valid JSON"),
        ('{"question": "q"}\n{bad json\n', "line 2 is not valid JSON"),
        ("[]", "no prediction records"),
        ("42", "expected a JSON list of records or JSON Lines"),
    ],
)
def test_bad_files_fail_clearly(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PredictionsError, match=message):
        score_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(PredictionsError, match="no such file"):
        score_file(tmp_path / "absent.json")


def test_task_names_import_without_the_scorer():
    # data.schema and the pipeline import evaluation.tasks; they must not pay for numpy and the scorer.
    import subprocess
    import sys

    code = "import sys, videoespresso_hf.tasks; print(sorted({'numpy', 'videoespresso_hf.evaluation.scorer'} & set(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
    import videoespresso_hf.evaluation as evaluation

    assert evaluation.score_file is score_file and "score_file" in dir(evaluation)
