"""A small prepared bench of real encoded videos (8 questions on 4 clips), built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from doubles.predict_bench import prepare_bench, write_predict_release


@pytest.fixture(scope="session")
def prepared_bench_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("predict_bench")
    prepare_bench(write_predict_release(root / "release"), root / "hub")
    return root


@pytest.fixture(autouse=True)
def _session_datasets_cache(tmp_path_factory, monkeypatch):
    """Keep ``datasets``' Arrow cache of the prepared folders out of the user's home."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path_factory.getbasetemp() / "hf_datasets_cache")


@pytest.fixture()
def prepared_bench(prepared_bench_template) -> Path:
    """The prepared folder (shared: tests must not change it; see ``private_bench``)."""
    return prepared_bench_template / "hub"


@pytest.fixture()
def private_bench(prepared_bench_template, tmp_path) -> tuple[Path, Path]:
    """``(prepared folder, release folder)`` of a private copy whose videos a test may delete or damage."""
    root = Path(shutil.copytree(prepared_bench_template / "release", tmp_path / "release"))
    return prepare_bench(root, tmp_path / "hub"), root


@pytest.fixture(scope="session")
def tiny_vlm_dir(tmp_path_factory):
    """``tiny_vlm_dir(family)`` → a saved tiny VLM answering with one of A–D (built once per family)."""
    from doubles.tiny_vlms import save_tiny_vlm

    root = tmp_path_factory.mktemp("tiny_vlms")
    saved: dict[str, Path] = {}

    def get(family: str) -> Path:
        if family not in saved:
            saved[family] = save_tiny_vlm(root / family, family, letters="ABCD")
        return saved[family]

    return get

