"""lmms-eval 0.7.3 itself runs the videoespresso task on a tiny saved model; its numbers equal `score`'s.

lmms-eval pins av<16 and breaks with filelock>=4, so it lives in its own virtualenv layered over ours
(``scripts/setup_lmms_eval.sh``: same torch, no second download). The test builds it when missing
(``$LMMS_VENV`` or ``.venv-lmms``); it fails, not skips, if it cannot.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from videoespresso_hf.cli.main import main
from videoespresso_hf.integrations.lmms_eval.utils import metric_name
from videoespresso_hf.tasks import LEADERBOARD_TASKS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def lmms_python() -> Path:
    venv = Path(os.environ.get("LMMS_VENV", ROOT / ".venv-lmms"))
    python = venv / "bin" / "python"
    # Ready = lmms-eval imports and this package is installed there (its entry point names our model).
    check = "import lmms_eval; from importlib.metadata import entry_points as e; assert e(group='lmms_eval.models', name='videoespresso_hybrid')"
    ready = python.is_file() and subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0
    if not ready:
        setup = subprocess.run(["bash", "scripts/setup_lmms_eval.sh"], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "BASE_VENV": sys.prefix, "LMMS_VENV": str(venv)})  # fmt: skip
        assert setup.returncode == 0, f"scripts/setup_lmms_eval.sh failed:\n{setup.stdout[-2000:]}\n{setup.stderr[-2000:]}"
    return python


@pytest.mark.slow
def test_lmms_eval_numbers_equal_videoespresso_score(lmms_python, integration_bench, letters_qwen, tmp_path, capsys):
    assert main(["lmms-eval-task", "--data", str(integration_bench), "--out", str(tmp_path / "tasks")]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_DATASETS_CACHE": str(tmp_path / "lmms_datasets_cache")}  # fmt: skip
    run = subprocess.run(
        [str(lmms_python), "-m", "lmms_eval", "--model", "qwen2_5_vl",
         "--model_args", f"pretrained={letters_qwen},device_map=cpu,max_num_frames=4",
         "--tasks", "videoespresso", "--include_path", str(tmp_path / "tasks"), "--gen_kwargs", "max_new_tokens=1",
         "--batch_size", "1", "--device", "cpu", "--log_samples", "--output_path", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    # lmms-eval exits 0 even when a task is not found: the results file must hold our task.
    results_files = list((tmp_path / "out").rglob("*_results.json"))
    assert len(results_files) == 1, f"no results file; stderr tail:\n{run.stderr[-3000:]}"
    results = json.loads(results_files[0].read_text())["results"]["videoespresso"]
    samples = [json.loads(line) for line in next((tmp_path / "out").rglob("*_samples_videoespresso.jsonl")).open()]
    assert len(samples) == 8
    # The logged per-item records are predictions in our format: score them with the CLI.
    predictions = tmp_path / "lmms_predictions.jsonl"
    predictions.write_text("".join(json.dumps(sample["micro"]) + "\n" for sample in samples))
    assert [sample["micro"]["model_output"] for sample in samples] == ["B"] * 8
    capsys.readouterr()
    assert main(["score", str(predictions), "--format", "json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert results["micro,none"] == ours["overall"]["micro"] and results["macro,none"] == ours["overall"]["macro"]
    assert (ours["overall"]["correct"], ours["overall"]["micro"]) == (2, 25.0)  # some right, some wrong, some tasks empty
    for task in LEADERBOARD_TASKS:
        theirs, accuracy = results[f"{metric_name(task)},none"], ours["tasks"][task]["accuracy"]
        assert math.isnan(theirs) if accuracy is None else theirs == accuracy, task


@pytest.mark.slow
def test_the_hybrid_runs_as_an_lmms_eval_model_through_its_entry_point(lmms_python, integration_bench, letters_qwen, tmp_path):
    """`--model videoespresso_hybrid` resolves through the `lmms_eval.models` entry point of the installed package
    (no PYTHONPATH, no plugin variable); the task scores the answer and the logged sample keeps the evidence."""
    assert main(["lmms-eval-task", "--data", str(integration_bench), "--out", str(tmp_path / "tasks")]) == 0
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "LMMS_EVAL_PLUGINS")}
    env |= {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "lmms_datasets_cache")}
    run = subprocess.run(
        [str(lmms_python), "-m", "lmms_eval", "--model", "videoespresso_hybrid",
         "--model_args", f"reasoner={letters_qwen},strategy=uniform,max_core_frames=2,device_map=cpu,evidence_max_new_tokens=3",
         "--tasks", "videoespresso", "--include_path", str(tmp_path / "tasks"), "--gen_kwargs", "max_new_tokens=1",
         "--batch_size", "1", "--device", "cpu", "--log_samples", "--output_path", str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=900, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    results_files = list((tmp_path / "out").rglob("*_results.json"))
    assert len(results_files) == 1, f"no results file; stderr tail:\n{run.stderr[-3000:]}"
    results = json.loads(results_files[0].read_text())["results"]
    assert "videoespresso" in results and not math.isnan(results["videoespresso"]["micro,none"])
    samples = [json.loads(line) for line in next((tmp_path / "out").rglob("*_samples_videoespresso.jsonl")).open()]
    assert len(samples) == 8
    for sample in samples:
        raw = sample["resps"]  # lmms-eval logs the raw response (before its <think> stripping) as one string
        assert raw == "<think>BBB</think>B", raw  # the 3-token evidence is logged with the sample
        assert sample["micro"]["model_output"] == "B"  # and only the answer (max_new_tokens=1) is scored
