"""`predict` places models as the other model commands do (`answer`, `select`): on the GPU when one is present."""

from __future__ import annotations

import pytest
import torch

from videoespresso_hf.benchmarking import job
from videoespresso_hf.benchmarking.parallel import ProcessGroup


@pytest.mark.parametrize(("gpu", "requested", "expected"), [(True, None, "auto"), (False, None, None), (True, "cpu", "cpu")])
def test_predict_device_map_default_follows_the_other_model_commands(monkeypatch, gpu, requested, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    assert job._device_map(requested, ProcessGroup()) == expected


def test_one_gpu_per_process_under_a_multi_process_launch(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert job._device_map(None, ProcessGroup(rank=1, world_size=2, local_rank=1)) == "cuda:1"
    with pytest.raises(job.PredictError, match="--device-map auto spreads one model over every GPU"):
        job._device_map("auto", ProcessGroup(rank=0, world_size=2))


def test_the_endpoint_backend_is_refused_under_a_multi_process_launch(monkeypatch, tmp_path):
    import videoespresso_hf.benchmarking.parallel as parallel

    monkeypatch.setattr(parallel, "process_group", lambda: ProcessGroup(rank=0, world_size=2))
    config = job.PredictConfig(data=str(tmp_path), output=tmp_path / "p.jsonl", backend="openai", model="gpt-4o")
    with pytest.raises(job.PredictError, match="run it without accelerate launch / torchrun"):
        job._plan(config)
