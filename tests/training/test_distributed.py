"""`accelerate launch --multi_gpu --num_processes 2` on a machine without GPUs runs both commands as two
CPU processes (torchrun + gloo DDP: accelerate's MULTI_CPU), two steps each. (`--cpu` alone runs one process
unless an MPI hostfile is given.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from videoespresso_hf.training import ACCELERATE_CONFIGS, accelerate_config_path


def test_shipped_accelerate_configs_exist_and_parse():
    import yaml

    for name in ACCELERATE_CONFIGS:
        config = yaml.safe_load(accelerate_config_path(name).read_text())
        assert config["num_processes"] >= 1 and config["distributed_type"]


def _launch(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).with_name("accelerate")
    # A private datasets cache: datasets keys local-folder caches on the folder name (prepared0 of an old session).
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_CACHE": str(tmp_path / "hf_cache"),
           "PYTHONPATH": os.pathsep.join(p for p in sys.path if p.endswith("src") or p.endswith("tests"))}  # fmt: skip
    command = [str(accelerate) if accelerate.exists() else shutil.which("accelerate"), "launch", "--num_processes", "2",
               "--multi_gpu", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "-m", "videoespresso_hf", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)


@pytest.mark.slow
def test_two_processes_train_reasoner_and_selector(reasoner_path, selector_path, prepared_data, tmp_path):
    common = ["--data", str(prepared_data), "--config", "generated", "--max-steps", "2", "--effective-batch-size", "2",
              "--per-device-batch-size", "1", "--workers", "0", "--logging-steps", "1"]  # fmt: skip
    reasoner = _launch(["train", "reasoner", "--model", str(reasoner_path), "--stage", "1", "--output",
                        str(tmp_path / "r"), *common, "--set", "activation_checkpointing=false"], tmp_path)  # fmt: skip
    assert reasoner.returncode == 0, reasoner.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "stage1" / "training_summary.json").read_text())
    # Effective batch 2 over 2 processes: no accumulation; each process saw its own rows.
    assert summary["world_size"] == 2 and summary["gradient_accumulation_steps"] == 1 and summary["global_step"] == 2
    assert (tmp_path / "r" / "stage1" / "adapter_model.safetensors").is_file()

    selector = _launch(["train", "selector", "--model", str(selector_path), "--output", str(tmp_path / "s"),
                        "--caption-cache", str(tmp_path / "cache"), *common], tmp_path)  # fmt: skip
    assert selector.returncode == 0, selector.stderr[-3000:]
    summary = json.loads((tmp_path / "s" / "training_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 2
    assert (tmp_path / "s" / "model.safetensors").is_file()
