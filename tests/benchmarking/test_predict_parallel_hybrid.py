"""Data-parallel `predict --backend hybrid`: two CPU processes (gloo) under `accelerate launch` write what one hybrid
process writes, item for item (answers, evidence, frames), each item once, with one run summary (issue 23 item 3)."""

from __future__ import annotations

import pytest
from doubles.predict_bench import PREDICT_ITEMS, read_jsonl
from doubles.tiny_models import save_tiny_reasoner
from test_predict_parallel import _launch

from videoespresso_hf.benchmarking.parallel import leftover_shards
from videoespresso_hf.cli.main import main


@pytest.mark.slow
def test_two_hybrid_processes_write_what_one_writes(prepared_bench, tmp_path, capsys):
    reasoner = save_tiny_reasoner(tmp_path / "reasoner")
    argv = ["predict", "--data", str(prepared_bench), "--backend", "hybrid", "--model", str(reasoner),
            "--frames", "uniform:2", "--max-new-tokens", "3", "--batch-size", "1", "--no-progress"]  # fmt: skip
    reference = tmp_path / "single.jsonl"
    assert main([*argv, "--output", str(reference)]) == 0
    capsys.readouterr()
    output = tmp_path / "two.jsonl"
    process = _launch([*argv, "--output", str(output)], tmp_path)
    assert process.returncode == 0, process.stderr[-3000:]
    records, expected = read_jsonl(output), read_jsonl(reference)
    assert [r["id"] for r in records] == [r["id"] for r in expected] and len(records) == len(PREDICT_ITEMS)  # each once
    for ours, theirs in zip(records, expected, strict=True):  # the same answer, evidence and frames, item for item
        assert {k: ours[k] for k in ("model_output", "model_evidence", "frames")} == \
               {k: theirs[k] for k in ("model_output", "model_evidence", "frames")}, ours["id"]  # fmt: skip
    assert output.read_bytes() == reference.read_bytes()
    assert process.stdout.count("predictions: ") == 1 and process.stdout.count("protocol=robust") == 1  # one summary
    assert "processes:   2  (rank 0: 4 items, " in process.stdout and "rank 1: 4 items, " in process.stdout
    assert leftover_shards(output) == []
