"""Data-parallel `predict`: under `accelerate launch` each process predicts a disjoint shard of the pending items into
its own shard file; the main process merges them in item order and prints one summary. Resumable from any state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from doubles.predict_bench import PREDICT_ITEMS

from videoespresso_hf.benchmarking.parallel import (
    ProcessGroup,
    leftover_shards,
    merge_into_output,
    shard_path,
)
from videoespresso_hf.cli.main import main

SRC = str(Path(__file__).resolve().parents[2] / "src")
IDS = [f"bench-{i:06d}" for i in range(len(PREDICT_ITEMS))]


def _line(item_id: str, output: str = "A") -> str:
    return json.dumps({"id": item_id, "model_output": output})


def test_shards_are_disjoint_deterministic_and_cover_every_pending_item():
    pending = list(range(11))
    shards = [ProcessGroup(rank=rank, world_size=3).shard(pending) for rank in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert sorted(item for shard in shards for item in shard) == pending


def test_merge_keeps_each_item_once_in_item_order_and_drops_torn_lines(tmp_path):
    output = tmp_path / "preds.jsonl"
    output.write_text(_line(IDS[0]) + "\n" + _line(IDS[3]) + "\n")
    rank0, rank1 = shard_path(output, 0, 2), shard_path(output, 1, 2)
    rank0.write_text(_line(IDS[2]) + "\n" + _line(IDS[3], "B") + "\n")  # IDS[3] already in the output: kept as it was
    rank1.write_text(_line(IDS[1]) + "\n" + _line(IDS[5])[:9])  # killed mid-write: the torn line is not an item
    (tmp_path / "other.jsonl.rank0-of-2.jsonl").write_text(_line(IDS[4]) + "\n")  # another output's shard
    assert leftover_shards(output) == [rank0, rank1]
    assert merge_into_output(output, leftover_shards(output), IDS) == 2
    assert output.read_text().splitlines() == [_line(IDS[0]), _line(IDS[1]), _line(IDS[2]), _line(IDS[3])]
    assert leftover_shards(output) == [] and (tmp_path / "other.jsonl.rank0-of-2.jsonl").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(argv: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    # --multi_gpu is accelerate's multi-process launcher; without a GPU the processes talk over gloo on the CPU.
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                "--main_process_port", str(_free_port())]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": SRC, "HF_DATASETS_CACHE": str(tmp_path / "datasets_cache")}
    return subprocess.run([*launcher, "-m", "videoespresso_hf", *argv], env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_processes_write_what_one_writes_and_resume_after_a_lost_line(prepared_bench, tiny_vlm_dir, tmp_path, capsys):
    argv = ["predict", "--data", str(prepared_bench), "--model", str(tiny_vlm_dir("qwen2_5_vl")), "--frames", "uniform:2",
            "--max-new-tokens", "1", "--batch-size", "1", "--no-progress"]  # fmt: skip
    reference = tmp_path / "single.jsonl"
    assert main([*argv, "--output", str(reference)]) == 0
    output = tmp_path / "two.jsonl"
    process = _launch([*argv, "--output", str(output)], tmp_path)
    assert process.returncode == 0, process.stderr[-2000:]
    assert output.read_bytes() == reference.read_bytes()  # every item once, in item order, same model outputs
    assert process.stdout.count("predictions: ") == 1 and process.stdout.count("protocol=robust") == 1  # one summary
    assert "processes:   2  (rank 0: 4 items, " in process.stdout and "rank 1: 4 items, " in process.stdout
    assert leftover_shards(output) == []
    # A lost line (an item whose record never made it) is redone by the next launch, and only it.
    lines = output.read_bytes().splitlines(keepends=True)
    output.write_bytes(b"".join(lines[:2] + lines[3:]))
    process = _launch([*argv, "--output", str(output)], tmp_path)
    assert process.returncode == 0, process.stderr[-2000:]
    assert "(8 items: 1 written now, 7 already there)" in process.stdout
    assert output.read_bytes() == reference.read_bytes()
    # A killed 3-process run left shard files (one with a torn line): a single process merges them and does the rest.
    output.write_bytes(b"".join(lines[:2]))
    shard_path(output, 1, 3).write_bytes(lines[4] + lines[5] + lines[6][:20])
    shard_path(output, 2, 3).write_bytes(lines[2])
    capsys.readouterr()
    assert main([*argv, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "3 finished item(s) merged from 2 shard file(s)" in printed and "(8 items: 3 written now, 5 already there)" in printed
    assert output.read_bytes() == reference.read_bytes() and leftover_shards(output) == []
