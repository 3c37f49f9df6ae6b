"""The one --dtype rule (videoespresso_hf.dtypes), as predict, answer/select and the lmms-eval model apply it."""

from __future__ import annotations

import pytest
import torch

from videoespresso_hf.cli.main import main
from videoespresso_hf.dtypes import torch_dtype


def test_names_become_torch_dtypes_and_auto_stays():
    assert torch_dtype("auto") == "auto"
    assert torch_dtype("bfloat16") is torch.bfloat16
    with pytest.raises(ValueError, match=r"unknown --dtype 'float99' \(use auto, bfloat16, float16 or float32\)"):
        torch_dtype("float99")
    with pytest.raises(ValueError):
        torch_dtype("nn")  # an attribute of torch that is not a dtype


def test_predict_refuses_an_unknown_dtype_in_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    assert main(["predict", "--data", str(data), "--model", str(tmp_path), "--dtype", "float99",
                 "--output", str(tmp_path / "p.jsonl")]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["videoespresso predict: error: unknown --dtype 'float99' (use auto, bfloat16, float16 or float32)"]
