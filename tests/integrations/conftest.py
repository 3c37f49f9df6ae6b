"""A prepared bench of real clips and a tiny letters-only Qwen2.5-VL, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles.predict_bench import prepare_bench, write_predict_release


@pytest.fixture(autouse=True)
def _session_datasets_cache(tmp_path_factory, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.getbasetemp() / "hf_datasets_cache")


@pytest.fixture(scope="session")
def integration_bench(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("integration_bench")
    return prepare_bench(write_predict_release(root / "release"), root / "hub")


@pytest.fixture(scope="session")
def letters_qwen(tmp_path_factory) -> Path:
    """A tiny Qwen2.5-VL that always answers "B" (the bench's answer for 2 of its 8 items)."""
    from doubles.tiny_vlms import save_tiny_vlm

    return save_tiny_vlm(tmp_path_factory.mktemp("tiny_qwen") / "qwen2_5_vl", "qwen2_5_vl", letters="B")
