import json
import os
import stat
import subprocess
import sys
from importlib import resources

import evaluate
import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.evaluation import metric_path, score_file, score_records
from videoespresso_hf.tasks import LEADERBOARD_TASKS

SAMPLE = resources.files("videoespresso_hf.evaluation") / "samples" / "sample_predictions.json"


@pytest.mark.parametrize("protocol", ["official", "robust"])
def test_cli_json_matches_the_functions(tmp_path, capsys, protocol):
    out = tmp_path / "result.json"
    assert main(["score", str(SAMPLE), "--protocol", protocol, "--format", "json", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) == score_file(SAMPLE, protocol)


def test_cli_table_has_overall_then_the_14_tasks(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # a wide terminal: the leaderboard layout
    assert main(["score", str(SAMPLE)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    positions = [header.index(name) for name in ["Overall", *LEADERBOARD_TASKS]]
    assert positions == sorted(positions)


def test_cli_markdown(capsys):
    assert main(["score", str(SAMPLE), "--format", "markdown", "--name", "my-model"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| Model | Overall | Narrative Analysis |")
    assert lines[2].startswith("| my-model |")


def test_cli_bad_input_exits_nonzero_with_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"question": "q", "options": ["(A): a", "(B): b", "(C): c", "(D): d"], "task": "Causal Analysis"}]))
    out = tmp_path / "result.json"
    completed = subprocess.run(
        [sys.executable, "-m", "videoespresso_hf", "score", str(bad), "--output", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert "record 0: missing required field 'correct_answer'" in completed.stderr
    assert not out.exists()


def test_cli_unwritable_output_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    assert main(["score", str(SAMPLE), "--output", str(blocker / "result.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot write" in err and len(err.splitlines()) == 1


def test_cli_refuses_a_non_positive_bootstrap_count(capsys):
    # Checked by score() itself (the one place), before anything is scored: one line, exit 2.
    assert main(["score", str(SAMPLE), "--bootstrap", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--bootstrap must be at least 1, got 0" in err and len(err.splitlines()) == 1


def test_evaluate_module_agrees_with_the_functions():
    records = json.loads(SAMPLE.read_text())
    metric = evaluate.load(metric_path())
    for protocol in ("official", "robust"):
        from_metric = metric.compute(
            predictions=[r["model_output"] for r in records],
            references=[r["correct_answer"] for r in records],
            tasks=[r["task"] for r in records],
            options=[r["options"] for r in records],
            protocol=protocol,
        )
        assert from_metric == score_records(records, protocol)


def test_evaluate_module_accumulates_batches():
    metric = evaluate.load(metric_path())
    metric.add_batch(predictions=["Answer: B", "(A)"], references=["(B)", "(B)"], tasks=["Causal Inference", "Event Process"])
    metric.add(predictions="C", references="(C)", tasks="Traffic Analysis")
    result = metric.compute()
    assert result["overall"]["n"] == 3
    assert result["overall"]["correct"] == 2
    assert result["tasks"]["Event Dynamic"]["correct"] == 0


def test_cli_output_file_follows_the_umask(tmp_path):
    # Results shared on a cluster must be readable by colleagues: 0644 under umask 022, not 0600.
    out = tmp_path / "result.json"
    previous = os.umask(0o022)
    try:
        assert main(["score", str(SAMPLE), "--format", "json", "--output", str(out)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [path.name for path in tmp_path.iterdir()] == ["result.json"]  # no temporary left behind
