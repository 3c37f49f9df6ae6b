"""`predict` places models as the other model commands do (`answer`, `select`): on the GPU when one is present."""

from __future__ import annotations

import pytest
import torch

from videoespresso_hf.benchmarking import backends
from videoespresso_hf.cli import predict as predict_cli
from videoespresso_hf.cli.main import build_parser


@pytest.mark.parametrize(("gpu", "flag", "expected"), [(True, [], "auto"), (False, [], None), (True, ["--device-map", "cpu"], "cpu")])
def test_predict_device_map_default_follows_the_other_model_commands(monkeypatch, gpu, flag, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu)
    loaded = {}
    monkeypatch.setattr(backends, "TransformersBackend", lambda model, generation, **load: loaded.update(load))
    args = build_parser().parse_args(["predict", "--data", "bench", "--output", "p.jsonl", *flag])
    predict_cli._load_backend(args, None, None, "v1")
    assert loaded["device_map"] == expected
