"""`videoespresso_hf.score(...)` and `videoespresso score`: one config, the same file from Python and the CLI;
coverage beside every number; one verdict per item; two models compared item by item (#21, #22)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import videoespresso_hf
import videoespresso_hf.evaluation
from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation.compare import mcnemar_exact
from videoespresso_hf.evaluation.job import ScoreConfig, ScoreError, score
from videoespresso_hf.tasks import LEADERBOARD_TASKS, RELEASED_TEST_COUNTS

LETTERS = "ABCD"


def record(task: str, correct: str, output: str | None, record_id: str | None = None) -> dict:
    out = {
        "question": "What happens?",
        "options": [f"({letter}): option {letter} text" for letter in LETTERS],
        "correct_answer": f"({correct})",
        "task": task,
        "model_output": output,
    }
    if record_id is not None:
        out["id"] = record_id
    return out


def partial_records() -> list[dict]:
    """15 items of 2 tasks: 11 right, 1 wrong, one of each unanswered reason (none, several, failure) + 1 more."""
    outputs = ["(A)"] * 11 + ["(B)", "I cannot tell", "Either (B) or (C)", None]
    tasks = ["Causal Analysis"] * 8 + ["Traffic Analysis"] * 7
    return [record(task, "A", output, f"item-{index:02d}") for index, (task, output) in enumerate(zip(tasks, outputs, strict=True))]


@pytest.fixture()
def partial_file(tmp_path) -> Path:
    path = tmp_path / "partial.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in partial_records()))
    return path


def test_a_partial_run_says_15_of_1382_and_2_of_14_tasks(partial_file, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    assert main(["score", str(partial_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    coverage = [line for line in lines if "15 of 1,382 items" in line]
    assert len(coverage) == 1 and "2 of 14 tasks" in coverage[0]
    assert any(line.strip().startswith("PARTIAL: not comparable") for line in lines)


def test_the_full_benchmark_is_not_labelled_partial():
    records = [record(task, "A", "(A)", f"{task}-{i}") for task, n in RELEASED_TEST_COUNTS.items() for i in range(n)]
    from videoespresso_hf.evaluation import score_records

    result = score_records(records, bootstrap_resamples=5)
    assert result["coverage"] == {"items": 1382, "benchmark_items": 1382, "tasks": 14, "benchmark_tasks": 14,
                                  "covered_tasks": list(LEADERBOARD_TASKS), "partial": False}  # fmt: skip
    # The prepared bench's own row count, when the caller has it, is what coverage is measured against.
    assert score_records(records[:100], bootstrap_resamples=5, benchmark_items=100)["coverage"]["partial"] is True  # 1 task short


def test_json_has_one_verdict_per_item_with_the_reason_for_unanswered_ones(partial_file, capsys):
    assert main(["score", str(partial_file), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    items = result["items"]
    assert len(items) == 15 and [item["id"] for item in items] == [f"item-{i:02d}" for i in range(15)]
    assert {key for item in items for key in item} >= {"id", "task", "extracted", "correct", "reason"}
    assert items[0] == {**items[0], "task": "Causal Analysis", "extracted": "A", "correct": True, "reason": None}
    assert items[11] == {**items[11], "extracted": "B", "correct": False, "reason": None}  # answered, wrong
    assert [(item["extracted"], item["reason"]) for item in items[12:]] == [
        (None, "no option named"), (None, "several options named"), (None, "failure record")
    ]  # fmt: skip
    assert result["coverage"]["items"] == 15 and result["coverage"]["tasks"] == 2 and result["coverage"]["partial"]
    assert result["overall"]["unanswered"] == 3


def test_items_without_an_id_are_keyed_by_their_position(tmp_path):
    path = tmp_path / "no_ids.json"
    path.write_text(json.dumps([record("Role Analysis", "B", "B"), record("Role Analysis", "B", "C")]))
    assert [item["id"] for item in score(predictions=str(path), bootstrap=5).items] == [0, 1]


def test_python_call_and_cli_write_the_same_file(partial_file, tmp_path):
    from_python = tmp_path / "python.json"
    result = videoespresso_hf.score(predictions=str(partial_file), format="json", output=str(from_python), bootstrap=50)
    from_cli = tmp_path / "cli.json"
    assert main(["score", str(partial_file), "--format", "json", "--output", str(from_cli), "--bootstrap", "50"]) == 0
    assert from_python.read_text() == from_cli.read_text()
    assert json.loads(from_python.read_text()) == result.result
    assert result.coverage["items"] == 15 and len(result.items) == 15
    assert result.metrics["overall"]["correct"] == 11 and result.output == from_python
    # the config dataclass works as well as keyword arguments, and one path needs no list
    assert score(ScoreConfig(predictions=[str(partial_file)], bootstrap=50)).result == result.result
    assert score(ScoreConfig(predictions=partial_file, bootstrap=50)).result == result.result


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--output", "{dir}"], "is a folder"),
        (["--diff", "{file}"], "--diff compares two predictions files"),
        (["--format", "png"], "--format png writes a file"),
        (["--threshold", "3"], "--threshold is a cosine similarity"),
        (["{dir}/missing.jsonl"], "missing.jsonl: no such file"),
    ],
)
def test_bad_settings_are_one_line_before_any_work(partial_file, tmp_path, capsys, argv, message):
    folder = tmp_path / "out"
    folder.mkdir()
    argv = [part.format(dir=folder, file=partial_file) for part in argv]
    positional = [] if argv[0].startswith("--diff") else [str(partial_file)]
    assert main(["score", *positional, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert list(folder.iterdir()) == []


def test_unknown_keyword_is_a_one_line_error():
    with pytest.raises(ScoreError, match=r"score\(\) got an unexpected keyword argument 'protocl'"):
        score(predictions="x.json", protocl="robust")


@pytest.mark.parametrize(("b", "c"), [(0, 0), (1, 0), (5, 0), (6, 1), (10, 3), (20, 18), (3, 40)])
def test_exact_mcnemar_matches_scipy(b, c):
    from scipy.stats import binomtest

    expected = 1.0 if b + c == 0 else binomtest(b, b + c, 0.5).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def _write(path: Path, outputs: list[str]) -> Path:
    tasks = ["Causal Analysis", "Traffic Analysis"]
    records = [record(tasks[i % 2], "A", output, f"q{i}") for i, output in enumerate(outputs)]
    path.write_text(json.dumps(records))
    return path


def test_diff_lists_disagreements_with_a_paired_test(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    # 40 items: model_a right on all, model_b wrong on the first 12 (a real difference), right elsewhere.
    a = _write(tmp_path / "model_a.json", ["(A)"] * 40)
    b = _write(tmp_path / "model_b.json", ["(B)"] * 12 + ["(A)"] * 28)
    assert main(["score", "--diff", str(a), str(b), "--bootstrap", "20"]) == 0
    out = capsys.readouterr().out
    assert "model_a vs model_b on 40 paired items: 100.00 vs 70.00 % correct" in out
    assert "only model_a right: 12, only model_b right: 0" in out
    assert f"p = {mcnemar_exact(12, 0):.4g}: the difference is significant at 0.05" in out
    assert "items where they disagree (12):" in out
    listed = re.findall(r"^\s+(q\d+)\s+\w+ Analysis\s+A right\s+B wrong$", out, flags=re.MULTILINE)
    assert listed == [f"q{i}" for i in range(12)]
    assert "40 of 1,382 items" in out  # the comparison says what it covers too

    comparison = score(diff=[str(a), str(b)], bootstrap=20, format="json").comparison
    assert comparison["only_a_correct"] == 12 and comparison["significant"] is True
    assert [row["id"] for row in comparison["disagreements"]] == [f"q{i}" for i in range(12)]


def test_diff_of_a_small_gap_is_not_significant(tmp_path):
    a = _write(tmp_path / "a.json", ["(A)"] * 20)
    b = _write(tmp_path / "b.json", ["(B)", "(C)"] + ["(A)"] * 18)
    result = score(diff=[str(a), str(b)], bootstrap=20)
    assert result.comparison["p_value"] == pytest.approx(0.5) and not result.comparison["significant"]
    assert "the difference is not significant at 0.05" in result.text


def test_diff_pairs_by_id_not_by_position(tmp_path):
    a = _write(tmp_path / "a.json", ["(A)", "(B)"])
    b = _write(tmp_path / "b.json", ["(A)", "(B)"])
    b.write_text(json.dumps(list(reversed(json.loads(b.read_text())))))  # the same answers, in another order
    assert score(diff=[str(a), str(b)], bootstrap=5).comparison["disagreements"] == []


@pytest.mark.parametrize("columns", [80, 400])
def test_table_is_transposed_when_it_would_not_fit_the_terminal(partial_file, capsys, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["score", str(partial_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    if columns == 80:
        assert max(len(line) for line in lines) <= 80
        assert lines[0].split() == ["Task", "partial", "bench", "n"]
        traffic = next(line for line in lines if line.strip().startswith("Traffic Analysis"))
        assert traffic.split()[-2:] == ["42.9", "30"]  # 3 of 7 right; the task's benchmark count
        assert any(line.startswith("Logical Reasoning:") for line in lines)  # grouped by the paper's groups
    else:
        assert lines[0].split()[:3] == ["Model", "Overall", "Narrative"] and len(lines[0]) > 200


def test_a_table_written_to_a_file_is_wide_whatever_the_terminal(partial_file, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    out = tmp_path / "table.txt"
    assert main(["score", str(partial_file), "--output", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith("Model")


def test_png_is_titled_with_the_coverage(partial_file, tmp_path):
    import io

    import numpy as np
    from PIL import Image

    out = tmp_path / "chart.png"
    assert main(["score", str(partial_file), "--format", "png", "--output", str(out), "--bootstrap", "20"]) == 0
    image = np.asarray(Image.open(io.BytesIO(out.read_bytes())).convert("L"))
    from videoespresso_hf.evaluation.report import render_png

    full = score(predictions=str(partial_file), bootstrap=20).results
    untitled = {name: {**r, "coverage": {**r["coverage"], "items": 0}} for name, r in full.items()}
    # the title is drawn: changing only the coverage numbers changes the pixels of the top band
    other = np.asarray(Image.open(io.BytesIO(render_png(untitled))).convert("L"))
    assert image.shape == other.shape and (image[:40] != other[:40]).any() and (image[:40] < 128).any()


def test_the_default_judge_id_is_written_in_one_source_file():
    from videoespresso_hf.defaults import JUDGE_MODEL

    package = Path(videoespresso_hf.__file__).parent
    holders = [path.relative_to(package).as_posix() for path in package.rglob("*") if path.is_file()
               and path.suffix in {".py", ".yaml", ".jinja", ".json", ".md"} and JUDGE_MODEL in path.read_text(errors="ignore")]  # fmt: skip
    assert holders == ["defaults.py"]


def test_help_is_generated_from_the_config_with_the_defaults_table(capsys):
    from videoespresso_hf.defaults import EMBEDDING_MODEL

    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default: {EMBEDDING_MODEL})" in text
    for flag in ("--diff", "--protocol", "--format", "--benchmark-items", "--args-file", "PREDICTIONS"):
        assert flag in text


def test_an_args_file_sets_the_same_config_as_flags(partial_file, tmp_path, capsys):
    settings = tmp_path / "score.yaml"
    settings.write_text(f"predictions: [{json.dumps(str(partial_file))}]\nprotocol: official\nformat: json\nbootstrap: 30\n")
    assert main(["score", "--args-file", str(settings)]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main(["score", str(partial_file), "--protocol", "official", "--format", "json", "--bootstrap", "30"]) == 0
    assert from_file == json.loads(capsys.readouterr().out) and from_file["protocol"] == "official"


def test_the_similarity_protocol_with_an_unreachable_hub_fails_in_seconds(tmp_path, monkeypatch, capsys):
    """The default embedder is a Hub id: with the Hub out of reach (a closed loopback port) and not set offline,
    one line says so and what to set, in seconds, before any retry loop of the loader."""
    import socket
    import time

    from huggingface_hub import constants

    from videoespresso_hf.cli.main import main

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: every connection is refused
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    sample = Path(videoespresso_hf.evaluation.__file__).parent / "samples" / "sample_predictions.json"
    assert main(["score", str(sample), "--protocol", "similarity"]) == 2
    assert time.monotonic() - started < 15
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "--embedding-model BAAI/bge-m3: no local file or folder of that name, and the Hub is unreachable" in error[0]
    assert "HF_HUB_OFFLINE=1" in error[0]
